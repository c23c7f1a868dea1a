// Live sync between two devices of one account: the folder open on one updates within a
// second when the other changes it (SSE hint → change feed → re-list), and after the network
// drops and returns, the page reconnects by itself and catches up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, register, signIn, api } from './harness.mjs';

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

test('another device\'s change shows within a second, and again after the network drops', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  await register(page, 'lou');
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });

  const other = await api(server.base, 'lou'); // the second device
  const root = other.session.root_id;
  const started = Date.now();
  await other.call('POST', '/api/v1/folders', { parent_id: root, name: 'From the phone' });
  await page.waitForSelector('#files tr[data-name="From the phone"]', { timeout: 5_000 });
  const ms = Date.now() - started;
  assert.ok(ms < 1000, `the open folder updated after ${ms} ms`);

  // Inside a folder too.
  const made = await other.at('From the phone');
  await page.click('#files tr[data-name="From the phone"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  await other.call('POST', '/api/v1/folders', { parent_id: made.id, name: 'Sub' });
  await page.waitForSelector('#files tr[data-name="Sub"]', { timeout: 5_000 });
  await page.click('#crumbs button:first-child');

  // The network drops and comes back: the page reconnects by itself and catches up.
  await context.setOffline(true);
  await page.waitForFunction(() => document.body.dataset.live !== 'open', null, { timeout: 30_000 }).catch(() => {});
  await other.call('POST', '/api/v1/folders', { parent_id: root, name: 'While you were away' });
  await context.setOffline(false);
  await page.waitForSelector('#files tr[data-name="While you were away"]', { timeout: 15_000 });
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  const again = Date.now();
  await other.call('POST', '/api/v1/folders', { parent_id: root, name: 'After reconnecting' });
  await page.waitForSelector('#files tr[data-name="After reconnecting"]', { timeout: 5_000 });
  assert.ok(Date.now() - again < 1000, 'live again after the reconnect');
  assert.deepEqual(errors, []);
  await context.close();
});

test('two browser contexts as two devices: an upload on one appears on the other', { timeout: 120_000 }, async () => {
  const a = await browser.newContext();
  const b = await browser.newContext();
  const pa = await a.newPage();
  const pb = await b.newPage();
  await pa.goto(server.base);
  await register(pa, 'duo');
  await pb.goto(server.base);
  await signIn(pb, 'duo');
  await pb.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  await pa.setInputFiles('#file-input', { name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hi from A') });
  await pa.waitForSelector('#uploads li.done[data-name="hello.txt"]', { timeout: 60_000 });
  const done = Date.now();
  await pb.waitForSelector('#files tr[data-name="hello.txt"]', { timeout: 5_000 });
  assert.ok(Date.now() - done < 1000, 'B saw A\'s file within a second');
  await a.close();
  await b.close();
});
