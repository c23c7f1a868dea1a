// Uploads as people make them: a whole folder tree dropped at once or picked, a reload in the
// middle of a large upload (it resumes without re-sending a finished chunk), pause, resume and
// cancel, a changed file that sends only its changed chunks, and downloads that stream through
// the service worker — a file, and a folder as a zip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startServer, launchBrowser, randomBytes, register, dropPaths, api, until, swReady, uploadsDone } from './harness.mjs';

let server;
let browser;
let scratch;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'cairn-pwa-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const sha = (b) => createHash('sha256').update(b).digest('hex');

/** A tree on disk: tree/{a.txt, empty/, sub/{b.txt, deeper/c.bin}}. */
function makeTree(root) {
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'empty'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'alpha\n');
  writeFileSync(join(root, 'sub', 'b.txt'), 'bravo\n');
  const c = randomBytes(5, 700_000);
  writeFileSync(join(root, 'sub', 'deeper', 'c.bin'), c);
  return c;
}

/** Route interception does not see requests of a page a service worker controls, so tests
 * that throttle chunk PUTs run without one (the service worker has its own tests). */
async function newPage(user, { serviceWorkers = 'allow' } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  await register(page, user);
  return { context, page, errors };
}

test('a folder tree dropped at once keeps its shape, empty folders included', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await newPage('dora');
  const root = join(scratch, 'drop', 'Holiday');
  const c = makeTree(root);
  await dropPaths(page, '#dropzone', [root]);
  await uploadsDone(page, 3);
  assert.match(await page.locator('#overall-text').textContent(), /3 of 3 uploaded/);
  await page.waitForSelector('#files tr[data-name="Holiday"]');

  const dora = await api(server.base, 'dora');
  assert.equal((await dora.at('Holiday', 'a.txt')).size, 6);
  assert.equal((await dora.at('Holiday', 'empty')).kind, 'folder');
  assert.equal((await dora.at('Holiday', 'sub', 'b.txt')).size, 6);
  const cNode = await dora.at('Holiday', 'sub', 'deeper', 'c.bin');
  assert.equal(sha(await dora.bytes(cNode.id)), sha(c));

  // Dropping the same tree again reuses the folders and changes nothing.
  await dropPaths(page, '#dropzone', [root]);
  await uploadsDone(page, 6);
  const texts = await page.locator('#uploads li.done .detail').allTextContents();
  assert.equal(texts.slice(3).filter((t) => /Unchanged/.test(t)).length, 3, texts.join(' | '));
  assert.equal((await dora.list((await dora.at('Holiday')).id)).children.length, 3);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the folder picker uploads a tree too', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await newPage('pia');
  const root = join(scratch, 'pick', 'Picked');
  makeTree(root);
  await page.setInputFiles('#folder-input', root);
  await uploadsDone(page, 3);
  const pia = await api(server.base, 'pia');
  assert.ok(await pia.at('Picked', 'sub', 'deeper', 'c.bin'));
  assert.ok(await pia.at('Picked', 'a.txt'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a folder tree deeper than the server allows: what fits goes up, the rest is refused in a sentence', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await newPage('deb');
  // Deep is level 1, so d64 would be level 65: one past the limit.
  const root = join(scratch, 'deep', 'Deep');
  const dirs = Array.from({ length: 64 }, (_, i) => `d${i + 1}`);
  mkdirSync(join(root, ...dirs), { recursive: true });
  writeFileSync(join(root, 'top.txt'), 'top\n');
  writeFileSync(join(root, ...dirs, 'bottom.txt'), 'bottom\n');
  await page.setInputFiles('#folder-input', root);
  await uploadsDone(page, 1);
  await page.waitForFunction(() => /folders can be nested at most 64 levels below the root/.test(document.querySelector('#status').textContent), null, { timeout: 60_000 });
  const deb = await api(server.base, 'deb');
  assert.ok(await deb.at('Deep', 'top.txt'));
  assert.equal((await deb.at('Deep', ...dirs.slice(0, 63))).kind, 'folder');
  assert.equal(await deb.at('Deep', ...dirs), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a reload in the middle of an upload resumes without re-sending finished chunks', { timeout: 180_000 }, async (t) => {
  const { context, page, errors } = await newPage('rita', { serviceWorkers: 'block' });
  const data = randomBytes(99, 24 * 1024 * 1024);
  const file = join(scratch, 'big.bin');
  writeFileSync(file, data);

  // A slow uplink (2 MB/s): the upload is half way when the page reloads.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2_000_000 });
  const finished = new Set();
  page.on('response', (r) => {
    const req = r.request();
    if (req.method() === 'PUT' && req.url().includes('/blobs/') && r.ok()) finished.add(req.url().split('?')[0].split('/').pop());
  });
  await page.setInputFiles('#file-input', file);
  await until(() => finished.size >= 4, { timeout: 90_000, what: 'four chunks sent' });
  const before = new Set(finished);
  const stored = await page.evaluate(() => new Promise((resolve) => {
    const r = indexedDB.open('cairn');
    r.onsuccess = () => { const g = r.result.transaction('uploads').objectStore('uploads').getAll(); g.onsuccess = () => resolve(g.result.map((u) => ({ id: u.upload_id, size: u.file.size }))); };
  }));
  assert.equal(stored.length, 1, 'the upload is in IndexedDB before its chunks go');
  assert.equal(stored[0].size, data.length);

  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const after = [];
  page.on('request', (req) => { if (req.method() === 'PUT' && req.url().includes('/blobs/')) after.push(req.url().split('?')[0].split('/').pop()); });
  await page.reload();
  await page.waitForSelector('#uploads li.done[data-name="big.bin"]', { timeout: 120_000 });
  assert.ok(after.length > 0, 'the rest was sent after the reload');
  t.diagnostic(`24 MiB upload: ${before.size} chunks before the reload, ${after.length} after, none twice`);
  for (const h of after.map((u) => u.split('?')[0])) assert.ok(!before.has(h), `chunk ${h} was sent twice`);
  const rita = await api(server.base, 'rita');
  const node = await rita.at('big.bin');
  assert.equal(sha(await rita.bytes(node.id)), sha(data));
  assert.equal(await page.evaluate(() => new Promise((resolve) => {
    const r = indexedDB.open('cairn');
    r.onsuccess = () => { const g = r.result.transaction('uploads').objectStore('uploads').count(); g.onsuccess = () => resolve(g.result); };
  })), 0, 'a finished upload leaves nothing behind');
  assert.deepEqual(errors, []);
  await context.close();
});

test('pause stops an upload, resume finishes it, cancel forgets it', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newPage('paul', { serviceWorkers: 'block' });
  // A slow uplink (2 MB/s) leaves time to press the buttons.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2_000_000 });
  const data = randomBytes(3, 12 * 1024 * 1024);
  await page.setInputFiles('#file-input', { name: 'slow.bin', mimeType: 'application/octet-stream', buffer: data });
  const row = page.locator('#uploads li[data-name="slow.bin"]');
  await page.waitForSelector('#uploads li.sending[data-name="slow.bin"]', { timeout: 60_000 });
  await row.locator('button.pause').click();
  await page.waitForSelector('#uploads li.paused[data-name="slow.bin"]');
  assert.equal(await row.locator('button.pause').textContent(), 'Resume');
  await row.locator('button.pause').click();
  await page.waitForSelector('#uploads li.done[data-name="slow.bin"]', { timeout: 120_000 });
  const paul = await api(server.base, 'paul');
  assert.equal(sha(await paul.bytes((await paul.at('slow.bin')).id)), sha(data));

  // Cancel: the upload stops, IndexedDB forgets it, no file appears.
  await page.setInputFiles('#file-input', { name: 'never.bin', mimeType: 'application/octet-stream', buffer: randomBytes(4, 6 * 1024 * 1024) });
  await page.waitForSelector('#uploads li.sending[data-name="never.bin"]', { timeout: 60_000 });
  await page.locator('#uploads li[data-name="never.bin"] button.cancel').click();
  await page.waitForSelector('#uploads li.canceled[data-name="never.bin"]');
  await until(async () => (await page.evaluate(() => new Promise((resolve) => {
    const r = indexedDB.open('cairn');
    r.onsuccess = () => { const g = r.result.transaction('uploads').objectStore('uploads').count(); g.onsuccess = () => resolve(g.result); };
  }))) === 0, { what: 'the canceled upload to leave IndexedDB' });
  assert.equal(await paul.at('never.bin'), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a changed file sends only its changed chunks and the page says how much it saved', { timeout: 180_000 }, async (t) => {
  const { context, page, errors } = await newPage('delia', { serviceWorkers: 'block' });
  const v1 = randomBytes(11, 16 * 1024 * 1024);
  await page.setInputFiles('#file-input', { name: 'film.raw', mimeType: 'application/octet-stream', buffer: v1 });
  await page.waitForSelector('#uploads li.done[data-name="film.raw"]', { timeout: 90_000 });
  await page.waitForSelector('#files tr[data-name="film.raw"]');
  let puts = 0;
  page.on('request', (req) => { if (req.method() === 'PUT' && req.url().includes('/blobs/')) puts += 1; });
  const v2 = Buffer.concat([v1.subarray(0, 8_000_000), Buffer.from('a small edit in the middle'), v1.subarray(8_000_000)]);
  await page.setInputFiles('#file-input', { name: 'film.raw', mimeType: 'application/octet-stream', buffer: v2 });
  const second = page.locator('#uploads li.done[data-name="film.raw"]').nth(1);
  await second.waitFor({ timeout: 90_000 });
  const text = await second.locator('.detail').textContent();
  assert.match(text, /saved \d+(\.\d)? MiB already stored/, text);
  // FastCDC re-synchronises after an insert: one or two chunks change, of about sixteen.
  assert.ok(puts >= 1 && puts <= 3, `only the changed chunks are sent (${puts} PUTs)`);
  const saved = Number(text.match(/saved (\d+(?:\.\d)?) MiB/)[1]);
  assert.ok(saved >= 10, `most of the file was not re-sent (saved ${saved} MB)`);
  t.diagnostic(`16 MiB file, 26 bytes inserted: ${puts} chunk PUTs, page says: ${text}`);
  const delia = await api(server.base, 'delia');
  const node = await delia.at('film.raw');
  assert.equal(node.size, v2.length);
  assert.equal(sha(await delia.bytes(node.id)), sha(v2));
  assert.deepEqual(errors, []);
  await context.close();
});

test('downloads stream through the service worker; a folder comes down as a zip', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newPage('zed');
  await swReady(page);
  const root = join(scratch, 'zip', 'Album');
  const c = makeTree(root);
  await dropPaths(page, '#dropzone', [root]);
  await uploadsDone(page, 3);
  const big = randomBytes(21, 5 * 1024 * 1024 + 17);
  await page.setInputFiles('#file-input', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: big });
  await page.waitForSelector('#uploads li.done[data-name="big.bin"]', { timeout: 60_000 });
  await page.waitForSelector('#files tr[data-name="big.bin"]');

  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.locator('#files tr[data-name="big.bin"] button.download').click(),
  ]);
  assert.equal(file.suggestedFilename(), 'big.bin');
  const got = readFileSync(await file.path());
  assert.equal(got.length, big.length);
  assert.equal(sha(got), sha(big));
  await page.waitForFunction(() => document.body.dataset.lastDownload);
  assert.equal(await page.evaluate(() => document.body.dataset.lastDownload), 'stream', 'streamed by the service worker, not built as a Blob');

  const [zip] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.locator('#files tr[data-name="Album"] button.zip').click(),
  ]);
  assert.equal(zip.suggestedFilename(), 'Album.zip');
  const zipPath = join(scratch, 'Album.zip');
  await zip.saveAs(zipPath);
  // Python's zipfile is an independent reader: it checks every CRC.
  const out = execFileSync('python3', ['-c', `
import zipfile, sys, hashlib, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))
`, zipPath]).toString();
  const entries = JSON.parse(out);
  assert.deepEqual(Object.keys(entries).sort(), ['a.txt', 'empty/', 'sub/', 'sub/b.txt', 'sub/deeper/', 'sub/deeper/c.bin']);
  assert.equal(entries['sub/deeper/c.bin'], sha(c));
  assert.equal(entries['a.txt'], sha(Buffer.from('alpha\n')));
  assert.deepEqual(errors, []);
  await context.close();
});

test('an upload that cannot reach the server while the browser is online tries again by itself', { timeout: 120_000 }, async () => {
  // Requests are routed here, so the service worker must not answer them first.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  await register(page, 'otto');
  // Every chunk PUT fails at the network level for a while: longer than one request's
  // retries, with the browser online all along (no 'online' event will come).
  const downUntil = Date.now() + 6_000;
  await page.route('**/blobs/**', (route) => (Date.now() < downUntil && route.request().method() === 'PUT'
    ? route.abort('connectionrefused') : route.continue()));
  const data = randomBytes(61, 3 * 1024 * 1024);
  await page.setInputFiles('#file-input', { name: 'outage.bin', mimeType: 'application/octet-stream', buffer: data });
  const row = page.locator('#uploads li[data-name="outage.bin"]');
  await page.waitForSelector('#uploads li.paused[data-name="outage.bin"]', { timeout: 30_000 });
  assert.match(await row.locator('.detail').textContent(), /^Cannot reach the server · trying again in \d+ s$/);
  await page.waitForSelector('#uploads li.done[data-name="outage.bin"]', { timeout: 60_000 });
  const otto = await api(server.base, 'otto');
  assert.equal(sha(await otto.bytes((await otto.at('outage.bin')).id)), sha(data));
  assert.deepEqual(errors, []);
  await context.close();
});
