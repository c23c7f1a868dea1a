// Thumbnails and the grid view: an uploaded PNG gets a thumbnail drawn in the browser after its
// commit (WebP, longest side 256 px) and stored with its version; the list shows it in place of
// the icon, the grid view shows it as a tile (a text file as an icon tile), and the grid view is
// remembered across a reload, where the listing says which files have one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, openDevice, sharedServerAndBrowser, swReady, until } from './harness.mjs';
import { png } from './png.mjs';

const shared = sharedServerAndBrowser();

async function upload(page, name, bytes, mimeType) {
  await page.setInputFiles('#file-input', { name, mimeType, buffer: bytes });
  await page.waitForSelector(`#uploads li.done[data-name="${name}"]`, { timeout: 60_000 });
  await page.waitForSelector(`#files tr[data-name="${name}"]`);
}

/** True once the `<img>` under `selector` has loaded an image. */
const loaded = (page, selector) => until(
  () => page.locator(selector).evaluate((img) => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')),
  { timeout: 20_000, what: `${selector} to load` },
);

test('an uploaded image gets a thumbnail; the grid view shows it and is remembered', { timeout: 180_000 }, async () => {
  const base = shared.server.base;
  const { context, page, errors } = await openDevice(shared.browser, base, 'tess', { create: true });
  await swReady(page);
  await upload(page, 'photo.png', png(600, 400), 'image/png');
  await upload(page, 'notes.txt', Buffer.from('just words\n'), 'text/plain');

  // Stored after the commit, off the upload's path.
  await page.waitForFunction(() => document.body.dataset.thumbnails === '1', null, { timeout: 30_000 });
  const me = await api(base, 'tess');
  const photo = await me.child(me.session.root_id, 'photo.png');
  assert.equal(photo.thumbnail, true, 'the listing says it has one');
  assert.equal((await me.child(me.session.root_id, 'notes.txt')).thumbnail, undefined);
  const r = await fetch(`${base}/api/v1/nodes/${photo.id}/versions/${photo.version_id}/thumbnail`, {
    headers: { authorization: `Bearer ${me.session.token}` },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/webp');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('content-security-policy'), 'sandbox');
  const webp = Buffer.from(await r.arrayBuffer());
  assert.equal(webp.subarray(0, 4).toString('latin1'), 'RIFF');
  assert.equal(webp.subarray(8, 12).toString('latin1'), 'WEBP');
  assert.ok(webp.length <= 64 * 1024, `${webp.length} bytes`);
  const size = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/webp' }));
    return [bitmap.width, bitmap.height];
  }, webp.toString('base64'));
  assert.deepEqual(size, [256, 171], 'the longest side is 256 px, the shape kept');

  // The list shows it in place of the type icon.
  await loaded(page, '#files tr[data-name="photo.png"] .icon img.thumb');

  // The grid view: a tile with the thumbnail, an icon tile for the text file.
  const toggle = page.locator('#grid-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  assert.ok(await page.locator('#files').evaluate((t) => t.classList.contains('grid')));
  await loaded(page, '#files.grid tr[data-name="photo.png"] img.thumb');
  const tile = await page.locator('#files.grid tr[data-name="photo.png"] .icon').boundingBox();
  assert.ok(tile.width >= 100 && tile.height >= 100, `a tile's picture is large: ${JSON.stringify(tile)}`);
  assert.equal(await page.locator('#files.grid tr[data-name="notes.txt"] .icon.file.text').count(), 1);
  assert.equal(await page.locator('#files.grid tr[data-name="notes.txt"] img').count(), 0, 'a text file has an icon tile');

  // Remembered: after a reload the grid is back, its thumbnail read through the listing.
  await page.reload();
  await page.waitForSelector('#files tr[data-name="photo.png"]');
  assert.equal(await page.locator('#grid-toggle').getAttribute('aria-pressed'), 'true');
  await loaded(page, '#files.grid tr[data-name="photo.png"] img.thumb');

  // A tile opens the viewer as a row does (Enter), and the focus comes back to it.
  await page.focus('#files.grid tr[data-name="photo.png"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#viewer[open][data-state="shown"]');
  assert.equal(await page.locator('#viewer-title').textContent(), 'photo.png');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer:not([open]):not([data-state])', { state: 'attached' });
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.name), 'photo.png');

  // Back to the list, remembered too.
  await page.click('#grid-toggle');
  assert.equal(await page.locator('#files.grid').count(), 0);
  assert.equal(await page.evaluate(() => localStorage.getItem('cairn.grid')), 'false');
  assert.deepEqual(errors, []);
  await context.close();
});
