// A shared folder's activity list, seen by two people in their own browsers: Ana shares a
// folder with Ben, Ben uploads into it and renames the file; Ana's activity (from Shared with
// me) says so in words, newest first, with who and on which device, and a new upload of Ben's
// shows in it while it stays open. Ana also reaches it from the Share dialog's People part (it
// opens over that dialog, which stays), Ben from his Shared with me; a failed read is said, and
// so is Ben's removal while his list is open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDevice, newFolder, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const live = (page) => page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
const isActivity = (url) => /^\/api\/v1\/shares\/\d+\/activity$/.test(new URL(url).pathname);

/** The activity dialog's lines, top first: `{kind, text, user}`. */
const lines = (page) => page.$$eval('#activity-list li', (lis) => lis.map((li) => ({
  kind: li.dataset.kind, text: li.querySelector('.title').textContent, user: li.dataset.user ?? null, seq: Number(li.dataset.seq),
})));

test('uploads, renames and member changes in a shared folder\'s activity, live', { timeout: 180_000 }, async () => {
  const ana = await openDevice(shared.browser, shared.server.base, 'ana', { create: true });
  // Ben's activity read is failed on purpose once (routing needs the service worker away).
  const ben = await openDevice(shared.browser, shared.server.base, 'ben', { create: true, options: { serviceWorkers: 'block' } });
  const [a, b] = [ana.page, ben.page];
  await Promise.all([live(a), live(b)]);

  // Ana shares "Team" with Ben as an editor; Ben accepts and opens it.
  await newFolder(a, 'Team');
  await a.click('#files tr[data-name="Team"] button.share');
  await a.click('#share-people');
  await a.fill('#invite-user', 'ben');
  await a.selectOption('#invite-role', 'editor');
  await a.click('#invite');
  await a.waitForSelector('#members li[data-user="ben"]');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#dialog[open]', { state: 'hidden' });
  await b.click('#nav button[data-view="shared"]');
  await b.click('#invitations li[data-name="Team"] button.accept', { timeout: 10_000 });
  await b.click('#shared-with-me li[data-name="Team"] button.open-share');
  await b.waitForSelector('#crumbs button[aria-current="location"]:text("Team")');

  // Ben uploads a file and renames it.
  await uploadText(b, 'plan.txt', 'the plan\n');
  await b.click('#files tr[data-name="plan.txt"] button.rename');
  await b.fill('#dialog-input', 'plan-final.txt');
  await b.click('#dialog-ok');
  await b.waitForSelector('#files tr[data-name="plan-final.txt"]');

  // Ana opens the activity from Shared with me.
  await a.click('#nav button[data-view="shared"]');
  await a.click('#shared-by-me li[data-name="Team"] button.activity');
  await a.waitForSelector('#activity-dialog[open] #activity-list li[data-kind="rename"]', { timeout: 10_000 });
  assert.equal(await a.locator('#activity-title').textContent(), 'Activity in Team');
  let seen = await lines(a);
  console.log(seen.map((l) => `${l.seq} ${l.kind}: ${l.text}`).join('\n'));
  const seqs = seen.map((l) => l.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => y - x), 'newest first');
  const renamed = seen.findIndex((l) => l.kind === 'rename');
  const uploaded = seen.findIndex((l) => l.kind === 'version');
  assert.equal(renamed, 0, 'the rename is the newest');
  assert.ok(uploaded > renamed, 'the upload comes after (below) the rename');
  // Names are the items' names now: the upload is of the file now called plan-final.txt.
  assert.equal(seen[renamed].text, 'ben renamed plan-final.txt');
  assert.equal(seen[uploaded].text, 'ben uploaded plan-final.txt');
  assert.equal(seen[uploaded].user, 'ben');
  // The whole story, in words: Ana's own doings are "You …".
  assert.deepEqual(seen.map((l) => l.text), [
    'ben renamed plan-final.txt',
    'ben uploaded plan-final.txt',
    'ben changed the members', // he accepted
    'You changed the members', // Ana invited him
    'You created the shared folder Team',
  ]);
  assert.match(await a.locator('#activity-list li').first().locator('.when').textContent(), /^(just now|\d+ min ago)$/);
  assert.match(await a.locator('#activity-list li').first().locator('.title').getAttribute('title'), /^ben on Chromium on Linux$/, 'the device in the tooltip');
  assert.ok(await a.locator('#activity-names').isVisible(), 'the list says its names are today\'s');
  assert.ok(await a.locator('#activity-empty').isHidden());

  // Live: Ben uploads again while Ana's activity is open.
  await uploadText(b, 'second.txt', 'another\n');
  const sent = Date.now();
  await a.waitForSelector('#activity-list li:first-child[data-kind="version"][data-name="second.txt"]', { timeout: 10_000 });
  const after = Date.now() - sent;
  console.log(`Ben's second upload showed in Ana's open activity after ${after} ms`);
  assert.ok(after < 5000, `the activity followed after ${after} ms`);
  seen = await lines(a);
  assert.equal(seen[0].text, 'ben uploaded second.txt');
  assert.equal(seen[1].kind, 'rename', 'the rename is next');
  await a.click('#activity-dialog button[value="close"]');
  await a.waitForSelector('#activity-dialog', { state: 'hidden' });

  // From the Share dialog: the activity opens over it, and closing it goes back there.
  await a.click('#nav button[data-view="files"]');
  await a.click('#files tr[data-name="Team"] button.share');
  await a.click('#share-activity');
  await a.waitForSelector('#activity-dialog[open] #activity-list li[data-name="second.txt"]');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#activity-dialog', { state: 'hidden' });
  assert.ok(await a.locator('#dialog[open] #people').isVisible(), 'the Share dialog is still open');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#dialog[open]', { state: 'hidden' });

  // Ben, a member, sees the same list: his own doings are "You …". A failed read is said.
  await b.click('#nav button[data-view="shared"]');
  await b.route(isActivity, (route) => route.fulfill({
    status: 500, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'internal', message: 'Something went wrong on the server.' } }),
  }));
  await b.click('#shared-with-me li[data-name="Team"] button.activity');
  await b.waitForSelector('#activity-error:not([hidden])');
  assert.match(await b.locator('#activity-error').textContent(), /^Could not load the activity of Team: Something went wrong on the server\.$/);
  assert.ok(await b.locator('#activity-loading').isHidden());
  assert.equal(await b.locator('#activity-list li').count(), 0);
  await b.keyboard.press('Escape');
  await b.unroute(isActivity);
  await b.click('#shared-with-me li[data-name="Team"] button.activity');
  await b.waitForSelector('#activity-dialog[open] #activity-list li[data-name="second.txt"]');
  assert.ok(await b.locator('#activity-error').isHidden());
  assert.equal((await lines(b))[0].text, 'You uploaded second.txt');

  // Ana removes Ben while his activity is open: it says the folder is no longer his.
  await a.click('#files tr[data-name="Team"] button.share');
  await a.click('#members li[data-user="ben"] button.remove-member');
  await a.waitForSelector('#members li[data-user="ben"]', { state: 'detached' });
  await a.keyboard.press('Escape');
  await b.waitForSelector('#activity-error:not([hidden])', { timeout: 10_000 });
  assert.equal(await b.locator('#activity-error').textContent(), 'Team is no longer shared with you, so its activity cannot be shown.');
  assert.equal(await b.locator('#activity-list li').count(), 0);
  await b.keyboard.press('Escape');

  assert.deepEqual(ana.errors, []);
  assert.deepEqual(ben.errors, []);
  await ana.context.close();
  await ben.context.close();
});
