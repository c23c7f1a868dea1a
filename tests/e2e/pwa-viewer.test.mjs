// The viewer: a file's name (or Enter on its row) shows it inside the app, from its checked
// chunks. An image renders, text shows as text, HTML shows as text and never as a page (its
// script must not run in Cairn's origin), an unknown type offers a download; the arrows go
// through the folder's files and Escape gives the focus back to the row. A long text shows its
// first MiB; a PDF opens in Chromium's viewer (under the page's policy: the shared browser
// fails the file on any Content-Security-Policy violation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openDevice, sharedServerAndBrowser, swReady } from './harness.mjs';

const shared = sharedServerAndBrowser();

const device = (user) => openDevice(shared.browser, shared.server.base, user, { create: true });

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const HTML = '<!doctype html><p>hi</p><script>window.ran = true; document.title = "owned";</script>\n';

/** Uploads `bytes` as `name` through the file picker and waits until it is done. */
async function upload(page, name, bytes) {
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await page.waitForSelector(`#uploads li.done[data-name="${name}"]`, { timeout: 60_000 });
  await page.waitForSelector(`#files tr[data-name="${name}"]`);
}

/** Waits until the viewer has settled on `name` (`state`: shown, none or error). */
async function settledOn(page, name, state = 'shown') {
  await page.waitForSelector(`#viewer[open][data-state="${state}"]`);
  assert.equal(await page.locator('#viewer-title').textContent(), name);
}

/** A one-page PDF saying "Cairn", its cross-reference table counted from the bytes. */
function pdf() {
  const text = 'BT /F1 24 Tf 20 40 Td (Cairn) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const at = [];
  objects.forEach((o, i) => { at.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${at.map((n) => `${String(n).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

test('the viewer shows an image and text, HTML as text, and goes through the folder', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('vic');
  await swReady(page);
  await upload(page, 'dot.png', PNG);
  await upload(page, 'notes.txt', 'first line\nsecond line\n');
  await upload(page, 'page.html', HTML);
  await upload(page, 'thing.xyz', 'opaque bytes');
  // Each row's icon says its kind.
  for (const [name, kind] of [['dot.png', 'image'], ['notes.txt', 'text'], ['page.html', 'text'], ['thing.xyz', 'other']]) {
    assert.equal(await page.locator(`#files tr[data-name="${name}"] .icon.file.${kind}`).count(), 1, `${name} is ${kind}`);
  }

  await page.click('#files tr[data-name="dot.png"] button.open');
  await settledOn(page, 'dot.png');
  assert.ok(await page.locator('#viewer-body img').evaluate((img) => img.naturalWidth > 0 && img.src.startsWith('blob:')), 'the image decoded');
  assert.equal(await page.locator('#viewer-count').textContent(), '1 of 4');
  assert.ok(await page.locator('#viewer-prev').isDisabled());

  await page.keyboard.press('ArrowRight');
  await settledOn(page, 'notes.txt');
  assert.equal(await page.locator('#viewer-body pre').textContent(), 'first line\nsecond line\n');
  assert.equal(await page.locator('#viewer-count').textContent(), '2 of 4');

  await page.keyboard.press('ArrowRight');
  await settledOn(page, 'page.html');
  assert.equal(await page.locator('#viewer-body pre').textContent(), HTML, 'the page shows as its source');
  assert.equal(await page.locator('#viewer-body iframe, #viewer-body img, #viewer-body object, #viewer-body embed').count(), 0);
  assert.equal(await page.evaluate(() => window.ran), undefined, 'its script did not run');
  assert.equal(await page.title(), 'Cairn');

  await page.keyboard.press('ArrowRight');
  await settledOn(page, 'thing.xyz', 'none');
  assert.match(await page.locator('#viewer-body').textContent(), /No preview for this type/);
  assert.ok(await page.locator('#viewer-next').isDisabled());
  // Its Download is the list's: the bytes come down whole.
  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.locator('#viewer-body button:has-text("Download")').click(),
  ]);
  assert.equal(file.suggestedFilename(), 'thing.xyz');
  assert.equal(readFileSync(await file.path()).toString(), 'opaque bytes');

  await page.keyboard.press('Escape');
  // The dialog loses [open] a task before its close event runs; data-state goes in that handler.
  await page.waitForSelector('#viewer:not([open]):not([data-state])', { state: 'attached' });
  assert.equal(await page.locator('#viewer-body > *').count(), 0, 'nothing is left on the stage');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.name), 'thing.xyz', 'the focus is on the row of the file shown last');

  // From the keyboard: Enter on a row opens it, ArrowLeft goes back, the close button closes.
  await page.focus('#files tr[data-name="notes.txt"]');
  await page.keyboard.press('Enter');
  await settledOn(page, 'notes.txt');
  await page.keyboard.press('ArrowLeft');
  await settledOn(page, 'dot.png');
  await page.click('#viewer-close');
  await page.waitForSelector('#viewer:not([open]):not([data-state])', { state: 'attached' });
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.name), 'dot.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a long text shows its first MiB and says so; a PDF opens in the browser\'s viewer', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('lou');
  const line = 'a line of a long log, numbered for the eye: ';
  let long = '';
  for (let i = 0; long.length < 1.5 * 1024 * 1024; i += 1) long += `${line}${i}\n`;
  await upload(page, 'long.log', long);
  await upload(page, 'paper.pdf', pdf());

  await page.focus('#files tr[data-name="long.log"]');
  await page.keyboard.press(' ');
  await settledOn(page, 'long.log');
  const shown = await page.locator('#viewer-body pre').textContent();
  assert.equal(shown, long.slice(0, 1024 * 1024), 'exactly the first MiB (ASCII)');
  assert.match(await page.locator('#viewer-status').textContent(), /first 1\.0 MiB of 1\.5 MiB/);

  await page.keyboard.press('ArrowRight');
  await settledOn(page, 'paper.pdf');
  assert.ok(await page.locator('#viewer-body iframe').evaluate((f) => f.src.startsWith('blob:')));
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer:not([open]):not([data-state])', { state: 'attached' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a file without an extension is shown by the type sniffed at upload; HTML stays text whatever its name', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('sam');
  await upload(page, 'photo', PNG);
  await upload(page, 'fake.png', HTML);
  // The page sniffed each file's first bytes and the server stored the type with the version.
  const types = await page.evaluate(async () => {
    const { app } = await import('/js/state.js');
    const l = await app.client.list(app.session.root_id, undefined, true);
    return Object.fromEntries(l.children.map((n) => [n.name, n.content_type ?? null]));
  });
  assert.equal(types.photo, 'image/png');
  assert.equal(types['fake.png'], 'text/html');
  assert.equal(await page.locator('#files tr[data-name="photo"] .icon.file.image').count(), 1, 'photo is an image');
  assert.equal(await page.locator('#files tr[data-name="fake.png"] .icon.file.text').count(), 1, 'fake.png is text');

  await page.click('#files tr[data-name="photo"] button.open');
  await settledOn(page, 'photo');
  assert.ok(await page.locator('#viewer-body img').evaluate((img) => img.naturalWidth > 0 && img.src.startsWith('blob:')), 'the image decoded');

  await page.keyboard.press('ArrowLeft');
  await settledOn(page, 'fake.png');
  assert.equal(await page.locator('#viewer-body pre').textContent(), HTML, 'HTML named .png shows as its source');
  assert.equal(await page.locator('#viewer-body iframe, #viewer-body img, #viewer-body object, #viewer-body embed').count(), 0);
  assert.equal(await page.evaluate(() => window.ran), undefined, 'its script did not run');
  assert.deepEqual(errors, []);
  await context.close();
});
