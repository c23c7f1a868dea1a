// Changes that meet another device's on the server: nothing is lost. A rename made offline
// whose name was taken meanwhile is kept as a conflicted copy the user resolves; a file
// written into a folder another device then trashed is kept in My files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, uploadText, newFolder, sharedServerAndBrowser } from './harness.mjs';

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

/** Opens folder `name` of the current listing. */
async function openFolder(page, name) {
  await page.click(`#files tr[data-name="${name}"] button.open`);
  await page.waitForSelector('#empty:not([hidden])');
}

test('an offline edit whose folder another device trashed is kept in My files', { timeout: 180_000 }, async () => {
  const { server, browser } = shared;
  const a = await openDevice(browser, server.base, 'erin', { create: true });
  await newFolder(a.page, 'Docs');
  await openFolder(a.page, 'Docs');
  await a.context.setOffline(true);
  await uploadText(a.page, 'notes.txt', 'written offline\n');
  const erin = await api(server.base, 'erin');
  await erin.call('DELETE', `/api/v1/nodes/${(await erin.at('Docs')).id}`);
  await a.context.setOffline(false);

  const kept = await until(() => erin.at('notes.txt'), { timeout: 60_000, what: 'the edit in My files' });
  assert.equal((await erin.bytes(kept.id)).toString(), 'written offline\n');
  await a.page.waitForFunction(() => /kept in My files: notes\.txt as My files\/notes\.txt\./.test(document.querySelector('#status').textContent));
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('an upload whose folder is trashed just before its commit is kept in My files', { timeout: 180_000 }, async () => {
  const { server, browser } = shared;
  // Requests are routed here, so the service worker must not answer them first.
  const a = await openDevice(browser, server.base, 'fern', { create: true, options: { serviceWorkers: 'block' } });
  await newFolder(a.page, 'Docs');
  await openFolder(a.page, 'Docs');
  const fern = await api(server.base, 'fern');
  const docs = await fern.at('Docs');
  let trashed = false;
  await a.page.route('**/api/v1/commits', async (route) => {
    if (!trashed) {
      trashed = true;
      await fern.call('DELETE', `/api/v1/nodes/${docs.id}`);
    }
    await route.continue();
  });
  await uploadText(a.page, 'report.txt', 'saved late\n');
  const row = a.page.locator('#uploads li.done[data-name="report.txt"] .detail');
  assert.match(await row.textContent(), /^Kept: its folder was deleted .* saved in My files as report\.txt$/);
  const kept = await fern.at('report.txt');
  assert.equal((await fern.bytes(kept.id)).toString(), 'saved late\n');
  assert.ok(trashed);
  assert.deepEqual(a.errors, []);
  await a.context.close();
});
