// A dropped folder that does not fit in the quota: the batched start of many files is refused
// as a whole (507, all or none), so the page asks again file by file. What fits goes up, each
// file that does not gets its own row saying why, the group's row counts both, and the server
// holds no more than the quota.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, dropPaths, api, register, sharedServerAndBrowser } from './harness.mjs';

const QUOTA = 300_000;
const FILES = 30;
const SIZE = 20_000;
const shared = sharedServerAndBrowser({ CAIRN_QUOTA_BYTES: String(QUOTA) });

test('a drop past the quota: what fits goes up, the rest is refused file by file', { timeout: 180_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cairn-quota-drop-'));
  try {
    const root = join(scratch, 'Scans');
    mkdirSync(join(root, 'old'), { recursive: true });
    for (let i = 0; i < FILES; i += 1) {
      writeFileSync(join(root, i % 2 ? 'old' : '', `s${String(i).padStart(2, '0')}.bin`), randomBytes(500 + i, SIZE));
    }
    const context = await shared.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(shared.server.base);
    await register(page, 'quinn');
    await dropPaths(page, '#dropzone', [root]);

    const group = page.locator('#uploads li.group[data-name="Scans"]');
    await group.waitFor();
    await page.waitForFunction(() => document.querySelector('#uploads li.group')?.dataset.state === 'failed', null, { timeout: 120_000 });
    const failed = page.locator('#uploads li.upload[data-state="failed"]');
    const refused = await failed.count();
    const fits = Math.floor(QUOTA / SIZE);
    assert.ok(refused >= FILES - fits && refused < FILES, `${refused} of ${FILES} refused`);
    for (const d of await failed.locator('.detail').allTextContents()) assert.match(d, /quota/i);
    const detail = await group.locator('.detail').textContent();
    assert.match(detail, new RegExp(`^${FILES - refused} of ${FILES} files uploaded · .* · ${refused} failed`));

    // The server holds what the page says went up, within the quota.
    const quinn = await api(shared.server.base, 'quinn');
    const me = await quinn.call('GET', '/api/v1/me');
    assert.ok(me.used_bytes <= QUOTA, `${me.used_bytes} bytes used of ${QUOTA}`);
    assert.equal(me.files_bytes, (FILES - refused) * SIZE);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
