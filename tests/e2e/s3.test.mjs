// The same vertical slice against a real S3 server: Cairn configured for a throwaway Garage,
// so the page PUTs chunks straight to Garage's pre-signed staging URLs (cross-origin, allowed
// by the bucket's CORS), the API verifies them before the commit, and the download GETs
// pre-signed chunk URLs from Garage. A small file goes to the API instead (`blob::inline`):
// one same-origin PUT, checked and written straight to its content address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { startServer, startGarage, launchBrowser, randomBytes, dropFiles, register } from './harness.mjs';

let garage;
let server;
let browser;

before(async () => {
  garage = await startGarage();
  server = await startServer(garage.env);
  await garage.allowOrigin(server.base);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await garage?.stop();
});

test('upload to Garage through signed URLs and download the same bytes', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const toGarage = [];
  const toServer = [];
  page.on('request', (r) => {
    const line = `${r.method()} ${new URL(r.url()).pathname}`;
    if (r.url().startsWith(garage.endpoint)) toGarage.push(line);
    if (r.url().startsWith(server.base)) toServer.push(line);
  });
  await page.goto(server.base);
  await register(page, 'alice');

  const original = randomBytes(43, 5 * 1024 * 1024 + 1234);
  const note = randomBytes(44, 30_000);
  await dropFiles(page, '#dropzone', [
    { name: 'clip.mov', base64: original.toString('base64') },
    { name: 'note.bin', base64: note.toString('base64') },
  ]);
  await page.waitForSelector('#uploads li.done[data-name="clip.mov"]', { timeout: 60_000 });
  await page.waitForSelector('#uploads li.done[data-name="note.bin"]', { timeout: 60_000 });
  await page.locator('#files tr[data-name="note.bin"]').waitFor();
  // The small file's one chunk went to the API, not to Garage.
  assert.ok(toServer.some((r) => /^PUT \/blobs\/staging\/[0-9a-f]+\/[0-9a-f]{64}$/.test(r)), toServer.join('\n'));
  const row = page.locator('#files tr[data-name="clip.mov"]');
  await row.waitFor();

  // The bytes went to Garage's staging keys, and were promoted to chunks/ by the API.
  assert.ok(toGarage.some((r) => /^PUT \/cairn\/staging\/[0-9a-f]+\/[0-9a-f]{64}$/.test(r)), toGarage.join('\n'));
  const keys = await garage.keys('');
  assert.ok(keys.some((k) => k.startsWith('chunks/')), keys.join('\n'));
  assert.ok(!keys.some((k) => k.startsWith('staging/')), keys.join('\n'));

  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    row.locator('button.download').click(),
  ]);
  const got = await readFile(await download.path());
  assert.equal(got.length, original.length);
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(original).digest('hex'));
  assert.ok(toGarage.some((r) => /^GET \/cairn\/chunks\/[0-9a-f]{64}$/.test(r)), toGarage.join('\n'));
  assert.deepEqual(errors, []);
  await context.close();
});
