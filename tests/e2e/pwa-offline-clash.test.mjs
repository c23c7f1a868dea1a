// A rename made offline whose name another device took meanwhile: nothing is lost. The replay
// keeps both (ours as a conflicted copy), lists it under Conflicts, and "Keep mine" gives our
// file the name while theirs goes to the trash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, uploadText, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

test('an offline rename that collides becomes a conflicted copy the user resolves', { timeout: 180_000 }, async () => {
  const { server, browser } = shared;
  const a = await openDevice(browser, server.base, 'dana', { create: true });
  await uploadText(a.page, 'draft.txt', 'written on A\n');
  await a.page.waitForSelector('#files tr[data-name="draft.txt"]');
  const b = await openDevice(browser, server.base, 'dana');

  await a.context.setOffline(true);
  await a.page.click('#files tr[data-name="draft.txt"] button.rename');
  await a.page.fill('#dialog-input', 'final.txt');
  await a.page.click('#dialog-ok');
  await a.page.waitForSelector('#files tr.pending[data-name="final.txt"]');
  await uploadText(b.page, 'final.txt', 'written on B\n');
  await a.context.setOffline(false);

  await a.page.waitForSelector('#conflict-count:not([hidden])', { timeout: 60_000 });
  const dana = await api(server.base, 'dana');
  const names = async () => (await dana.list(dana.session.root_id)).children.map((n) => n.name).sort();
  const [copy, theirs] = await names();
  assert.match(copy, /^final \(conflicted copy .+\)\.txt$/);
  assert.equal(theirs, 'final.txt');
  assert.equal((await dana.bytes((await dana.at(copy)).id)).toString(), 'written on A\n');

  await a.page.click('#nav button[data-view="conflicts"]');
  const item = a.page.locator('#conflict-list li').first();
  await item.waitFor();
  assert.match(await item.textContent(), /“final\.txt” was taken meanwhile/);
  await item.locator('button.compare-btn').click();
  await a.page.waitForSelector('#compare:not([hidden])');
  assert.equal(await a.page.locator('#compare-mine').textContent(), 'written on A\n');
  assert.equal(await a.page.locator('#compare-theirs').textContent(), 'written on B\n');

  await item.locator('button', { hasText: 'Keep mine' }).click();
  await a.page.waitForSelector('#conflicts-empty:not([hidden])');
  await until(async () => (await names()).join() === 'final.txt', { what: 'our file to take the name' });
  assert.equal((await dana.bytes((await dana.at('final.txt')).id)).toString(), 'written on A\n');
  const trash = await dana.call('GET', '/api/v1/trash');
  assert.deepEqual(trash.items.map((t) => t.node.name), ['final.txt'], "B's file waits in the trash");
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await a.context.close();
  await b.context.close();
});
