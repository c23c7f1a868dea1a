// A file request's drop page, as someone with only the link uses it: it shows nothing of the
// folder, wants the uploader's name, takes files and whole folders, says where each landed
// (`name (from <uploader>)` when the name was taken), and a reload in the middle of a large
// upload resumes it from IndexedDB without sending a finished chunk again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, randomBytes, dropPaths, uploadText, newFolder, until } from './harness.mjs';
import { owner, makeLink, visitor, openShare, sha, shot } from './share-fixture.mjs';

let server;
let browser;
let scratch;
let rhea;
let request;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'cairn-share-request-'));
  rhea = await owner(browser, server.base, 'rhea');
  await newFolder(rhea.page, 'Inbox');
  await rhea.page.click('#files tr[data-name="Inbox"] button.open');
  await uploadText(rhea.page, 'notes.txt', 'the owner\'s own notes\n');
  request = await makeLink(rhea, { node_id: (await rhea.api.at('Inbox')).id, kind: 'request' });
});

after(async () => {
  await rhea?.context.close();
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const drops = (page) => page.evaluate(() => new Promise((resolve) => {
  const r = indexedDB.open('cairn-drops');
  r.onsuccess = () => {
    const g = r.result.transaction('drops').objectStore('drops').getAll();
    g.onsuccess = () => resolve(g.result.map((d) => ({ upload_id: d.upload_id, size: d.file.size, name: d.name })));
  };
}));

test('the drop page: a name first, files and folders land, a taken name is told', { timeout: 120_000 }, async () => {
  const v = await visitor(browser, { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const { page } = v;
  await openShare(page, server.base, request.url);
  assert.equal(await page.locator('h1.share-name').textContent(), 'Send files to rhea');
  const text = await page.locator('#share').textContent();
  assert.ok(!text.includes('notes.txt') && !text.includes('own notes'), 'nothing of the folder shows');

  // No name: nothing is sent, and the field says why.
  await page.fill('#drop-name', '');
  await page.setInputFiles('#drop-files', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('from Ann\n') });
  await page.waitForSelector('#drop-name-error:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'drop-name');
  assert.equal(await page.locator('#drop-list li').count(), 0);

  await page.fill('#drop-name', 'Ann');
  await page.setInputFiles('#drop-files', [
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('from Ann\n') },
    { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: randomBytes(3, 300_000) },
  ]);
  const scans = join(scratch, 'Scans');
  mkdirSync(scans);
  writeFileSync(join(scans, 'page1.pdf'), randomBytes(4, 90_000));
  await dropPaths(page, '#drop-zone', [scans]);
  await page.waitForFunction(() => document.querySelectorAll('#drop-list li.done').length === 3, null, { timeout: 60_000 });
  const said = await page.locator('#drop-list li[data-name="notes.txt"] .detail').textContent();
  assert.match(said, /taken.*“notes \(from Ann\)\.txt”/);
  assert.match(await page.locator('#drop-list li[data-name="photo.jpg"] .detail').textContent(), /saved as “photo\.jpg”/);
  assert.match(await page.locator('#drop-list li[data-name="Scans/page1.pdf"] .detail').textContent(), /in Scans/);
  await shot(page, scratch, 'share-request');

  const inbox = (await rhea.api.list((await rhea.api.at('Inbox')).id)).children.map((n) => n.name).sort();
  assert.deepEqual(inbox, ['Scans', 'notes (from Ann).txt', 'notes.txt', 'photo.jpg']);
  const landed = await rhea.api.at('Inbox', 'notes (from Ann).txt');
  assert.equal((await rhea.api.bytes(landed.id)).toString(), 'from Ann\n');
  assert.ok(await rhea.api.at('Inbox', 'Scans', 'page1.pdf'));
  assert.deepEqual(await drops(page), [], 'nothing left in IndexedDB');
  assert.deepEqual(v.errors, []);
  await v.context.close();
});

test('a reload in the middle of a drop resumes it without re-sending finished chunks', { timeout: 180_000 }, async (t) => {
  const v = await visitor(browser);
  const { page, context } = v;
  const data = randomBytes(21, 24 * 1024 * 1024);
  const file = join(scratch, 'video.mp4');
  writeFileSync(file, data);
  await openShare(page, server.base, request.url);
  await page.fill('#drop-name', 'Bo');

  // A slow uplink (2 MB/s): the upload is under way when the page reloads.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2_000_000 });
  const finished = new Set();
  page.on('response', (r) => {
    const req = r.request();
    if (req.method() === 'PUT' && r.ok()) finished.add(req.url().split('?')[0]);
  });
  await page.setInputFiles('#drop-files', file);
  await until(() => finished.size >= 4, { timeout: 90_000, what: 'four chunks sent' });
  const before = new Set(finished);
  const stored = await drops(page);
  assert.equal(stored.length, 1, 'the drop is in IndexedDB');
  assert.equal(stored[0].size, data.length);
  assert.ok(stored[0].upload_id, 'with its upload id, before its chunks go');

  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const after = [];
  page.on('request', (req) => { if (req.method() === 'PUT') after.push(req.url().split('?')[0]); });
  await page.reload();
  await page.waitForSelector('#drop-list li.done[data-name="video.mp4"]', { timeout: 120_000 });
  assert.equal(await page.inputValue('#drop-name'), 'Bo', 'the name is remembered');
  t.diagnostic(`24 MiB drop: ${before.size} chunks before the reload, ${after.length} after`);
  assert.ok(after.length > 0, 'the rest was sent after the reload');
  for (const u of after) assert.ok(!before.has(u), `chunk ${u} was sent twice`);
  const node = await rhea.api.at('Inbox', 'video.mp4');
  assert.equal(sha(await rhea.api.bytes(node.id)), sha(data));
  assert.deepEqual(await drops(page), []);
  assert.deepEqual(v.errors, []);
  await context.close();
});
