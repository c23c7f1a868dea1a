// The public page of a share link, as someone with only the link sees it: a file (facts, a
// download through the verified chunk path, an image and a PDF previewed in the page), a folder
// (browsing, breadcrumbs, Back, a preview dialog, a zip of a selection and of everything,
// unzipped and compared), a long folder a page at a time, a password link (with and without
// JavaScript), a limited link whose chunks are fetched by Range, a phone-width screen, and the
// app's service worker leaving these pages to the network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, randomBytes, dropPaths, register, swReady, until, uploadsDone } from './harness.mjs';
import { owner, makeLink, visitor, openShare, downloaded, zipContents, sha, shot } from './share-fixture.mjs';

let server;
let browser;
let scratch;
/** The owner, and what they shared. */
let pat;
const png = readFileSync(new URL('../../www/icons/icon-192.png', import.meta.url));
const report = randomBytes(7, 5 * 1024 * 1024 + 123);
const data = randomBytes(8, 3 * 1024 * 1024);
/** A one-page PDF that says "Hello PDF". */
const pdf = Buffer.from(`%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj
4 0 obj<</Length 44>>stream
BT /F1 24 Tf 40 100 Td (Hello PDF) Tj ET
endstream endobj
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj
trailer<</Root 1 0 R>>
%%EOF
`);
const links = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'cairn-share-page-'));
  // Trip/{photo.png, notes.txt, Docs/{plan.txt, data.bin}} and report.bin, made in the app.
  const trip = join(scratch, 'Trip');
  mkdirSync(join(trip, 'Docs'), { recursive: true });
  writeFileSync(join(trip, 'photo.png'), png);
  writeFileSync(join(trip, 'notes.txt'), 'Bring the tickets.\n');
  writeFileSync(join(trip, 'Docs', 'plan.txt'), 'Day 1: Alfama\n');
  writeFileSync(join(trip, 'Docs', 'data.bin'), data);
  writeFileSync(join(scratch, 'report.bin'), report);
  writeFileSync(join(scratch, 'guide.pdf'), pdf);
  pat = await owner(browser, server.base, 'pat');
  await dropPaths(pat.page, '#dropzone', [trip, join(scratch, 'report.bin'), join(scratch, 'guide.pdf')]);
  await uploadsDone(pat.page, 6);
  const at = (...names) => pat.api.at(...names);
  links.file = await makeLink(pat, { node_id: (await at('report.bin')).id });
  links.image = await makeLink(pat, { node_id: (await at('Trip', 'photo.png')).id });
  links.pdf = await makeLink(pat, { node_id: (await at('guide.pdf')).id });
  links.folder = await makeLink(pat, { node_id: (await at('Trip')).id });
  links.locked = await makeLink(pat, { node_id: (await at('Trip', 'notes.txt')).id, password: 'open sesame' });
  links.limited = await makeLink(pat, { node_id: (await at('Trip', 'Docs', 'data.bin')).id, max_downloads: 1 });
});

after(async () => {
  await pat?.context.close();
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('a file link: facts, and a download with every chunk checked', { timeout: 60_000 }, async () => {
  const v = await visitor(browser);
  const chunkGets = [];
  v.page.on('request', (r) => { if (r.url().includes('/blobs/')) chunkGets.push(r.url()); });
  await openShare(v.page, server.base, links.file.url);
  assert.equal(await v.page.locator('h1.share-name').textContent(), 'report.bin');
  const facts = await v.page.locator('.facts').textContent();
  assert.match(facts, /Size5\.0 MiB/);
  assert.match(facts, /Shared bypat/);
  assert.match(facts, /Expiresnever/);
  assert.equal(await v.page.title(), 'report.bin — shared with Cairn');
  const got = await downloaded(v.page, () => v.page.click('#share-download'));
  assert.equal(got.name, 'report.bin');
  assert.equal(sha(got.bytes), sha(report));
  assert.match(await v.page.locator('#share-status').textContent(), /every piece was checked/);
  assert.ok(chunkGets.length >= 2, `fetched chunk by chunk (${chunkGets.length} chunk requests)`);
  // The plain link for tools, beside it.
  assert.equal(await v.page.getAttribute('#share-plain', 'href'), `${links.file.url}/download`);
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('an image link shows the image in the page', { timeout: 60_000 }, async () => {
  const v = await visitor(browser, { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await openShare(v.page, server.base, links.image.url);
  const img = v.page.locator('.preview img.preview-media');
  await v.page.waitForFunction(() => document.querySelector('.preview img')?.complete);
  assert.equal(await img.evaluate((i) => i.naturalWidth), 192, 'the image decoded');
  assert.match(await img.getAttribute('src'), /\/download\?inline=1$/);
  await shot(v.page, scratch, 'share-page-file');
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('a PDF shows in a frame the server sandboxes', { timeout: 60_000 }, async () => {
  const v = await visitor(browser);
  const answered = v.page.waitForResponse((r) => r.url().endsWith('/download?inline=1'));
  await openShare(v.page, server.base, links.pdf.url);
  const r = await answered;
  const headers = await r.allHeaders();
  assert.equal(headers['content-type'], 'application/pdf');
  assert.match(headers['content-security-policy'], /^sandbox/);
  // Chromium will not run its PDF viewer under the sandbox attribute; the answer's policy is it.
  assert.equal(await v.page.locator('.preview iframe.pdf').getAttribute('sandbox'), null);
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('a folder link: browse, preview, download one file, zip a selection and everything', { timeout: 120_000 }, async () => {
  const v = await visitor(browser, { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const { page } = v;
  await openShare(page, server.base, links.folder.url);
  const names = await page.locator('#share-list tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(names, ['Docs', 'notes.txt', 'photo.png'], 'folders first');
  await shot(page, scratch, 'share-page-folder');

  // Into Docs and back: the path is in the URL, Back works, the crumbs lead home.
  await page.click('#share-list tr[data-name="Docs"] button.open');
  await page.waitForSelector('#share-list tr[data-name="plan.txt"]');
  assert.match(page.url(), /\?path=Docs$/);
  assert.deepEqual(await page.locator('#share-crumbs button').allTextContents(), ['Trip', 'Docs']);
  const one = await downloaded(page, () => page.click('#share-list tr[data-name="data.bin"] button.download'));
  assert.equal(sha(one.bytes), sha(data));
  await page.goBack();
  await page.waitForSelector('#share-list tr[data-name="notes.txt"]');
  await page.click('#share-list tr[data-name="Docs"] button.open');
  await page.waitForSelector('#share-list tr[data-name="plan.txt"]');
  await page.click('#share-crumbs button:has-text("Trip")');
  await page.waitForSelector('#share-list tr[data-name="photo.png"]');

  // A preview in a dialog; Esc closes it.
  await page.click('#share-list tr[data-name="photo.png"] button.preview-btn');
  await page.waitForFunction(() => document.querySelector('#share-preview img')?.naturalWidth === 192);
  assert.ok(await page.locator('#preview-download').isVisible(), 'a download button beside the preview');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#share-preview', { state: 'detached' });

  // A selection across folders, as one zip.
  await page.check('#share-list tr[data-name="notes.txt"] input[type=checkbox]');
  await page.click('#share-list tr[data-name="Docs"] button.open');
  await page.waitForSelector('#share-list tr[data-name="plan.txt"]');
  await page.check('#share-list tr[data-name="plan.txt"] input[type=checkbox]');
  assert.equal(await page.locator('#share-zip-selected').textContent(), 'Download 2 selected (zip)');
  const sel = await downloaded(page, () => page.click('#share-zip-selected'));
  const selPath = join(scratch, 'selection.zip');
  writeFileSync(selPath, sel.bytes);
  const inSel = zipContents(selPath);
  // Entries are named from the shared folder down, so the zip unpacks into one folder.
  assert.deepEqual(Object.keys(inSel).sort(), ['Trip/Docs/plan.txt', 'Trip/notes.txt']);
  assert.equal(inSel['Trip/notes.txt'], sha(Buffer.from('Bring the tickets.\n')));

  const all = await downloaded(page, () => page.click('#share-zip-all'));
  const allPath = join(scratch, 'all.zip');
  writeFileSync(allPath, all.bytes);
  assert.deepEqual(zipContents(allPath), {
    'Trip/Docs/data.bin': sha(data), 'Trip/Docs/plan.txt': sha(Buffer.from('Day 1: Alfama\n')), 'Trip/notes.txt': sha(Buffer.from('Bring the tickets.\n')), 'Trip/photo.png': sha(png),
  });
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('a long folder link: the first page drawn at once, the next as the list scrolls', { timeout: 180_000 }, async () => {
  const COUNT = 1500;
  const name = (i) => `entry-${String(i).padStart(4, '0')}`;
  const long = await pat.api.call('POST', '/api/v1/folders', { parent_id: pat.api.session.root_id, name: 'Long' });
  let next = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (next < COUNT) {
      const i = next++;
      await pat.api.call('POST', '/api/v1/folders', { parent_id: long.id, name: name(i) });
    }
  }));
  const link = await makeLink(pat, { node_id: long.id });
  const v = await visitor(browser, { viewport: { width: 1280, height: 800 } });
  const { page } = v;
  const pages = [];
  page.on('response', async (r) => {
    if (!r.url().includes(`/api/v1/public/${link.token}/list`) || r.status() !== 200) return;
    pages.push((await r.json()).entries.length);
  });
  const opened = Date.now();
  await openShare(page, server.base, link.url);
  await page.waitForSelector(`#share-list tr[data-name="${name(0)}"]`);
  console.log(`# ${COUNT} entries: first rows after ${Date.now() - opened} ms`);
  const drawn = () => page.locator('#share-list tbody tr:not(.more)').count();
  // The first page only, until the list nears its end.
  await until(async () => pages.length === 1, { what: 'the first page' });
  assert.deepEqual(pages, [1000]);
  assert.equal(await drawn(), 1000);
  assert.equal(await page.locator('#share-list tr.more button').textContent(), 'Show more');
  await page.mouse.move(600, 400);
  await until(async () => {
    await page.mouse.wheel(0, 20_000);
    return (await drawn()) === COUNT;
  }, { timeout: 60_000, what: 'the second page drawn as the list scrolls' });
  const names = await page.locator('#share-list tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(names, Array.from({ length: COUNT }, (_, i) => name(i)), 'every entry once, in order');
  assert.deepEqual(pages, [1000, 500]);
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('a password link: the form, a wrong password said, the right one opens', { timeout: 60_000 }, async () => {
  const v = await visitor(browser);
  const { page } = v;
  await openShare(page, server.base, links.locked.url);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'share-password');
  assert.equal(await page.locator('h1.share-name').count(), 0, 'nothing of the file before the password');
  await page.fill('#share-password', 'open says me');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#share-password-error:not([hidden])');
  assert.match(await page.locator('#share-password-error').textContent(), /not right/);
  await page.fill('#share-password', 'open sesame');
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1.share-name');
  const got = await downloaded(page, () => page.click('#share-download'));
  assert.equal(got.bytes.toString(), 'Bring the tickets.\n');
  // A text file previews in a sandboxed frame.
  assert.equal(await page.locator('.preview iframe').getAttribute('sandbox'), '');
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('without JavaScript: the page, the password form and plain download links work', { timeout: 60_000 }, async () => {
  const v = await visitor(browser, { javaScriptEnabled: false });
  const { page } = v;
  await page.goto(`${server.base}${links.locked.url}`);
  await page.fill('input[name="password"]', 'wrong');
  await page.click('button[type="submit"]');
  assert.match(await page.locator('.dialog-error').textContent(), /not right/);
  await page.fill('input[name="password"]', 'open sesame');
  await page.click('button[type="submit"]');
  await page.waitForSelector('h1.share-name');
  assert.equal(new URL(page.url()).pathname, links.locked.url, 'back on the page');
  const href = await page.getAttribute('#share-plain', 'href');
  const r = await v.context.request.get(`${server.base}${href}`);
  assert.equal(r.status(), 200);
  assert.equal((await r.body()).toString(), 'Bring the tickets.\n');

  await page.goto(`${server.base}${links.folder.url}`);
  await page.click('a:has-text("Docs")');
  await page.waitForSelector('a:has-text("plan.txt")');
  const plan = await v.context.request.get(`${server.base}${await page.getAttribute('a:has-text("plan.txt")', 'href')}`);
  assert.equal((await plan.body()).toString(), 'Day 1: Alfama\n');
  await v.context.close();
});

test('a limited link: chunks come by Range through the link, and the limit holds', { timeout: 60_000 }, async () => {
  const v = await visitor(browser);
  const ranged = [];
  v.page.on('request', (r) => { if (r.url().includes('/s/') && r.headers().range) ranged.push(r.headers().range); });
  await openShare(v.page, server.base, links.limited.url);
  assert.match(await v.page.locator('.facts').textContent(), /Downloads left1 of 1/);
  assert.ok(await v.page.locator('.preview .show-preview').count() === 0, 'a .bin has no preview');
  const got = await downloaded(v.page, () => v.page.click('#share-download'));
  assert.equal(sha(got.bytes), sha(data));
  assert.ok(ranged.length >= 1 && ranged.every((h) => /^bytes=\d+-\d+$/.test(h)), ranged.join(', '));
  await v.page.click('#share-download');
  await v.page.waitForSelector('#share-status.error');
  assert.match(await v.page.locator('#share-status').textContent(), /download limit/);
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('at phone width (375 px) nothing overflows', { timeout: 60_000 }, async () => {
  const v = await visitor(browser, { viewport: { width: 375, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  for (const url of [links.folder.url, links.file.url, links.image.url]) {
    await openShare(v.page, server.base, url);
    const wide = await v.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 375, `${url}: ${wide} px wide`);
  }
  await openShare(v.page, server.base, links.folder.url);
  assert.ok(await v.page.locator('#share-list tr[data-name="photo.png"] button.download').isVisible());
  await shot(v.page, scratch, 'share-page-phone');
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test("the app's service worker leaves share pages and the public API to the network", { timeout: 90_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.base);
  await register(page, 'swen');
  await swReady(page);
  const fromWorker = [];
  page.on('response', (r) => {
    const p = new URL(r.url()).pathname;
    if ((p.startsWith('/s/') || p.startsWith('/api/v1/public/')) && r.fromServiceWorker()) fromWorker.push(p);
  });
  await openShare(page, server.base, links.folder.url);
  await page.waitForSelector('#share-list tr[data-name="Docs"]');
  await page.click('#share-list tr[data-name="photo.png"] button.preview-btn');
  await page.waitForFunction(() => document.querySelector('#share-preview img')?.naturalWidth === 192);
  assert.deepEqual(fromWorker, []);
  await context.close();
});
