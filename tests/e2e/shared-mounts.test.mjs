// A shared folder in a member's own tree (their "mount" of it), in two browsers: Ana shares
// "Team" (a file in it) with Bob as an editor from the Share dialog. Bob has a "Team" of his
// own and a "Projects"; accepting puts Ana's folder at the top of his files as "Team (shared)",
// with the shared badge. It opens there (breadcrumbs from My files) with Ana's file in it. His
// row offers Rename, Move and Leave, never Share or Delete. Renamed to a name he already uses,
// the server's refusal shows in the dialog; renamed to "Ana's team" and moved into Projects
// through the row's buttons it shows there, opened again under its new name (not a kept
// listing's old one); a move into another shared folder is refused in words. Ana still calls
// it "Team". The Delete key on it asks to leave (and cancelling changes nothing); Leave takes
// it out of Projects, out of his Shared with me, and Ana's folder stays as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, openDevice, newFolder, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const live = (page) => page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
const row = (name) => `#files tr[data-name="${name}"]`;
const crumbs = (page) => page.locator('#crumbs button').allTextContents();
const rowNames = (page) => page.locator('#files tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name));

/** The action buttons of row `name`, by class (`rename`, `share`, …). */
async function buttonsOf(page, name) {
  return page.locator(`${row(name)} td.actions button`).evaluateAll((bs) => bs.map((b) => b.classList[b.classList.length - 1]));
}

/** Goes to the folder at `names` from My files, through the breadcrumbs and row buttons. */
async function goTo(page, ...names) {
  await page.click('#crumbs button:first-child');
  await page.waitForSelector('#crumbs button[aria-current="location"]:text("My files")');
  for (const n of names) {
    await page.click(`${row(n)} button.open`);
    await page.waitForSelector(`#crumbs button[aria-current="location"]:text-is("${n}")`);
  }
}

test('a member renames, moves and leaves a shared folder in their own tree; the owner keeps hers', { timeout: 180_000 }, async () => {
  const base = shared.server.base;
  const ana = await openDevice(shared.browser, base, 'ana', { create: true });
  const bob = await openDevice(shared.browser, base, 'bob', { create: true });
  const [a, b] = [ana.page, bob.page];
  await Promise.all([live(a), live(b)]);

  // Ana's "Team", with a file in it; Bob's own "Team" and "Projects".
  await newFolder(a, 'Team');
  await goTo(a, 'Team');
  await uploadText(a, 'plan.txt', 'the plan, by Ana\n');
  await goTo(a);
  await newFolder(b, 'Team');
  await newFolder(b, 'Projects');

  // Ana shares it with Bob from the Share dialog.
  await a.click(`${row('Team')} button.share`);
  await a.click('#share-people');
  await a.fill('#invite-user', 'bob');
  await a.selectOption('#invite-role', 'editor');
  await a.click('#invite');
  await a.waitForSelector('#members li[data-user="bob"]');
  await a.keyboard.press('Escape');
  await a.waitForSelector('#dialog[open]', { state: 'hidden' });
  await a.waitForSelector(`${row('Team')}[data-shared="true"]`);

  // Bob accepts: his My files shows it at the top, beside his own Team, with the badge.
  await b.click('#nav button[data-view="shared"]');
  await b.click('#invitations li[data-name="Team"] button.accept', { timeout: 10_000 });
  await b.waitForSelector('#shared-with-me li[data-name="Team"][data-role="editor"]');
  await b.click('#nav button[data-view="files"]');
  await b.waitForSelector(`${row('Team (shared)')}[data-mount="true"] .tag.shared`);
  assert.ok(await b.locator(`${row('Team (shared)')} .icon.folder.shared`).count(), 'the shared folder icon');
  assert.equal(await b.locator(`${row('Team')}[data-shared]`).count(), 0, 'his own Team stays his plain folder');
  assert.deepEqual(await rowNames(b), ['Projects', 'Team', 'Team (shared)']);

  // Only the owner shares, and a member leaves rather than deletes; his own folders keep theirs.
  assert.deepEqual(await buttonsOf(b, 'Team (shared)'), ['zip', 'rename', 'move', 'leave']);
  assert.deepEqual(await buttonsOf(b, 'Team'), ['zip', 'share', 'rename', 'move', 'delete']);
  assert.deepEqual(await buttonsOf(a, 'Team'), ['zip', 'share', 'rename', 'move', 'delete'], 'the owner\'s shared folder keeps its buttons');

  // It opens in his tree, role known inside (an editor uploads), Ana's file in it.
  await goTo(b, 'Team (shared)');
  await b.waitForSelector(row('plan.txt'));
  assert.deepEqual(await crumbs(b), ['My files', 'Team (shared)']);
  assert.match(await b.locator(`${row('plan.txt')} td.when`).textContent(), /^edited by ana/);
  assert.ok(await b.locator('label[for="file-input"]').isVisible(), 'an editor uploads into it');
  assert.ok(await b.locator('#view-only').isHidden());
  await goTo(b);
  await b.waitForSelector(`${row('Team (shared)')}[data-mount="true"]`);

  // A name he already uses is refused by the server, said in the dialog, which stays open.
  await b.click(`${row('Team (shared)')} button.rename`);
  await b.fill('#dialog-input', 'Team');
  await b.click('#dialog-ok');
  await b.waitForSelector('#dialog-error:not([hidden])');
  assert.equal(await b.locator('#dialog-error').textContent(), 'the name is already taken in this folder');
  assert.ok(await b.locator('#dialog[open]').isVisible());
  await b.fill('#dialog-input', 'Ana\'s team');
  await b.click('#dialog-ok');
  await b.waitForSelector(`${row('Ana\'s team')}[data-mount="true"]`);
  await b.waitForSelector(row('Team (shared)'), { state: 'detached' });
  await b.waitForSelector('#status:text-is("Renamed to Ana\'s team.")');

  // A second folder Ana shares with him: his mount cannot go into it, and he is told why.
  const anaApi = await api(base, 'ana');
  const bobApi = await api(base, 'bob');
  const extra = await anaApi.call('POST', '/api/v1/folders', { parent_id: anaApi.session.root_id, name: 'Extra' });
  const extraShare = await anaApi.call('POST', `/api/v1/nodes/${extra.id}/share`);
  await anaApi.call('POST', `/api/v1/shares/${extraShare.id}/members`, { username: 'bob', role: 'viewer' });
  await bobApi.call('POST', `/api/v1/shares/${extraShare.id}/accept`);
  await b.waitForSelector(`${row('Extra')}[data-mount="true"]`, { timeout: 10_000 });
  await b.click(`${row('Ana\'s team')} button.move`);
  await b.click('#dialog-body .picker button[aria-label="Open Extra"]');
  await b.waitForSelector('#dialog-body .picker .where:text-is("Move to: My files / Extra")');
  await b.click('#dialog-ok');
  await b.waitForSelector('#status.error:has-text("Could not move")');
  assert.equal(await b.locator('#status').textContent(), 'Could not move: a shared folder stays in your own tree: it cannot move into a shared folder');
  assert.ok(await b.locator(row('Ana\'s team')).isVisible(), 'it stays where it was');

  // Moved into Projects through the row's Move.
  await b.click(`${row('Ana\'s team')} button.move`);
  await b.click('#dialog-body .picker button[aria-label="Open Projects"]');
  await b.waitForSelector('#dialog-body .picker .where:text-is("Move to: My files / Projects")');
  await b.click('#dialog-ok');
  await b.waitForSelector(row('Ana\'s team'), { state: 'detached' });
  await b.waitForSelector('#status:text-is("Moved Ana\'s team to Projects.")');
  assert.deepEqual(await rowNames(b), ['Extra', 'Projects', 'Team']);

  // Ana's side: still "Team", at the top of her files, with her file.
  await goTo(a);
  await a.waitForSelector(`${row('Team')}[data-shared="true"]`);
  await a.waitForSelector(`${row('Extra')}[data-shared="true"]`);
  assert.deepEqual(await rowNames(a), ['Extra', 'Team']);
  const team = await anaApi.child(anaApi.session.root_id, 'Team');
  assert.ok(team, 'Ana\'s folder keeps its name');
  assert.deepEqual((await anaApi.list(team.id)).children.map((n) => n.name), ['plan.txt']);

  // Bob: Projects → Ana's team, under its new name (breadcrumbs too), Ana's file in it.
  await goTo(b, 'Projects');
  await b.waitForSelector(`${row('Ana\'s team')}[data-mount="true"] .tag.shared`);
  assert.deepEqual(await buttonsOf(b, 'Ana\'s team'), ['zip', 'rename', 'move', 'leave']);
  await goTo(b, 'Projects', 'Ana\'s team');
  await b.waitForSelector(row('plan.txt'));
  assert.deepEqual(await crumbs(b), ['My files', 'Projects', 'Ana\'s team']);
  assert.equal((await bobApi.bytes((await bobApi.child(team.id, 'plan.txt')).id)).toString(), 'the plan, by Ana\n');

  // Opened from Shared with me it is the same place (Shared with me says Ana's name for it).
  await goTo(b, 'Projects');
  await b.click('#nav button[data-view="shared"]');
  await b.waitForSelector('#shared-view:not([hidden])');
  await b.click('#shared-with-me li[data-name="Team"] button.open-share');
  await b.waitForSelector('#files-view:not([hidden]) #crumbs button[aria-current="location"]:text-is("Ana\'s team")');
  assert.deepEqual(await crumbs(b), ['My files', 'Projects', 'Ana\'s team']);
  await b.waitForSelector(row('plan.txt'));

  // The Delete key on it asks to leave, never to delete; cancelled, nothing changes.
  await goTo(b, 'Projects');
  await b.focus(row('Ana\'s team'));
  await b.keyboard.press('Delete');
  await b.waitForSelector('#dialog[open] #dialog-title:text-is("Leave Ana\'s team?")');
  assert.match(await b.locator('#dialog-text').textContent(), /until ana invites you again/);
  assert.equal(await b.locator('#dialog-ok').textContent(), 'Leave');
  await b.click('#dialog-cancel');
  await b.waitForSelector('#dialog[open]', { state: 'hidden' });
  assert.ok(await b.locator(`${row('Ana\'s team')}[data-mount="true"]`).isVisible());
  assert.equal((await bobApi.call('GET', '/api/v1/trash')).items.length, 0, 'nothing went to the trash');

  // Leave: confirmed, the row goes from Projects and the share from his Shared with me.
  await b.click(`${row('Ana\'s team')} button.leave`);
  await b.waitForSelector('#dialog[open] #dialog-title:text-is("Leave Ana\'s team?")');
  await b.click('#dialog-ok');
  await b.waitForSelector(row('Ana\'s team'), { state: 'detached' });
  await b.waitForSelector('#empty:not([hidden])');
  await b.waitForSelector('#status:text-is("You left Ana\'s team.")');
  assert.deepEqual(await crumbs(b), ['My files', 'Projects']);
  await b.click('#nav button[data-view="shared"]');
  await b.waitForSelector('#shared-with-me li[data-name="Extra"]');
  assert.equal(await b.locator('#shared-with-me li[data-name="Team"]').count(), 0);
  assert.deepEqual((await bobApi.list((await bobApi.child(bobApi.session.root_id, 'Projects')).id)).children, []);

  // Ana's folder is as it was, and Bob is no member of it.
  const mine = (await anaApi.call('GET', '/api/v1/shares')).shares.find((s) => s.root_id === team.id);
  assert.equal(mine.members, 0);
  assert.deepEqual((await anaApi.list(team.id)).children.map((n) => n.name), ['plan.txt']);

  assert.deepEqual(ana.errors, []);
  assert.deepEqual(bob.errors, []);
  await ana.context.close();
  await bob.context.close();
});
