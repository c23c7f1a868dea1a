// Offline, as the PWA promises: with the network off, a reload still opens the app (the
// service worker's shell) with the last known tree; a file kept "available offline" opens;
// new folders and files wait in the IndexedDB outbox and replay, in order, when the network
// returns. A change that collides with another device's becomes a conflicted copy that the
// user resolves in the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, register, signIn, api, until, swReady } from './harness.mjs';

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

async function device(user, { create = false } = {}) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.base);
  if (create) await register(page, user); else await signIn(page, user);
  return { context, page, errors };
}

async function upload(page, name, text) {
  const before = await page.locator(`#uploads li.done[data-name="${name}"], #uploads li.queued[data-name="${name}"]`).count();
  await page.setInputFiles('#file-input', { name, mimeType: 'text/plain', buffer: Buffer.from(text) });
  await page.locator(`#uploads li.done[data-name="${name}"], #uploads li.queued[data-name="${name}"]`).nth(before).waitFor({ timeout: 60_000 });
}

async function newFolder(page, name) {
  await page.click('#new-folder');
  await page.fill('#dialog-input', name);
  await page.click('#dialog-ok');
  await page.waitForSelector(`#files tr[data-name="${name}"]`);
}

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
  assert.match(await page.locator('#net').textContent(), /3 changes waiting/);
  const olive = await api(server.base, 'olive');
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
  const carol = await api(server.base, 'carol');
  const names = (await carol.list(carol.session.root_id)).children.map((n) => n.name).sort();
  assert.equal(names.length, 2);
  assert.match(names[0], /^shared \(conflicted copy .+\)\.txt$/);
  assert.equal(names[1], 'shared.txt');
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await a.context.close();
  await b.context.close();
});
