// A big file (768 MiB here; `cargo xtask big-file` runs 10 GiB) goes up from the browser, the
// page reloaded at 40% sent: the page resumes it by itself from its IndexedDB record without
// re-sending what the server has, and the file comes down to disk through the UI with the same
// SHA-256. All along, the WASM memory of the page and of every chunking worker stays under
// 64 MiB and the page's JS heap does not grow with the bytes moved (after a forced GC, 100%
// against 25%, for the upload and the download). And a file the browser cannot keep for a
// reload (over the origin's storage quota) still uploads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBigFile, makeBigFile, memory, mibs, series } from './big-file-kit.mjs';
import { api, launchBrowser, register, startServer } from './harness.mjs';

const MIB = 1024 * 1024;
const SIZE_MIB = 768;

test(`a ${SIZE_MIB} MiB file: reload at 40% resumes without re-sending, downloads verified, memory flat`, { timeout: 300_000 }, async (t) => {
  const r = await runBigFile({ mib: SIZE_MIB, every: 1000, log: (l) => t.diagnostic(l), timeout: 240_000 });
  const m = memory(r);
  const c = r.checkpoints;
  t.diagnostic(`upload ${r.uploadSecs.toFixed(1)} s, download ${r.downloadSecs.toFixed(1)} s, ${r.chunks} chunks; PUTs ${r.putsBefore} before / ${r.putsAfter} after the reload, ${mibs(r.resentBytes)} re-sent`);
  for (const p of ['upload', 'download']) {
    t.diagnostic(`${p}: WASM page ${mibs(m[p].pageWasm?.max)}, workers ${mibs(m[p].workerWasm?.max)}; heap ${mibs(m[p].heapUsed?.min)}–${mibs(m[p].heapUsed?.max)}; renderers' RSS ${mibs(m[p].rss?.min)}–${mibs(m[p].rss?.max)}`);
  }
  for (const p of ['upload', 'download']) {
    t.diagnostic(`${p} by progress: ${series(r, p).map((x) => `${(x.progress * 100).toFixed(0)}%: heap ${mibs(x.heap)} rss ${mibs(x.rss)}`).join(', ')}`);
  }
  t.diagnostic(`browser profile (IndexedDB's copy of the File): ${mibs(r.profileAtReload)} at the reload, ${mibs(r.profileAtDone)} when done`);
  t.diagnostic(`heap after GC: upload 25% ${mibs(c.upload25?.heap?.used)}, 100% ${mibs(c.upload100?.heap?.used)}; download 25% ${mibs(c.download25?.heap?.used)}, 100% ${mibs(c.download100?.heap?.used)}`);

  assert.ok(r.verified, `the download's SHA-256 ${r.downloadedSha256} (${r.downloadedBytes} bytes) is the file's ${r.sha256}`);
  assert.equal(r.downloadedBy, 'stream', 'streamed through the service worker, not built as a Blob');
  assert.ok(r.reloadedAtSent >= 0.35, `reloaded in the middle (${r.reloadDetail})`);
  assert.ok(r.putsAfter > 0, 'the upload went on after the reload');
  assert.ok(r.resentBytes <= 0.65 * r.size, `re-sent ${mibs(r.resentBytes)} of ${mibs(r.size)} after the reload`);
  assert.match(r.doneDetail ?? '', /already stored|uploaded|Done|of/i);

  const LIMIT = 64 * MIB;
  for (const p of ['upload', 'download']) {
    assert.ok(m[p].pageWasm, `the page's WASM memory was sampled (${p})`);
    assert.ok(m[p].pageWasm.max < LIMIT, `page WASM memory ${mibs(m[p].pageWasm.max)} (${p})`);
    assert.ok(m[p].heapUsed.max < 256 * MIB, `JS heap ${mibs(m[p].heapUsed.max)} (${p})`);
  }
  assert.ok(m.upload.workerWasm, 'the chunking workers\' WASM memory was sampled');
  assert.ok(m.upload.workerWasm.max < LIMIT, `worker WASM memory ${mibs(m.upload.workerWasm.max)}`);
  // Flat: a page that kept even a tenth of the bytes it moved would grow by ~50 MiB here.
  for (const [a, b] of [[c.upload25, c.upload100], [c.download25, c.download100]]) {
    assert.ok(a?.heap && b?.heap, 'both checkpoints were taken');
    assert.ok(b.heap.used - a.heap.used < 24 * MIB, `heap after GC ${mibs(a.heap.used)} at 25%, ${mibs(b.heap.used)} at 100% (${b.checkpoint})`);
  }
  assert.deepEqual(r.errors, []);
});

test('a file too big for the origin\'s storage quota still uploads, without its reload record', { timeout: 120_000 }, async () => {
  // IndexedDB keeps a copy of a stored File's bytes under the origin's quota: a 10 GiB file in
  // a private window exceeds it. Here the quota is 8 MiB and the file 64 MiB.
  const file = await makeBigFile(64);
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`${e}\n${e.stack}`));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`console: ${m.text()}`); });
    await page.goto(server.base);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.base, quotaSize: 8 * MIB });
    await register(page, 'quota');
    await page.setInputFiles('#file-input', file.path);
    const state = await page.waitForFunction(() => {
      const s = document.querySelector('#uploads li.upload')?.dataset.state;
      return s === 'done' || s === 'failed' ? s : null;
    }, null, { timeout: 60_000 }).then((h) => h.jsonValue());
    assert.equal(state, 'done', await page.locator('#uploads li.upload .detail').textContent());
    assert.match(await page.locator('#status').textContent(), /too big for this browser to keep: it uploads now, but a reload would stop it/);
    const left = await page.evaluate(async () => (await (await import('/js/store.js')).entries('uploads')).length);
    assert.equal(left, 0, 'no record left behind');
    const quota = await api(server.base, 'quota');
    const node = await quota.at('big.bin');
    assert.equal(node.size, file.size);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
    await file.remove();
  }
});
