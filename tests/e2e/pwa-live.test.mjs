// Live sync between two devices of one account: the folder open on one updates within a
// second when the other changes it (SSE hint → change feed → re-list), and after the network
// drops and returns, the page reconnects by itself and catches up. Re-listing a folder that
// did not change costs a 304 and no body (the kept listing's ETag).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register, signIn, api, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

test('another device\'s change shows within a second, and again after the network drops', { timeout: 120_000 }, async () => {
  const context = await shared.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(shared.server.base);
  await register(page, 'lou');
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });

  const other = await api(shared.server.base, 'lou'); // the second device
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
  const a = await shared.browser.newContext();
  const b = await shared.browser.newContext();
  const pa = await a.newPage();
  const pb = await b.newPage();
  await pa.goto(shared.server.base);
  await register(pa, 'duo');
  await pb.goto(shared.server.base);
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

test('an unchanged folder re-lists as a 304 (ETag of the kept listing); a real change still shows', { timeout: 120_000 }, async () => {
  const context = await shared.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Every listing answer the page gets: folder id, status, the ETag it sent and got back.
  const seen = [];
  page.on('response', (r) => {
    const m = new URL(r.url()).pathname.match(/^\/api\/v1\/nodes\/(\d+)\/children$/);
    if (m) seen.push({ id: Number(m[1]), status: r.status(), sent: r.request().headers()['if-none-match'] ?? null, got: r.headers().etag ?? null });
  });
  await page.goto(shared.server.base);
  await register(page, 'etta');
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  const other = await api(shared.server.base, 'etta');
  const root = other.session.root_id;
  await other.call('POST', '/api/v1/folders', { parent_id: root, name: 'Work' });
  await page.waitForSelector('#files tr[data-name="Work"]', { timeout: 5_000 });
  const work = (await other.at('Work')).id;
  const last = (id) => seen.filter((s) => s.id === id).at(-1);
  const tagOfRoot = last(root).got;
  assert.equal(last(root).status, 200);

  // In, out and in again: nothing changed, so both folders come back as 304s and still show.
  await page.click('#files tr[data-name="Work"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  assert.deepEqual(last(work), { id: work, status: 200, sent: null, got: last(work).got });
  await page.click('#crumbs button:first-child');
  await page.waitForSelector('#files tr[data-name="Work"]');
  assert.deepEqual(last(root), { id: root, status: 304, sent: tagOfRoot, got: tagOfRoot });
  await page.click('#files tr[data-name="Work"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  assert.equal(last(work).status, 304);
  // A reload too: the kept listing and its ETag live in IndexedDB.
  const before = seen.length;
  await page.click('#crumbs button:first-child');
  await page.waitForSelector('#files tr[data-name="Work"]');
  await page.reload();
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  await page.waitForSelector('#files tr[data-name="Work"]');
  const after = seen.slice(before);
  assert.ok(after.length >= 2 && after.every((s) => s.status === 304), `re-lists after the reload: ${JSON.stringify(after)}`);

  // Another device changes the open folder: its old tag no longer matches, the new row shows.
  await page.click('#files tr[data-name="Work"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  await other.call('POST', '/api/v1/folders', { parent_id: work, name: 'Fresh' });
  await page.waitForSelector('#files tr[data-name="Fresh"]', { timeout: 5_000 });
  const changed = last(work);
  assert.equal(changed.status, 200);
  assert.ok(changed.sent && changed.sent !== changed.got, 'the stale tag was sent and a new one came back');
  await page.click('#crumbs button:first-child');
  await page.waitForSelector('#files tr[data-name="Work"]');
  assert.equal(last(root).status, 200, 'any change in the namespace renews every tag');
  assert.deepEqual(errors, []);
  await context.close();
});
