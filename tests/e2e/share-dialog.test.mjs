// The owner's side of share links in the app: the Share dialog on a row (focus lands in it,
// Esc closes it without making anything, Enter creates, a refusal is said in the dialog next
// to its field), Copy puts the link on the clipboard and says "Copied"; the Links screen lists
// links with their state and use, edits one, shows its access log (failed password attempts
// included) and revokes it, after which the link stops working at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, uploadText, newFolder, until } from './harness.mjs';
import { owner, visitor, openShare, shot } from './share-fixture.mjs';

let server;
let browser;
let scratch;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'cairn-share-dialog-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const links = async (who) => (await who.api.call('GET', '/api/v1/links')).links;

test('the Share dialog: keyboard, refusals, create, copy', { timeout: 120_000 }, async () => {
  const sasha = await owner(browser, server.base, 'sasha', {
    permissions: ['clipboard-read', 'clipboard-write'], viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
  });
  const { page } = sasha;
  await uploadText(page, 'report.txt', 'quarterly numbers\n');
  await newFolder(page, 'Photos');

  // Focus lands in the dialog; Esc closes it and makes nothing.
  await page.click('#files tr[data-name="report.txt"] button.share');
  await page.waitForSelector('#dialog[open]');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'share-expires');
  assert.match(await page.locator('#dialog-title').textContent(), /Share report\.txt/);
  assert.equal(await page.locator('#dialog input[name="share-version"]').count(), 2, 'a file offers follow or pin');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#dialog[open]', { state: 'hidden' });
  assert.equal((await links(sasha)).length, 0);

  // A time already past is refused in the dialog, at the field; Enter in a field creates.
  await page.click('#files tr[data-name="report.txt"] button.share');
  await page.fill('#share-expires', '2001-01-01T10:00');
  await page.fill('#share-limit', '3');
  await page.fill('#share-password', 'open sesame');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dialog-error:not([hidden])');
  assert.match(await page.locator('#dialog-error').textContent(), /future/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'share-expires');
  assert.equal((await links(sasha)).length, 0, 'nothing made on a refusal');
  const nextYear = new Date().getFullYear() + 1;
  await page.fill('#share-expires', `${nextYear}-06-30T18:00`);
  await page.check('#dialog input[name="share-version"][value="pin"]');
  await shot(page, scratch, 'share-dialog');
  await page.focus('#share-password');
  await page.keyboard.press('Enter');

  // The link, once, with Copy.
  await page.waitForSelector('#share-url');
  const url = await page.inputValue('#share-url');
  assert.match(url, new RegExp(`^${server.base}/s/[A-Za-z0-9_-]{22,}$`));
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'share-copy', 'focus on Copy');
  assert.ok(await page.locator('#dialog-cancel').isHidden(), 'only Done');
  await page.keyboard.press('Enter');
  await until(async () => (await page.locator('#share-copied').textContent()) === 'Copied', { what: '"Copied"' });
  assert.ok(await page.locator('#share-copied').isVisible());
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  await shot(page, scratch, 'share-link');
  await page.click('#dialog-ok');
  await page.waitForSelector('#dialog[open]', { state: 'hidden' });

  const [made] = await links(sasha);
  assert.equal(made.name, 'report.txt');
  assert.equal(made.max_downloads, 3);
  assert.equal(made.has_password, true);
  assert.ok(made.pinned_version_id != null, 'pinned');
  assert.equal(new Date(made.expires_at).getFullYear(), nextYear);

  // A folder: a file request, with a size limit instead of a download limit.
  await page.click('#files tr[data-name="Photos"] button.share');
  assert.equal(await page.locator('#dialog input[name="share-version"]').count(), 0, 'a folder has no versions');
  await page.check('#dialog input[name="share-kind"][value="request"]');
  assert.ok(await page.locator('#share-limit').isHidden());
  await page.fill('#share-cap', '0');
  await page.click('#dialog-ok');
  await page.waitForSelector('#dialog-error:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'share-cap');
  await page.fill('#share-cap', '50');
  await page.click('#dialog-ok');
  await page.waitForSelector('#share-url');
  assert.match(await page.locator('#dialog-title').textContent(), /File request for Photos/);
  await page.keyboard.press('Escape');
  const request = (await links(sasha)).find((l) => l.kind === 'request');
  assert.equal(request.max_bytes, 50 * 1024 * 1024);
  assert.deepEqual(sasha.errors, []);
  await sasha.context.close();
});

test('the Links screen: state and use, edit, access log, revoke', { timeout: 120_000 }, async () => {
  const lee = await owner(browser, server.base, 'lee');
  const { page } = lee;
  await uploadText(page, 'plan.txt', 'the plan\n');
  await page.click('#files tr[data-name="plan.txt"] button.share');
  await page.fill('#share-password', 'right one');
  await page.click('#dialog-ok');
  await page.waitForSelector('#share-url');
  const url = await page.inputValue('#share-url');
  await page.click('#dialog-ok');
  // Sharing it again says a link already works.
  await page.click('#files tr[data-name="plan.txt"] button.share');
  await page.waitForSelector('#share-others:not([hidden])');
  assert.match(await page.locator('#share-others').textContent(), /1 link to it already works/);
  await page.keyboard.press('Escape');

  await page.click('#nav button[data-view="links"]');
  const item = page.locator('#links-list li[data-name="plan.txt"]');
  await item.waitFor();
  assert.match(await item.locator('.meta').textContent(), /link · active · 0 uses · never used · no expiry · password/);

  // Someone opens it: a wrong password, then the right one.
  const v = await visitor(browser);
  await v.page.goto(url);
  await v.page.waitForSelector('#share-password');
  await v.page.fill('#share-password', 'wrong one');
  await v.page.keyboard.press('Enter');
  await v.page.waitForSelector('#share-password-error:not([hidden])');
  await v.page.fill('#share-password', 'right one');
  await v.page.keyboard.press('Enter');
  await v.page.waitForSelector('#share-download');

  await page.click('#nav button[data-view="files"]');
  await page.click('#nav button[data-view="links"]');
  await until(async () => !/never used/.test(await item.locator('.meta').textContent()), { what: 'the use to show' });

  await item.locator('button.access-log').click();
  await page.waitForSelector('#access-log li.entry');
  const log = await page.locator('#access-log').textContent();
  assert.match(log, /wrong password/);
  assert.match(log, /unlock/);
  assert.match(log, /127\.0\.0\.0\/24/, 'the network, not the address');
  assert.ok(!log.includes(url.split('/').pop()), 'never the token');
  await page.click('#dialog-ok');

  // Edit: a download limit, and the password removed.
  await item.locator('button.edit-link').click();
  await page.fill('#edit-limit', '2');
  await page.check('#edit-no-password');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dialog[open]', { state: 'hidden' });
  await until(async () => /limit 2 downloads/.test(await item.locator('.meta').textContent()), { what: 'the edit to show' });
  assert.doesNotMatch(await item.locator('.meta').textContent(), /password/);
  const v2 = await visitor(browser);
  await openShare(v2.page, '', url);
  await v2.page.waitForSelector('#share-download');

  // Revoke: at once, for everyone.
  await item.locator('button.revoke-link').click();
  await page.click('#dialog-ok');
  await until(async () => (await item.getAttribute('data-state')) === 'revoked', { what: 'the revoked state' });
  assert.equal(await item.locator('button.edit-link').count(), 0);
  await openShare(v2.page, '', url);
  assert.match(await v2.page.locator('#share-gone').textContent(), /revoked/);

  for (const who of [lee, v, v2]) assert.deepEqual(who.errors, []);
  await v.context.close();
  await v2.context.close();
  await lee.context.close();
});
