// Screenshots of the main screens, taken from the real app. They are written to
// docs/screenshots/ when CAIRN_SCREENSHOTS=1 (how the committed ones were made), otherwise to a
// temp dir — so every run still proves each screen renders with data and no page error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, register, signIn, randomBytes, dropPaths, swReady, uploadsDone } from './harness.mjs';
import { photo } from './png.mjs';

const KEEP = process.env.CAIRN_SCREENSHOTS === '1';
const OUT = KEEP ? new URL('../../docs/screenshots/', import.meta.url).pathname : mkdtempSync(join(tmpdir(), 'cairn-shots-'));

let server;
let browser;
let scratch;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'cairn-shot-data-'));
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
  if (!KEEP) rmSync(OUT, { recursive: true, force: true });
});

/** The pictures of the grid view's folder: name, look (`png.mjs`), width, height. */
const PHOTOS = [
  ['sunset-over-the-bay.png', 'sunset', 800, 533],
  ['lake.png', 'lake', 720, 480],
  ['night-sky.png', 'night', 480, 640],
  ['dunes.png', 'dunes', 900, 400],
  ['mountains.png', 'snow', 480, 720],
  ['meadow.png', 'meadow', 800, 600],
  ['city-at-dusk.png', 'city', 640, 480],
  ['lights.png', 'bokeh', 600, 600],
];

async function shot(page, name) {
  await page.evaluate(() => document.activeElement?.blur());
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path });
  assert.ok(statSync(path).size > 5_000, `${name} has content`);
}

test('screenshots of the main screens', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  await page.waitForSelector('#auth-view:not([hidden])');
  await page.fill('#username', 'sam');
  await shot(page, 'sign-in');
  await register(page, 'sam');
  await swReady(page);
  // A new account: what to do first.
  await page.waitForSelector('#welcome:not([hidden])');
  await shot(page, 'welcome');

  const tree = join(scratch, 'Trip to Lisbon');
  mkdirSync(join(tree, 'Photos'), { recursive: true });
  writeFileSync(join(tree, 'itinerary.txt'), 'Day 1: Alfama\nDay 2: Belém\n');
  writeFileSync(join(tree, 'Photos', 'tram.jpg'), randomBytes(1, 2_400_000));
  writeFileSync(join(tree, 'Photos', 'river.jpg'), randomBytes(2, 3_100_000));
  await dropPaths(page, '#dropzone', [tree]);
  await uploadsDone(page, 3);
  await page.setInputFiles('#file-input', [
    { name: 'budget.ods', mimeType: 'application/octet-stream', buffer: randomBytes(3, 180_000) },
    { name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Notes\n\nPack light.\n') },
  ]);
  await uploadsDone(page, 5);
  await page.click('#files tr[data-name="notes.md"] button.pin');
  await page.waitForSelector('#files tr[data-name="notes.md"] .tag.ok');
  await shot(page, 'files');

  // The viewer, on a picture of the app itself (a real PNG, made by the browser).
  const picture = await page.screenshot({ clip: { x: 0, y: 0, width: 960, height: 600 } });
  await page.setInputFiles('#file-input', { name: 'screen.png', mimeType: 'image/png', buffer: picture });
  await page.waitForSelector('#files tr[data-name="screen.png"]');
  await uploadsDone(page, 6);
  await page.click('#files tr[data-name="screen.png"] button.open');
  await page.waitForSelector('#viewer[open][data-state="shown"] #viewer-body img');
  await shot(page, 'viewer');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#viewer:not([open]):not([data-state])', { state: 'attached' });

  // A big upload in flight, paused half way, to show per-file and overall progress.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 3_000_000 });
  await page.setInputFiles('#file-input', { name: 'video.mp4', mimeType: 'video/mp4', buffer: randomBytes(4, 20 * 1024 * 1024) });
  await page.waitForFunction(() => { const r = document.querySelector('#uploads li.sending[data-name="video.mp4"] progress'); return r && r.value > 0.65; }, null, { timeout: 60_000 });
  await shot(page, 'uploading');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector('#uploads li.done[data-name="video.mp4"]', { timeout: 60_000 });

  await page.click('#files tr[data-name="notes.md"] button.versions');
  await page.waitForSelector('#versions-list li[data-version]');
  await shot(page, 'versions');
  await page.click('#versions-dialog button[value="close"]');

  await page.fill('#search-q', 'jpg');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#search-results li');
  await shot(page, 'search');

  await page.click('#nav button[data-view="files"]');
  await page.click('#files tr[data-name="budget.ods"] button.delete');
  await page.click('#dialog-ok');
  await page.click('#nav button[data-view="trash"]');
  await page.waitForSelector('#trash-list li');
  await shot(page, 'trash');

  // A conflict made on purpose, for the conflicts screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 760 }, deviceScaleFactor: 1, userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/130 Mobile' });
  const pp = await phone.newPage();
  await pp.goto(server.base);
  await signIn(pp, 'sam');
  await page.click('#nav button[data-view="files"]');
  await context.setOffline(true);
  await page.setInputFiles('#file-input', { name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Notes\n\nPack light.\nBring a jacket.\n') });
  await page.waitForSelector('#uploads li.queued[data-name="notes.md"]');
  await shot(page, 'offline');
  await pp.setInputFiles('#file-input', { name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Notes\n\nPack light.\nBook the tram tour.\n') });
  await pp.waitForSelector('#uploads li.done[data-name="notes.md"]', { timeout: 60_000 });
  await shot(pp, 'mobile');
  await context.setOffline(false);
  await page.waitForSelector('#conflict-count:not([hidden])', { timeout: 60_000 });
  await page.click('#nav button[data-view="conflicts"]');
  await page.locator('#conflict-list li button.compare-btn').first().click();
  await page.waitForSelector('#compare:not([hidden])');
  await shot(page, 'conflicts');

  await page.click('#nav button[data-view="devices"]');
  await page.waitForSelector('#device-list li:nth-child(2)');
  await shot(page, 'devices');

  // The grid view, on another device of sam's (no upload list or conflict there): a folder of
  // pictures, each with its thumbnail, and two files that have none.
  const photos = join(scratch, 'Photos');
  mkdirSync(photos);
  for (const [name, look, width, height] of PHOTOS) writeFileSync(join(photos, name), photo(width, height, look));
  writeFileSync(join(photos, 'boarding-pass.pdf'), '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  writeFileSync(join(photos, 'captions.txt'), 'sunset-over-the-bay: the last evening\ncity-at-dusk: from the hotel roof\n');
  const tablet = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const tp = await tablet.newPage();
  tp.on('pageerror', (e) => errors.push(String(e)));
  await tp.goto(server.base);
  await signIn(tp, 'sam');
  await swReady(tp);
  await dropPaths(tp, '#dropzone', [photos]);
  await uploadsDone(tp, PHOTOS.length + 2);
  // Thumbnails are drawn after the commits, off the uploads' path.
  await tp.waitForFunction((n) => document.body.dataset.thumbnails === String(n), PHOTOS.length, { timeout: 60_000 });
  // A fresh page, without the finished uploads above the folder.
  await tp.reload();
  await tp.click('#files tr[data-name="Photos"] button.open');
  await tp.waitForFunction((n) => document.querySelectorAll('#files tbody tr[data-id]').length === n, PHOTOS.length + 2);
  await tp.click('#grid-toggle');
  await tp.waitForSelector('#files.grid');
  await tp.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll('#files.grid img.thumb')];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:'));
  }, PHOTOS.length, { timeout: 30_000 });
  await tp.mouse.move(0, 0);
  await shot(tp, 'grid');
  // Back to the list, as it is remembered on the device.
  await tp.click('#grid-toggle');
  assert.equal(await tp.evaluate(() => localStorage.getItem('cairn.grid')), 'false');
  await tablet.close();

  assert.deepEqual(errors, []);
  await phone.close();
  await context.close();
});
