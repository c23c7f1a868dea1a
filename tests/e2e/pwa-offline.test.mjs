// Offline, as the PWA promises: with the network off, a reload still opens the app (the
// service worker's shell) with the last known tree; a file kept "available offline" opens;
// new folders and files wait in the IndexedDB outbox and replay, in order, when the network
// returns. A change that collides with another device's becomes a conflicted copy that the
// user resolves in the browser. Pinned files keep their chunks once each, by hash, and a copy
// pinned whole by an older version of the app is re-pinned as chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { signIn, api, until, swReady, randomBytes, openDevice, uploadText, newFolder, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const device = (user, opts) => openDevice(shared.browser, shared.server.base, user, opts);
const upload = uploadText;

test('offline: the shell and last tree load, pinned files open, new folders and files replay', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('olive', { create: true });
  await swReady(page);
  await newFolder(page, 'Docs');
  await upload(page, 'plan.txt', 'the plan, version 1\n');
  await page.waitForSelector('#files tr[data-name="plan.txt"]');
  await page.click('#files tr[data-name="plan.txt"] button.pin');
  await page.waitForSelector('#files tr[data-name="plan.txt"] .tag.ok');

  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  await page.waitForSelector('#files tr[data-name="Docs"]');
  await page.waitForSelector('#files tr[data-name="plan.txt"]');
  assert.equal(await page.evaluate(() => document.body.dataset.stale), 'true');
  assert.match(await page.locator('#net').textContent(), /Offline/);

  // The pinned file opens with no network.
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#files tr[data-name="plan.txt"] button.download'),
  ]);
  assert.equal(readFileSync(await dl.path(), 'utf8'), 'the plan, version 1\n');

  // Changes made offline: a folder, a file inside it, a file at the top.
  await newFolder(page, 'Made offline');
  await page.click('#files tr[data-name="Made offline"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  await upload(page, 'inside.txt', 'written in a tunnel\n');
  await page.click('#crumbs button:first-child');
  await page.waitForSelector('#files tr[data-name="Made offline"]');
  await upload(page, 'notes.txt', 'offline notes\n');
  await page.waitForSelector('#files tr.pending[data-name="notes.txt"]');
  // A file waiting to sync opens from the outbox, where its bytes are.
  const [queued] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#files tr[data-name="notes.txt"] button.download'),
  ]);
  assert.equal(readFileSync(await queued.path(), 'utf8'), 'offline notes\n');
  // A name the server would refuse is refused here at once (the same rules, from WASM), not
  // queued to fail at replay; the dialog stays open with the reason, to correct the name.
  await page.click('#new-folder');
  await page.fill('#dialog-input', 'con.txt');
  await page.click('#dialog-ok');
  await page.waitForSelector('#dialog-error:not([hidden])');
  assert.match(await page.locator('#dialog-error').textContent(), /reserved device name on Windows/);
  assert.ok(await page.locator('#dialog').evaluate((d) => d.open), 'the dialog stays open');
  await page.click('#dialog-cancel');
  assert.equal(await page.locator('#files tr[data-name="con.txt"]').count(), 0);
  assert.match(await page.locator('#net').textContent(), /3 changes waiting/);
  const olive = await api(shared.server.base, 'olive');
  assert.equal(await olive.at('Made offline'), undefined, 'nothing reached the server while offline');

  await context.setOffline(false);
  await until(async () => (await olive.at('Made offline', 'inside.txt')) && (await olive.at('notes.txt')), { timeout: 60_000, what: 'the outbox to replay' });
  assert.equal((await olive.bytes((await olive.at('Made offline', 'inside.txt')).id)).toString(), 'written in a tunnel\n');
  assert.equal((await olive.bytes((await olive.at('notes.txt')).id)).toString(), 'offline notes\n');
  await page.waitForSelector('#files tr[data-name="notes.txt"]:not(.pending)');
  await until(async () => (await page.locator('#net').textContent()) === '', { what: 'the outbox to empty' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a conflict made on purpose becomes a conflicted copy shown and resolved in the browser', { timeout: 180_000 }, async () => {
  const a = await device('carol', { create: true });
  await upload(a.page, 'shared.txt', 'line one\nline two\n');
  const b = await device('carol');
  await b.page.waitForSelector('#files tr[data-name="shared.txt"]');
  await a.page.waitForSelector('#files tr[data-name="shared.txt"]');

  // A edits offline; meanwhile B saves its own edit of the same version.
  await a.context.setOffline(true);
  await upload(a.page, 'shared.txt', 'line one\nline two, edited on A\n');
  await upload(b.page, 'shared.txt', 'line one\nline two, edited on B\n');
  await a.context.setOffline(false);

  // The replay collides: A's edit is kept as a conflicted copy and shown.
  await a.page.waitForSelector('#conflict-count:not([hidden])', { timeout: 60_000 });
  assert.equal(await a.page.locator('#conflict-count').textContent(), '1');
  await a.page.click('#nav button[data-view="conflicts"]');
  const item = a.page.locator('#conflict-list li').first();
  await item.waitFor();
  assert.match(await item.textContent(), /conflicted copy/);
  await item.locator('button.compare-btn').click();
  await a.page.waitForSelector('#compare:not([hidden])');
  assert.equal(await a.page.locator('#compare-mine').textContent(), 'line one\nline two, edited on A\n');
  assert.equal(await a.page.locator('#compare-theirs').textContent(), 'line one\nline two, edited on B\n');

  // Keep both: the two files stay, the conflict is settled.
  await item.locator('button', { hasText: 'Keep both' }).click();
  await a.page.waitForSelector('#conflicts-empty:not([hidden])');
  const carol = await api(shared.server.base, 'carol');
  const names = (await carol.list(carol.session.root_id)).children.map((n) => n.name).sort();
  assert.equal(names.length, 2);
  assert.match(names[0], /^shared \(conflicted copy .+\)\.txt$/);
  assert.equal(names[1], 'shared.txt');
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await a.context.close();
  await b.context.close();
});

/** The pins and chunk stores of the page's IndexedDB, as plain data. */
function keptOffline(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('cairn');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const read = (store, what) => new Promise((resolve, reject) => {
      const r = db.transaction(store).objectStore(store)[what]();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const [pinIds, pins, chunkKeys, chunks] = [await read('pins', 'getAllKeys'), await read('pins', 'getAll'), await read('chunks', 'getAllKeys'), await read('chunks', 'getAll')];
    db.close();
    return {
      pins: Object.fromEntries(pinIds.map((id, i) => [pins[i].node.name, { id, version: pins[i].node.version_id, chunks: pins[i].chunks || null, whole: !!pins[i].blob, pending: !!pins[i].pending }])),
      chunks: Object.fromEntries(chunkKeys.map((k, i) => [k, chunks[i].size])),
    };
  });
}

/** Every chunk the store holds is named by a pin, and every chunk a pin names is held once,
 * with its size. */
function assertStoreMatchesPins(kept) {
  const named = new Map();
  for (const p of Object.values(kept.pins)) for (const [h, size] of p.chunks || []) named.set(h, size);
  assert.deepEqual(Object.keys(kept.chunks).sort(), [...named.keys()].sort());
  for (const [h, size] of named) assert.equal(kept.chunks[h], size);
}

async function uploadBytes(page, name, buffer) {
  const before = await page.locator(`#uploads li.done[data-name="${name}"]`).count();
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer });
  await page.locator(`#uploads li.done[data-name="${name}"]`).nth(before).waitFor({ timeout: 60_000 });
}

test('pinned files keep shared chunks once; a new version or an unpin drops unused ones; opens offline', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('piper', { create: true });
  await swReady(page);
  const chunkGets = [];
  page.on('request', (r) => { if (r.method() === 'GET' && new URL(r.url()).pathname.startsWith('/blobs/')) chunkGets.push(r.url()); });
  // a.bin and b.bin start alike and end apart: content-defined chunks line up over the
  // shared start, so those chunks are the same (hashes and all).
  const MiB = 1024 * 1024;
  const x = randomBytes(11, 6 * MiB + 333);
  const a = Buffer.concat([x, randomBytes(14, MiB)]);
  const b = Buffer.concat([x, randomBytes(12, 1.5 * MiB)]);
  await uploadBytes(page, 'a.bin', a);
  await uploadBytes(page, 'b.bin', b);
  for (const name of ['a.bin', 'b.bin']) {
    await page.click(`#files tr[data-name="${name}"] button.pin`);
    await page.waitForSelector(`#files tr[data-name="${name}"] .tag.ok`);
  }
  const piper = await api(shared.server.base, 'piper');
  const manifest = async (name) => (await piper.call('GET', `/api/v1/nodes/${(await piper.at(name)).id}/download`)).manifest.chunks.map((c) => [c.hash, c.size]);
  let kept = await keptOffline(page);
  assert.deepEqual(kept.pins['a.bin'].chunks, await manifest('a.bin'));
  assert.deepEqual(kept.pins['b.bin'].chunks, await manifest('b.bin'));
  assertStoreMatchesPins(kept);
  const aHashes = kept.pins['a.bin'].chunks.map(([h]) => h);
  const bHashes = new Set(kept.pins['b.bin'].chunks.map(([h]) => h));
  const common = aHashes.filter((h) => bHashes.has(h));
  assert.ok(common.length >= 1, 'the two files share chunks');
  assert.equal(Object.keys(kept.chunks).length, aHashes.length + bHashes.size - common.length, 'each common chunk stored once');
  assert.equal(chunkGets.length, Object.keys(kept.chunks).length, 'the second pin fetched only chunks not held yet');

  // A new version of a.bin with a new end: the pinned copy follows, fetching only the chunks
  // it lacks, and the chunks only the old version used are dropped.
  const a2 = Buffer.concat([x, randomBytes(13, MiB)]);
  const heldBefore = new Set(Object.keys(kept.chunks));
  chunkGets.length = 0;
  await uploadBytes(page, 'a.bin', a2);
  const newVersion = (await piper.at('a.bin')).version_id;
  kept = await until(async () => {
    const k = await keptOffline(page);
    return k.pins['a.bin'].version === newVersion && !k.pins['a.bin'].pending && k;
  }, { timeout: 30_000, what: 'the pinned copy of a.bin to follow the new version' });
  assert.deepEqual(kept.pins['a.bin'].chunks, await manifest('a.bin'));
  assertStoreMatchesPins(kept);
  const a2Hashes = new Set(kept.pins['a.bin'].chunks.map(([h]) => h));
  const onlyOld = aHashes.filter((h) => !a2Hashes.has(h) && !bHashes.has(h));
  assert.ok(onlyOld.length >= 1 && onlyOld.every((h) => !(h in kept.chunks)), 'chunks only the old version used are gone');
  assert.equal(chunkGets.length, [...a2Hashes].filter((h) => !heldBefore.has(h)).length, 're-pin fetched only the new chunks');

  // Unpin b.bin: its chunks that a.bin does not use go.
  await page.click('#files tr[data-name="b.bin"] button.pin');
  await page.waitForSelector('#files tr[data-name="b.bin"] button.pin:has-text("Keep offline")');
  kept = await keptOffline(page);
  assert.deepEqual(Object.keys(kept.pins), ['a.bin']);
  assertStoreMatchesPins(kept);

  // Offline, after a reload: a.bin opens from its chunks with exactly the new bytes.
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  await page.waitForSelector('#files tr[data-name="a.bin"] .tag.ok');
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#files tr[data-name="a.bin"] button.download'),
  ]);
  assert.ok(readFileSync(await dl.path()).equals(a2), 'identical bytes');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a file pinned whole by the previous app version opens, then is re-pinned as chunks', { timeout: 180_000 }, async () => {
  const text = 'kept whole by version 1 of the store\n';
  const first = await device('vera', { create: true });
  await upload(first.page, 'old.txt', text);
  await first.context.close();
  const vera = await api(shared.server.base, 'vera');
  const node = await vera.at('old.txt');

  // A device that used the old store: database version 1, `offline` holding {node, blob}.
  const context = await shared.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${shared.server.base}/icon.svg`);
  await page.evaluate(async ({ node, text }) => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('cairn', 1);
      r.onupgradeneeded = () => {
        for (const s of ['uploads', 'listings', 'meta', 'outbox', 'offline']) r.result.createObjectStore(s, s === 'outbox' ? { keyPath: 'seq', autoIncrement: true } : undefined);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction(['offline', 'meta'], 'readwrite');
    tx.objectStore('offline').put({ node, blob: new Blob([text]) }, node.id);
    tx.objectStore('meta').put('vera', 'owner');
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    db.close();
  }, { node, text });

  await page.goto(shared.server.base);
  await signIn(page, 'vera');
  await page.waitForSelector('#files tr[data-name="old.txt"] .tag.ok');
  const kept = await until(async () => {
    const k = await keptOffline(page);
    return k.pins['old.txt']?.chunks && k;
  }, { timeout: 30_000, what: 'the whole copy to be re-pinned as chunks' });
  assert.equal(kept.pins['old.txt'].whole, false, 'the whole Blob is gone');
  assertStoreMatchesPins(kept);
  assert.equal(Object.keys(kept.chunks).length, 1);

  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#files tr[data-name="old.txt"] button.download'),
  ]);
  assert.equal(readFileSync(await dl.path(), 'utf8'), text);
  assert.deepEqual(errors, []);
  await context.close();
});

test('opening /openapi.json or /metrics in a tab never becomes the offline app shell', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await device('tabby', { create: true });
  await swReady(page);
  await newFolder(page, 'Still here');
  // Server pages opened in tabs of the app's origin (under the service worker's scope) reach
  // the server as they are.
  const tab = await context.newPage();
  // (`/metrics` is off without a token: its 404 must not become the shell either.)
  for (const [path, type, status] of [['/openapi.json', /^application\/json/, 200], ['/metrics', /^application\/json/, 404], ['/healthz', /^application\/json/, 200]]) {
    const r = await tab.goto(`${shared.server.base}${path}`);
    assert.equal(r.status(), status, path);
    assert.match(r.headers()['content-type'], type, path);
    assert.equal(r.fromServiceWorker(), false, `${path} went through the service worker`);
  }
  await tab.close();

  // Offline, the app still opens from its shell, with its last known tree.
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  await page.waitForSelector('#files tr[data-name="Still here"]');
  assert.deepEqual(errors, []);
  await context.setOffline(false);
  await context.close();
});
