// The first vertical slice, as a person does it: create an account, drop a file on the page,
// watch the progress bar, see the file listed, reload, download it, get the same bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { startServer, launchBrowser, randomBytes, dropFiles, register } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('drop a file, see it after a reload, download the same bytes', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  await register(page, 'alice');

  // 6 MiB + a tail: several content-defined chunks.
  const original = randomBytes(42, 6 * 1024 * 1024 + 4321);
  await dropFiles(page, '#dropzone', [{ name: 'holiday.mov', base64: original.toString('base64') }]);

  // The progress bar appears, then completes.
  const bar = page.locator('#uploads li[data-name="holiday.mov"] progress');
  await bar.waitFor();
  await page.waitForSelector('#uploads li.done[data-name="holiday.mov"]', { timeout: 60_000 });
  assert.equal(await bar.evaluate((b) => b.value), 1);
  await page.waitForSelector('#files tr[data-name="holiday.mov"]');

  // Still there after a reload (the session and the tree come back from the server).
  await page.reload();
  const row = page.locator('#files tr[data-name="holiday.mov"]');
  await row.waitFor();
  assert.match(await row.textContent(), /6\.0 MiB/);

  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    row.locator('button.download').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'holiday.mov');
  const got = await readFile(await download.path());
  assert.equal(got.length, original.length);
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(original).digest('hex'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('the file picker uploads too, and a second upload of the same bytes sends nothing', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.base);
  await register(page, 'bob');
  const bytes = randomBytes(7, 700_000);
  await page.setInputFiles('#file-input', { name: 'a.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForSelector('#uploads li.done[data-name="a.bin"]', { timeout: 60_000 });
  await page.setInputFiles('#file-input', { name: 'a.bin', mimeType: 'application/octet-stream', buffer: bytes });
  const second = page.locator('#uploads li.done[data-name="a.bin"]').nth(1);
  await second.waitFor({ timeout: 60_000 });
  assert.match(await second.textContent(), /Unchanged/);
  await context.close();
});
