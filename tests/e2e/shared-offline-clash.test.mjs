// Two people edit one file of a shared folder at once, one of them offline: Ben (an editor)
// saves his edit of plan.txt while offline, Ann saves hers online; when Ben's page reconnects
// its replay finds Ann's version newer than the one it edited, and both are kept: Ann's as
// plan.txt, Ben's beside it as a conflicted copy that names Ben, shown under his Conflicts.
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
