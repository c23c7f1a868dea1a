// The management screens, driven by keyboard and mouse as a person would: rename (F2), move
// (the folder chooser), delete (the Delete key) and restore from the trash, version history
// with restore, search, storage use, and devices with revoke. Renames, moves and deletes made
// offline replay when the network returns, and a conflict is settled with "keep mine".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

const device = (user, opts) => openDevice(shared.browser, shared.server.base, user, opts);
const upload = uploadText;

async function newFolder(page, name) {
  await page.click('#new-folder');
  await page.fill('#dialog-input', name);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#files tr[data-name="${name}"]`);
}

test('rename with F2, move, delete with the Delete key, restore from the trash', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await device('kim', { create: true });
  // A new account's empty home says what to do first.
  await page.waitForSelector('#welcome:not([hidden])');
  assert.match(await page.locator('#empty').textContent(), /Welcome to Cairn/);
  await newFolder(page, 'Archive');
  await upload(page, 'draft.txt', 'draft');
  await page.waitForSelector('#files tr[data-name="draft.txt"]');

  await page.focus('#files tr[data-name="draft.txt"]');
  await page.keyboard.press('F2');
  await page.waitForSelector('#dialog[open]');
  await page.fill('#dialog-input', 'final.txt');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#files tr[data-name="final.txt"]');

  await page.click('#files tr[data-name="final.txt"] button.move');
  await page.click('#dialog-body button:has-text("Archive")');
  await page.waitForSelector('#dialog-body .where:has-text("Archive")');
  await page.click('#dialog-ok');
  await page.waitForSelector('#files tr[data-name="final.txt"]', { state: 'detached' });
  const kim = await api(shared.server.base, 'kim');
  assert.ok(await kim.at('Archive', 'final.txt'));

  await page.focus('#files tr[data-name="Archive"]');
  await page.keyboard.press('Delete');
  await page.click('#dialog-ok');
  await page.waitForSelector('#empty:not([hidden])');
  await page.click('#nav button[data-view="trash"]');
  await until(async () => /deleted for good 30 days after/.test(await page.locator('#trash-policy').textContent()), { what: 'the trash to say how long it keeps items' });
  const row = page.locator('#trash-list li[data-name="Archive"]');
  await row.waitFor();
  await row.locator('button.restore').click();
  await page.waitForSelector('#trash-empty:not([hidden])');
  await page.click('#nav button[data-view="files"]');
  await page.waitForSelector('#files tr[data-name="Archive"]');
  await page.keyboard.press('Tab');
  await page.focus('#files tr[data-name="Archive"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#files tr[data-name="final.txt"]');
  assert.deepEqual(errors, []);
  await context.close();
});

test('version history restores an older version; search finds files; usage is shown', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await device('vera', { create: true });
  await upload(page, 'essay.txt', 'first draft');
  await upload(page, 'essay.txt', 'second draft, longer');
  await page.waitForSelector('#files tr[data-name="essay.txt"]');
  await page.click('#files tr[data-name="essay.txt"] button.versions');
  await page.waitForSelector('#versions-list li[data-version]');
  assert.equal(await page.locator('#versions-list li[data-version]').count(), 2);
  await until(async () => /kept for 30 days, at most 100 per file/.test(await page.locator('#versions-policy').textContent()), { what: 'the versions screen to say what is kept' });
  await page.locator('#versions-list li[data-version] button.restore').click();
  const vera = await api(shared.server.base, 'vera');
  await until(async () => (await vera.bytes((await vera.at('essay.txt')).id)).toString() === 'first draft', { what: 'the old version to be current' });

  await page.fill('#search-q', 'essay');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#search-results li[data-name="essay.txt"]');
  await page.fill('#search-q', 'nothing-like-this');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#search-empty:not([hidden])');

  await page.click('#nav button[data-view="files"]');
  await until(async () => /used/.test(await page.locator('#usage-text').textContent()), { what: 'the storage use' });
  assert.deepEqual(errors, []);
  await context.close();
});

test('devices: one device revokes another, which lands on the sign-in screen at once', { timeout: 120_000 }, async () => {
  const a = await device('dev', { create: true });
  const b = await device('dev');
  await b.page.waitForSelector('body[data-live="open"]');
  await a.page.click('#nav button[data-view="devices"]');
  await a.page.waitForSelector('#device-list li');
  assert.equal(await a.page.locator('#device-list li').count(), 2);
  // Both are "Chromium on Linux": a rename tells them apart; a bad name is said in the dialog.
  await a.page.locator('#device-list li:has-text("this device") button.rename-device').click();
  await a.page.fill('#dialog-input', '   ');
  await a.page.click('#dialog-ok');
  await a.page.waitForSelector('#dialog-error:not([hidden])');
  await a.page.fill('#dialog-input', 'Desk browser');
  await a.page.click('#dialog-ok');
  await a.page.waitForSelector('#device-list li:has-text("Desk browser (this device)")');
  // Changing the password: a wrong current one is said under the form; the right one keeps
  // the other device signed in (it is not asked to sign everyone out).
  await a.page.fill('#current-password', 'not the password');
  await a.page.fill('#new-password', 'a brand new secret');
  await a.page.click('#password-form button[type="submit"]');
  await a.page.waitForSelector('#password-error:not([hidden])');
  assert.match(await a.page.locator('#password-error').textContent(), /not right/);
  await a.page.fill('#current-password', 'correct horse battery'); // the harness's

  await a.page.click('#password-form button[type="submit"]');
  await until(async () => /Password changed/.test(await a.page.locator('#status').textContent()), { what: 'the password to change' });
  assert.equal(await a.page.locator('#device-list li').count(), 2);
  await a.page.locator('#device-list li:not(:has-text("this device")) button.revoke').click();
  await a.page.click('#dialog-ok');
  await until(async () => (await a.page.locator('#device-list li').count()) === 1, { what: 'the revoked device to go' });
  // No reload: the revocation ends B's event stream, and B signs out by itself.
  await b.page.waitForSelector('#auth-view:not([hidden])', { timeout: 10_000 });
  await a.context.close();
  await b.context.close();
});

test('deleting the account takes the typed username and the password; the other device signs out', { timeout: 120_000 }, async () => {
  const a = await device('leaver', { create: true });
  const b = await device('leaver');
  await upload(a.page, 'keep-me-not.txt', 'soon gone');
  await b.page.waitForSelector('body[data-live="open"]');
  await a.page.click('#nav button[data-view="devices"]');
  await a.page.waitForSelector('#device-list li');
  // The button waits for the username; a wrong password is said under the form, nothing goes.
  assert.ok(await a.page.locator('#delete-account').isDisabled());
  await a.page.fill('#delete-confirm', 'someone-else');
  assert.ok(await a.page.locator('#delete-account').isDisabled());
  await a.page.fill('#delete-confirm', 'LEAVER');
  await a.page.fill('#delete-password', 'not the password');
  await a.page.click('#delete-account');
  await a.page.waitForSelector('#delete-error:not([hidden])');
  assert.match(await a.page.locator('#delete-error').textContent(), /not right/);
  await a.page.fill('#delete-password', 'correct horse battery');
  await a.page.click('#delete-account');
  await a.page.waitForSelector('#auth-view:not([hidden])', { timeout: 10_000 });
  await until(async () => /account was deleted/.test(await a.page.locator('#auth-error').textContent()), { what: 'the sign-in screen to say the account was deleted' });
  // The other device's stream ends with its token, and it signs out by itself.
  await b.page.waitForSelector('#auth-view:not([hidden])', { timeout: 10_000 });
  // The name is free again.
  const again = await fetch(`${shared.server.base}/api/v1/accounts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'leaver', password: 'correct horse battery', device_name: 'new' }),
  });
  assert.equal(again.status, 201);
  await a.context.close();
  await b.context.close();
});

test('renames, moves and deletes made offline replay in order; keep mine settles a conflict', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await device('otto', { create: true });
  await newFolder(page, 'Box');
  await upload(page, 'one.txt', 'one');
  await upload(page, 'two.txt', 'two');
  await upload(page, 'mine.txt', 'base');
  await page.waitForSelector('#files tr[data-name="mine.txt"]');

  await context.setOffline(true);
  await page.focus('#files tr[data-name="one.txt"]');
  await page.keyboard.press('F2');
  await page.fill('#dialog-input', 'uno.txt');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#files tr.pending[data-name="uno.txt"]');
  await page.click('#files tr[data-name="two.txt"] button.move');
  await page.click('#dialog-body button:has-text("Box")');
  await page.waitForSelector('#dialog-body .where:has-text("Box")');
  await page.click('#dialog-ok');
  await page.waitForSelector('#files tr[data-name="two.txt"]', { state: 'detached' });
  await page.focus('#files tr[data-name="uno.txt"]');
  await page.keyboard.press('Delete');
  await page.click('#dialog-ok');
  await page.waitForSelector('#files tr[data-name="uno.txt"]', { state: 'detached' });
  await upload(page, 'mine.txt', 'my offline edit');
  const otto = await api(shared.server.base, 'otto');
  // Another device changes mine.txt meanwhile.
  const base = await otto.at('mine.txt');
  assert.ok(await otto.at('one.txt'), 'nothing changed on the server while offline');

  const other = await device('otto');
  await upload(other.page, 'mine.txt', 'their edit');
  await other.context.close();
  assert.ok(base);

  await context.setOffline(false);
  await until(async () => (await otto.at('Box', 'two.txt')) && !(await otto.at('one.txt')) && !(await otto.at('uno.txt')), { timeout: 60_000, what: 'the offline rename, move and delete' });
  const trash = await otto.call('GET', '/api/v1/trash');
  assert.ok(trash.items.some((t) => t.node.name === 'uno.txt'), 'renamed, then deleted, in that order');

  await page.waitForSelector('#conflict-count:not([hidden])', { timeout: 60_000 });
  await page.click('#nav button[data-view="conflicts"]');
  await page.locator('#conflict-list li button', { hasText: 'Keep mine' }).click();
  await page.waitForSelector('#conflicts-empty:not([hidden])', { timeout: 60_000 });
  await until(async () => (await otto.bytes((await otto.at('mine.txt')).id)).toString() === 'my offline edit', { what: 'mine to win' });
  const names = (await otto.list(otto.session.root_id)).children.map((n) => n.name);
  assert.ok(!names.some((n) => /conflicted copy/.test(n)), names.join(', '));
  assert.deepEqual(errors, []);
  await context.close();
});
