// Shared folders between two people, each in their own browser: Ann shares a folder from the
// Share dialog and invites Ben as an editor (refusals said in words, Enter invites); Ben sees
// the invitation arrive without a reload, accepts, opens the folder (where it lies in his own
// files: breadcrumbs from My files) and uploads into it; Ann sees the file appear live. Ann
// makes Ben a viewer: an upload Ben sends before his page has learnt that is refused with a
// clear message, and once it has, his upload and edit buttons are gone. Ann removes Ben and
// the folder leaves his "Shared with me" live. A second test: declining an invitation,
// leaving, an offline change replayed after a role change, and stopping sharing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, openDevice, newFolder, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const live = (page) => page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
const isShares = (url) => new URL(url).pathname === '/api/v1/shares';

/** Opens the Share dialog of folder `name` in the open folder of `page`. */
async function openShareDialog(page, name) {
  await page.click(`#files tr[data-name="${name}"] button.share`);
  await page.waitForSelector('#dialog[open] #people');
}

test('share, invite, accept, live changes both ways, a role change, removal', { timeout: 180_000 }, async () => {
  const ann = await openDevice(shared.browser, shared.server.base, 'ann', { create: true });
  // Ben's page has its `GET /shares` held back at one point (a role change his page has not
  // learnt yet); routing needs the service worker out of the way.
  const ben = await openDevice(shared.browser, shared.server.base, 'ben', { create: true, options: { serviceWorkers: 'block' } });
  const [a, b] = [ann.page, ben.page];
  await Promise.all([live(a), live(b)]);

  // Ann shares a folder from its Share dialog.
  await newFolder(a, 'Project');
  await openShareDialog(a, 'Project');
  await a.click('#share-people');
  await a.waitForSelector('#invite-user');
  assert.equal(await a.evaluate(() => document.activeElement?.id), 'invite-user', 'the focus lands on the username');
  await a.waitForSelector('#members li[data-user="ann"]');

  // Ben keeps "Shared with me" open meanwhile.
  await b.click('#nav button[data-view="shared"]');
  await b.waitForSelector('#shared-view:not([hidden]) #shared-empty:not([hidden])');

  // Refusals in words, at the field; Enter invites (and does not make a link).
  await a.fill('#invite-user', 'nobody');
  await a.press('#invite-user', 'Enter');
  await a.waitForSelector('#people-error:not([hidden])');
  assert.match(await a.locator('#people-error').textContent(), /no user called “nobody”/);
  assert.equal(await a.getAttribute('#invite-user', 'aria-invalid'), 'true');
  await a.fill('#invite-user', 'ben');
  await a.selectOption('#invite-role', 'editor');
  const invited = Date.now();
  await a.press('#invite-user', 'Enter');
  await a.waitForSelector('#members li[data-user="ben"][data-accepted="false"]');
  assert.match(await a.locator('#members li[data-user="ben"] .meta').textContent(), /can edit · invited/);
  await a.fill('#invite-user', 'ben');
  await a.press('#invite-user', 'Enter');
  await a.waitForSelector('#people-error:not([hidden])');
  assert.match(await a.locator('#people-error').textContent(), /ben is already a member or invited/);
  assert.ok(await a.locator('#dialog[open]').isVisible(), 'Enter in the invite field leaves the dialog open');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#dialog[open]', { state: 'hidden' });
  const annApi = await api(shared.server.base, 'ann');
  assert.deepEqual((await annApi.call('GET', '/api/v1/links')).links, [], 'Enter in the invite field made no link');
  await a.waitForSelector('#files tr[data-name="Project"][data-shared="true"] .tag.shared');

  // Ben: the invitation arrives without a reload.
  await b.waitForSelector('#invitations li[data-name="Project"]', { timeout: 10_000 });
  console.log(`invitation shown on Ben's page ${Date.now() - invited} ms after Ann pressed Enter`);
  assert.equal(await b.locator('#invite-count').textContent(), '1');
  assert.match(await b.locator('#invitations li[data-name="Project"] .meta').textContent(), /from ann · you would edit it/);
  await b.click('#invitations li[data-name="Project"] button.accept');
  await b.waitForSelector('#shared-with-me li[data-name="Project"][data-role="editor"]');
  assert.match(await b.locator('#shared-with-me li[data-name="Project"] .meta').textContent(), /shared by ann · you can edit/);
  assert.ok(await b.locator('#invite-count').isHidden());
  await b.click('#shared-with-me li[data-name="Project"] button.open-share');
  await b.waitForSelector('#files-view:not([hidden]) #crumbs button[aria-current="location"]:text("Project")');
  await b.waitForSelector('#empty:not([hidden])');
  assert.deepEqual(await b.locator('#crumbs button').allTextContents(), ['My files', 'Project'], 'it opens where it lies in Ben\'s own tree');
  assert.equal(await b.getAttribute('#nav button[data-view="files"]', 'aria-current'), 'page', 'the nav says it is in his files');
  assert.ok(await b.locator('label[for="file-input"]').isVisible(), 'an editor uploads');

  // Ann watches the folder; Ben uploads into it.
  await a.click('#files tr[data-name="Project"] button.open');
  await a.waitForSelector('#crumbs button[aria-current="location"]:text("Project")');
  await uploadText(b, 'from-ben.txt', 'hello from Ben\n');
  const uploaded = Date.now();
  await a.waitForSelector('#files tr[data-name="from-ben.txt"]', { timeout: 10_000 });
  const seen = Date.now() - uploaded;
  console.log(`Ben's upload showed in Ann's open folder after ${seen} ms`);
  assert.ok(seen < 3000, `Ann saw Ben's file after ${seen} ms`);
  assert.match(await a.locator('#files tr[data-name="from-ben.txt"] td.when').textContent(), /^edited by ben, (just now|\d+ min ago)$/);
  await b.waitForSelector('#files tr[data-name="from-ben.txt"] td.when:text("edited by you")');
  // And the other way: Ann's new folder shows in Ben's.
  await newFolder(a, 'From Ann');
  await b.waitForSelector('#files tr[data-name="From Ann"]', { timeout: 10_000 });

  // Ann makes Ben a viewer while Ben's page cannot yet re-read its shares.
  let release;
  const gate = new Promise((r) => { release = r; });
  let held;
  const reached = new Promise((r) => { held = r; });
  await b.route(isShares, async (route) => { held(); await gate; await route.continue(); });
  await a.click('#crumbs button:first-child');
  await openShareDialog(a, 'Project');
  await a.waitForSelector('#members li[data-user="ben"][data-accepted="true"]');
  await a.selectOption('#members li[data-user="ben"] select.member-role', 'viewer');
  await a.waitForSelector('#members li[data-user="ben"][data-role="viewer"]');
  await a.keyboard.press('Escape');
  // The role change reached Ben's page through the feed: it asks for its shares (held).
  await reached;

  // An upload sent meanwhile cannot land there: it is kept in Ben's own files, and said so.
  await b.setInputFiles('#file-input', { name: 'late.txt', mimeType: 'text/plain', buffer: Buffer.from('too late\n') });
  await b.waitForSelector('#uploads li.done[data-name="late.txt"]', { timeout: 60_000 });
  const kept = 'you can only view this shared folder now, so it was saved in My files as late.txt';
  assert.equal(await b.locator('#uploads li[data-name="late.txt"] .detail').textContent(), `Kept: ${kept}`);
  assert.equal(await b.locator('#status').textContent(), `late.txt: ${kept}`);

  // Once the page knows, the buttons that would write are gone.
  release();
  await b.waitForSelector('#view-only:not([hidden])');
  await b.unroute(isShares);
  for (const sel of ['label[for="file-input"]', 'label[for="folder-input"]', '#new-folder']) {
    assert.ok(await b.locator(sel).isHidden(), `${sel} is hidden for a viewer`);
  }
  assert.equal(await b.locator('#files tr[data-name="from-ben.txt"] button.rename, #files tr[data-name="from-ben.txt"] button.delete, #files tr[data-name="from-ben.txt"] button.share').count(), 0);
  assert.ok(await b.locator('#files tr[data-name="from-ben.txt"] button.download').isVisible(), 'a viewer still downloads');
  // The keyboard's Delete is refused here too, in words, and nothing is sent.
  await b.focus('#files tr[data-name="from-ben.txt"]');
  await b.keyboard.press('Delete');
  assert.equal(await b.locator('#dialog[open]').count(), 0);
  assert.equal(await b.locator('#status').textContent(), 'You can only view this shared folder.');

  // Ann removes Ben: the folder leaves his "Shared with me" while it is open.
  await b.click('#nav button[data-view="shared"]');
  await b.waitForSelector('#shared-with-me li[data-name="Project"][data-role="viewer"]');
  await openShareDialog(a, 'Project');
  await a.click('#members li[data-user="ben"] button.remove-member');
  const removed = Date.now();
  await a.waitForSelector('#members li[data-user="ben"]', { state: 'detached' });
  await b.waitForSelector('#shared-with-me li[data-name="Project"]', { state: 'detached', timeout: 10_000 });
  console.log(`the removal showed on Ben's page after ${Date.now() - removed} ms`);
  assert.ok(await b.locator('#shared-empty').isVisible());
  await a.keyboard.press('Escape');

  assert.deepEqual(ann.errors, []);
  assert.deepEqual(ben.errors, []);
  await ann.context.close();
  await ben.context.close();
});

test('decline, leave, an offline change replayed after a role change, stop sharing', { timeout: 180_000 }, async () => {
  const cleo = await openDevice(shared.browser, shared.server.base, 'cleo', { create: true });
  const dan = await openDevice(shared.browser, shared.server.base, 'dan', { create: true });
  const [c, d] = [cleo.page, dan.page];
  await Promise.all([live(c), live(d)]);
  await newFolder(c, 'Plans');
  await d.click('#nav button[data-view="shared"]');

  const invite = async (role) => {
    await openShareDialog(c, 'Plans');
    await c.waitForSelector('#people[data-state]');
    if (await c.locator('#people[data-state="private"]').count()) await c.click('#share-people');
    await c.fill('#invite-user', 'dan');
    await c.selectOption('#invite-role', role);
    await c.click('#invite');
    await c.waitForSelector('#members li[data-user="dan"]');
    await c.keyboard.press('Escape');
    await d.waitForSelector('#invitations li[data-name="Plans"]', { timeout: 10_000 });
  };

  // Declined: the invitation goes, on both sides.
  await invite('viewer');
  await d.click('#invitations li[data-name="Plans"] button.decline');
  await d.waitForSelector('#invitations-block', { state: 'hidden' });
  await openShareDialog(c, 'Plans');
  await c.waitForSelector('#members li[data-user="cleo"]');
  assert.equal(await c.locator('#members li[data-user="dan"]').count(), 0, 'a declined invitation is no member');
  await c.keyboard.press('Escape');

  // Accepted as a viewer, then left from the People dialog.
  await invite('viewer');
  await d.click('#invitations li[data-name="Plans"] button.accept');
  await d.click('#shared-with-me li[data-name="Plans"] button.open-share');
  await d.waitForSelector('#view-only:not([hidden])');
  assert.ok(await d.locator('label[for="file-input"]').isHidden());
  await d.click('#nav button[data-view="shared"]');
  await d.click('#shared-with-me li[data-name="Plans"] button.people');
  await d.waitForSelector('#dialog[open] #members li[data-user="cleo"]');
  assert.equal(await d.locator('#members select').count(), 0, 'a member sees the people, read-only');
  await d.click('#leave');
  await d.click('#leave-yes');
  await d.waitForSelector('#people-status:text("You left Plans.")');
  await d.keyboard.press('Escape');
  await d.waitForSelector('#shared-with-me li[data-name="Plans"]', { state: 'detached' });

  // Accepted again, open in Dan's files: stopping sharing takes him back to his own files.
  await invite('editor');
  await d.click('#invitations li[data-name="Plans"] button.accept');
  await d.click('#shared-with-me li[data-name="Plans"] button.open-share');
  await d.waitForSelector('#crumbs button:text("Plans")');

  // A change Dan made offline as an editor, replayed after he became a viewer, is refused in
  // words (not dropped silently), and his page learns the new role.
  await d.context().setOffline(true);
  await newFolder(d, 'Offline idea');
  await openShareDialog(c, 'Plans');
  await c.waitForSelector('#members li[data-user="dan"][data-accepted="true"]');
  await c.selectOption('#members li[data-user="dan"] select.member-role', 'viewer');
  await c.waitForSelector('#members li[data-user="dan"][data-role="viewer"]');
  await c.keyboard.press('Escape');
  await d.context().setOffline(false);
  await d.waitForSelector('#status:has-text("could not be applied")', { timeout: 15_000 });
  assert.match(await d.locator('#status').textContent(), /mkdir Offline idea: You can only view this shared folder/);
  await d.waitForSelector('#files tr[data-name="Offline idea"]', { state: 'detached' });
  await d.waitForSelector('#view-only:not([hidden])');

  // Dan's page hears of the unsharing twice: its open folder's listing now answers 404, and
  // the shares it re-reads no longer hold Plans. Whichever comes first must say why he is
  // back in his own files: here the shares answer late (CI once saw that order by chance).
  await d.route('**/api/v1/shares', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await openShareDialog(c, 'Plans');
  await c.click('#unshare');
  await c.click('#unshare-yes');
  await c.waitForSelector('#share-people');
  await c.keyboard.press('Escape');
  await c.waitForSelector('#files tr[data-name="Plans"]:not([data-shared])');
  await d.waitForSelector('#status:text("Plans is no longer shared with you.")', { timeout: 10_000 });
  await d.waitForSelector('#crumbs button[aria-current="location"]:text("My files")');
  assert.deepEqual(await d.locator('#crumbs button').allTextContents(), ['My files']);
  assert.deepEqual(await d.locator('#files tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name)), [], 'none of Plans shows in Dan\'s own files');
  await d.unroute('**/api/v1/shares');

  assert.deepEqual(cleo.errors, []);
  assert.deepEqual(dan.errors, []);
  await cleo.context.close();
  await dan.context.close();
});
