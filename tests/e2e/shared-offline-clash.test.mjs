// Two people edit one file of a shared folder at once, one of them offline: Ben (an editor)
// saves his edit of plan.txt while offline, Ann saves hers online; when Ben's page reconnects
// its replay finds Ann's version newer than the one it edited, and both are kept: Ann's as
// plan.txt, Ben's beside it as a conflicted copy that names Ben, shown under his Conflicts.
// And when Ann removes Ben, what Ben kept offline from her folder leaves his device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const live = (page) => page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });

test('an offline edit in a shared folder that crossed the owner\'s keeps both versions', { timeout: 180_000 }, async () => {
  const base = shared.server.base;
  const ann = await openDevice(shared.browser, base, 'ann', { create: true });
  const ben = await openDevice(shared.browser, base, 'ben', { create: true });
  const [a, b] = [ann.page, ben.page];
  await Promise.all([live(a), live(b)]);

  // Ann's folder, shared with Ben as an editor (the routes; the dialog has its own test).
  const annApi = await api(base, 'ann');
  const benApi = await api(base, 'ben');
  const notes = await annApi.call('POST', '/api/v1/folders', { parent_id: annApi.session.root_id, name: 'Notes' });
  const share = await annApi.call('POST', `/api/v1/nodes/${notes.id}/share`);
  await annApi.call('POST', `/api/v1/shares/${share.id}/members`, { username: 'ben', role: 'editor' });
  await benApi.call('POST', `/api/v1/shares/${share.id}/accept`);

  // Both open it; Ann writes the first version, and Ben's page sees it.
  await a.click('#files tr[data-name="Notes"] button.open');
  await a.waitForSelector('#crumbs button[aria-current="location"]:text("Notes")');
  await uploadText(a, 'plan.txt', 'plan, first\n');
  await b.click('#nav button[data-view="shared"]');
  await b.click('#shared-with-me li[data-name="Notes"] button.open-share');
  await b.waitForSelector('#files tr[data-name="plan.txt"]');

  // Ben edits offline; Ann edits the same version online.
  await ben.context.setOffline(true);
  await uploadText(b, 'plan.txt', 'plan, edited by Ben offline\n');
  await uploadText(a, 'plan.txt', 'plan, edited by Ann\n');
  await ben.context.setOffline(false);

  // Ben's replay keeps his edit beside Ann's, and tells him.
  await b.waitForSelector('#conflict-count:not([hidden])', { timeout: 60_000 });
  const names = async () => (await annApi.list(notes.id)).children.map((n) => n.name).sort();
  const both = await until(async () => { const n = await names(); return n.length === 2 && n; }, { what: 'both versions in the folder' });
  const [copy, theirs] = both;
  assert.match(copy, /^plan \(conflicted copy ben .+\)\.txt$/, 'the copy names the member');
  assert.equal(theirs, 'plan.txt');
  assert.equal((await annApi.bytes((await annApi.child(notes.id, 'plan.txt')).id)).toString(), 'plan, edited by Ann\n');
  assert.equal((await annApi.bytes((await annApi.child(notes.id, copy)).id)).toString(), 'plan, edited by Ben offline\n');
  // Ann sees Ben's copy arrive in her open folder, and who wrote it.
  const row = a.locator(`#files tr[data-name="${copy}"]`);
  await row.waitFor({ timeout: 10_000 });
  assert.match(await row.locator('td.when').textContent(), /^edited by ben/);
  await b.click('#nav button[data-view="conflicts"]');
  await b.locator('#conflict-list li').first().waitFor();
  assert.match(await b.locator('#conflict-list li').first().textContent(), /conflicted copy/);
  assert.deepEqual(ann.errors, []);
  assert.deepEqual(ben.errors, []);
  await ann.context.close();
  await ben.context.close();
});

/** The ids of the files the page keeps offline (its IndexedDB `pins` store). */
const keptIds = (page) => page.evaluate(async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('cairn');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const ids = await new Promise((resolve, reject) => {
    const r = db.transaction('pins').objectStore('pins').getAllKeys();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  db.close();
  return ids;
});

test('a member removed from a shared folder loses what they kept offline from it', { timeout: 180_000 }, async () => {
  const base = shared.server.base;
  const ana = await openDevice(shared.browser, base, 'ana', { create: true });
  const bo = await openDevice(shared.browser, base, 'bo', { create: true });
  const [a, b] = [ana.page, bo.page];
  await Promise.all([live(a), live(b)]);
  const anaApi = await api(base, 'ana');
  const boApi = await api(base, 'bo');
  const trip = await anaApi.call('POST', '/api/v1/folders', { parent_id: anaApi.session.root_id, name: 'Trip' });
  const share = await anaApi.call('POST', `/api/v1/nodes/${trip.id}/share`);
  await anaApi.call('POST', `/api/v1/shares/${share.id}/members`, { username: 'bo', role: 'viewer' });
  await boApi.call('POST', `/api/v1/shares/${share.id}/accept`);
  await a.click('#files tr[data-name="Trip"] button.open');
  await a.waitForSelector('#crumbs button[aria-current="location"]:text("Trip")');
  await uploadText(a, 'route.txt', 'north, then east\n');

  // Bo keeps a file of his own and one of Ana's folder on his device.
  const keep = async (name) => {
    await b.click(`#files tr[data-name="${name}"] button.pin`);
    await b.waitForSelector(`#files tr[data-name="${name}"] button.pin:text("Offline ✓")`);
  };
  await uploadText(b, 'mine.txt', 'my own notes\n');
  await keep('mine.txt');
  await b.click('#nav button[data-view="shared"]');
  await b.click('#shared-with-me li[data-name="Trip"] button.open-share');
  await b.waitForSelector('#crumbs button[aria-current="location"]:text("Trip")');
  await keep('route.txt');
  const mine = (await boApi.child(boApi.session.root_id, 'mine.txt')).id;
  const route = (await anaApi.child(trip.id, 'route.txt')).id;
  assert.deepEqual((await keptIds(b)).sort(), [mine, route].sort());

  // Ana removes Bo: the folder leaves his page, and its file his device; his own stays.
  await anaApi.call('DELETE', `/api/v1/shares/${share.id}/members/${boApi.session.user_id}`);
  await until(async () => (await keptIds(b)).join() === String(mine), { timeout: 30_000, what: "Ana's file to leave Bo's device" });
  assert.deepEqual(ana.errors, []);
  assert.deepEqual(bo.errors, []);
  await ana.context.close();
  await bo.context.close();
});
