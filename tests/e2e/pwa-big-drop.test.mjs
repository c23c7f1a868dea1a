// A dropped folder of many small files is one row in Transfers, not one per file: the group's
// row counts the files and bytes, the overall line ends at "N of N uploaded", every file is on
// the server, and the one file the server refuses (a name Windows cannot store) gets its own
// row under the group's, with Retry and Dismiss. The records of jobs starting together share
// IndexedDB transactions, so the uploads store sees fewer write transactions than files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, dropPaths, api, register, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();
const GOOD = 60;
const FOLDERS = [[], ['a'], ['a', 'b'], ['c']];

/** Album/ with GOOD files of 1–50 KiB spread over FOLDERS, and `bad?.bin`, which the server
 * refuses by name. Answers the good files' paths inside Album. */
function makeAlbum(root) {
  const paths = [];
  for (const d of FOLDERS) mkdirSync(join(root, ...d), { recursive: true });
  for (let i = 0; i < GOOD; i += 1) {
    const dirs = FOLDERS[i % FOLDERS.length];
    const name = `f${String(i).padStart(2, '0')}.bin`;
    writeFileSync(join(root, ...dirs, name), randomBytes(1000 + i, 1024 + ((i * 7919) % (49 * 1024))));
    paths.push([...dirs, name]);
  }
  writeFileSync(join(root, 'bad?.bin'), 'refused\n');
  return paths;
}

/** Counts the page's IndexedDB write transactions on the uploads store. */
const COUNT_WRITES = () => {
  window.__uploadWrites = 0;
  const tx = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    const names = [].concat(stores);
    if (mode === 'readwrite' && names.includes('uploads')) window.__uploadWrites += 1;
    return tx.call(this, stores, mode, ...rest);
  };
};

/** Every file under folder `id`, as paths of names. */
async function filesUnder(who, id, dirs = []) {
  const out = [];
  for (const n of (await who.list(id)).children) {
    if (n.kind === 'folder') out.push(...await filesUnder(who, n.id, [...dirs, n.name]));
    else out.push([...dirs, n.name]);
  }
  return out;
}

test('a folder of 61 small files is one row; the file the server refuses gets its own', { timeout: 180_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cairn-big-drop-'));
  try {
    const root = join(scratch, 'Album');
    const paths = makeAlbum(root);
    const context = await shared.browser.newContext();
    await context.addInitScript(COUNT_WRITES);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(shared.server.base);
    await register(page, 'gus');
    await dropPaths(page, '#dropzone', [root]);

    const group = page.locator('#uploads li.group[data-name="Album"]');
    await group.waitFor();
    const said = () => page.evaluate(() => `${document.querySelector('#overall-text').textContent} | ${document.querySelector('#uploads li.group .detail')?.textContent} | ${document.querySelector('#status').textContent}`);
    // On a timeout, what the page said last is in the error.
    await page.waitForFunction(() => /^60 of 61 uploaded/.test(document.querySelector('#overall-text').textContent), null, { timeout: 120_000 })
      .catch(async (e) => { throw new Error(`${e.message}; the page says: ${await said()}`); });
    assert.equal(await page.locator('#uploads li.group').count(), 1, 'one row for the drop');
    assert.equal(await group.getAttribute('data-state'), 'failed');
    assert.match(await group.locator('.detail').textContent(), /^60 of 61 files uploaded · .* · 1 failed/);

    // Only the refused file has a row of its own, right under the group's.
    const failed = page.locator('#uploads li.upload');
    assert.equal(await failed.count(), 1, 'no row for a file that went up');
    assert.equal(await failed.getAttribute('data-name'), 'Album/bad?.bin');
    assert.equal(await failed.getAttribute('data-state'), 'failed');
    assert.match(await failed.locator('.detail').textContent(), /Windows cannot store/);
    assert.equal(await page.locator('#uploads li.group + li.upload[data-name="Album/bad?.bin"]').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Retry Album/bad?.bin' }).count(), 1);

    // Every good file is on the server, in its folder.
    const gus = await api(shared.server.base, 'gus');
    const album = await gus.at('Album');
    const there = (await filesUnder(gus, album.id)).map((p) => p.join('/')).sort();
    assert.deepEqual(there, paths.map((p) => p.join('/')).sort());

    // Dismissed, the failure leaves the totals.
    await failed.locator('button.cancel', { hasText: 'Dismiss' }).click();
    await page.waitForFunction(() => /^60 of 60 uploaded/.test(document.querySelector('#overall-text').textContent));
    assert.equal(await page.locator('#uploads li.upload').count(), 0);
    await page.waitForFunction(() => document.querySelector('#uploads li.group').dataset.state === 'done');
    assert.match(await group.locator('.detail').textContent(), /^60 of 60 files uploaded/);

    // A record written, and one deleted, per file would be 122 transactions.
    const writes = await page.evaluate(() => window.__uploadWrites);
    console.log(`# uploads store: ${writes} write transactions for 61 files`);
    assert.ok(writes < 61, `${writes} write transactions`);
    // Every finished upload's record is gone (the refused one's stays, as a failed upload's
    // does: a reload tries it again).
    const left = await page.evaluate(async () => (await (await import('/js/store.js')).entries('uploads')).map(([, r]) => r.label));
    assert.deepEqual(left, ['Album/bad?.bin']);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('a reload in the middle of a big drop resumes every file, started or not, once each', { timeout: 180_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cairn-big-drop-'));
  const COUNT = 150;
  try {
    const root = join(scratch, 'Pics');
    mkdirSync(join(root, 'x', 'y'), { recursive: true });
    const dirs = [[], ['x'], ['x', 'y']];
    for (let i = 0; i < COUNT; i += 1) writeFileSync(join(root, ...dirs[i % 3], `p${String(i).padStart(3, '0')}.bin`), randomBytes(2000 + i, 4096 + i));
    const context = await shared.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(shared.server.base);
    await register(page, 'ria');
    await dropPaths(page, '#dropzone', [root]);
    await page.waitForFunction(() => {
      const m = /^(\d+) of/.exec(document.querySelector('#uploads li.group .detail')?.textContent ?? '');
      return m && Number(m[1]) >= 10;
    }, null, { timeout: 60_000, polling: 50 });
    await page.reload();
    // The records of files in flight and of those not started yet come back as one group.
    await page.locator('#uploads li.group').waitFor({ timeout: 30_000 });
    const label = await page.locator('#uploads li.group').getAttribute('data-name');
    assert.match(label, /^\d+ resumed files$/);
    const resumed = Number(label.split(' ')[0]);
    console.log(`reloaded with ${resumed} of ${COUNT} files kept for a reload`);
    const ria = await api(shared.server.base, 'ria');
    const pics = await ria.at('Pics');
    let there = [];
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      there = await filesUnder(ria, pics.id);
      if (there.length >= COUNT) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const names = there.map((p) => p.join('/'));
    assert.equal(names.length, COUNT, `${names.length} of ${COUNT} files on the server (${resumed} resumed)`);
    assert.equal(new Set(names).size, COUNT);
    assert.ok(!names.some((n) => n.includes('conflicted copy')), 'no file twice');
    await page.waitForFunction(() => document.querySelector('#uploads li.group')?.dataset.state === 'done', null, { timeout: 30_000 });
    const left = await page.evaluate(async () => (await (await import('/js/store.js')).entries('uploads')).length);
    assert.equal(left, 0, 'no record left behind');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
