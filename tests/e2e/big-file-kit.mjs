// One big file through the browser, end to end, for `cargo xtask big-file` (big-file.mjs, 10 GiB)
// and the browser suite (pwa-big-file.test.mjs, a bounded size): a file of pseudo-random bytes
// made on disk (never held in Node), dropped in headless Chromium, the page reloaded while it
// is being sent, the upload resumed by the page itself from its IndexedDB record without
// re-sending what the server has, then downloaded to disk through the UI and hashed again,
// streaming. Meanwhile the WASM memory of the page and of every chunking worker, the page's
// JS heap and the renderers' RSS are sampled: a file of any size must leave all of them flat.
import { createCipheriv, createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, startServer, startGarage, register, swReady } from './harness.mjs';

const MIB = 1024 * 1024;
const BLOCK = 8 * MIB;

/**
 * `mib` MiB of AES-128-CTR keystream (deterministic, incompressible, no two chunks alike) in a
 * new temp dir, written in 8 MiB blocks and hashed (SHA-256) as written: `{path, size, sha256,
 * remove()}`.
 */
export async function makeBigFile(mib, name = 'big.bin') {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-big-file-'));
  const path = join(dir, name);
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x2a), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(BLOCK);
  const sha = createHash('sha256');
  const out = await open(path, 'w');
  try {
    for (let left = mib * MIB; left > 0; left -= BLOCK) {
      const block = cipher.update(left >= BLOCK ? zeros : zeros.subarray(0, left));
      sha.update(block);
      await out.write(block);
    }
  } finally {
    await out.close();
  }
  return { path, size: mib * MIB, sha256: sha.digest('hex'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** SHA-256 of a readable stream, as it flows. */
export async function sha256Of(stream) {
  const sha = createHash('sha256');
  let bytes = 0;
  for await (const b of stream) { sha.update(b); bytes += b.length; }
  return { sha256: sha.digest('hex'), bytes };
}

/** Every process under `root` (by parent pid, from /proc). */
function descendants(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const todo = [root];
  while (todo.length) for (const c of children.get(todo.pop()) ?? []) { out.push(c); todo.push(c); }
  return out;
}

/** The summed RSS of this process's Chromium renderers (the tab, its workers, the service
 * worker), in bytes; null where /proc cannot say. */
function rendererRss() {
  let total = 0;
  let found = 0;
  for (const pid of descendants(process.pid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      if (Number.isFinite(kb)) { total += kb * 1024; found += 1; }
    } catch { /* gone meanwhile */ }
  }
  return found ? total : null;
}

/** The bytes of every file under `dir` (the browser profile: IndexedDB keeps a stored File's
 * bytes there). */
function bytesUnder(dir) {
  let total = 0;
  let names = [];
  try { names = readdirSync(dir, { withFileTypes: true }); } catch { return 0; }
  for (const d of names) {
    const p = join(dir, d.name);
    try {
      if (d.isDirectory()) total += bytesUnder(p);
      else if (d.isFile()) total += statSync(p).size;
    } catch { /* gone meanwhile */ }
  }
  return total;
}

/**
 * Chromium with a profile on disk, as a user's: IndexedDB then keeps the upload's File on disk
 * under the profile's quota, where a private context (playwright's `newContext`) keeps it in
 * memory under a quota a 10 GiB file exceeds. Content-Security-Policy violations are page
 * errors.
 */
async function launchProfile(errors) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-big-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  return {
    dir,
    context,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const PKG = '/pkg/web_client.js';

/** Samples the page every `every` ms: WASM memory of the page and of each worker (the `hooks`
 * build's `wasmMemoryBytes`), the page's JS heap (CDP Performance metrics) and the renderers'
 * RSS. `phase` and `progress()` (0..1) label each sample. */
function sampler(page, every) {
  const samples = [];
  let cdp = null;
  let phase = 'setup';
  let progress = () => null;
  let stopped = false;
  const heap = async ({ gc = false } = {}) => {
    if (!cdp) {
      cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
    }
    if (gc) await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { used: m.JSHeapUsedSize, total: m.JSHeapTotalSize };
  };
  const once = async (extra = {}) => {
    const s = { at: Date.now(), phase, progress: await progress(), workers: [] };
    try { s.page = await page.evaluate(async (p) => (await import(p)).wasmMemoryBytes(), PKG); } catch { /* not up yet, or reloading */ }
    for (const w of page.workers()) {
      try {
        s.workers.push(await w.evaluate(async (p) => (await import(new URL(p, self.location.origin).href)).wasmMemoryBytes(), PKG));
      } catch { /* a worker that is not running the chunker (yet) */ }
    }
    try { s.heap = await heap(extra); } catch { cdp = null; }
    s.rss = rendererRss();
    samples.push(s);
    return s;
  };
  const loop = (async () => {
    while (!stopped) {
      await once();
      await new Promise((r) => setTimeout(r, every));
    }
  })();
  return {
    samples,
    set(p, prog = () => null) { phase = p; progress = prog; },
    /** One sample now, after a forced garbage collection (the checkpoints "flat" compares). */
    checkpoint: (label) => once({ gc: true }).then((s) => { s.checkpoint = label; return s; }),
    async stop() { stopped = true; await loop; await cdp?.detach().catch(() => {}); },
  };
}

const UNITS = { B: 1, KiB: 1024, MiB: MIB, GiB: 1024 * MIB, TiB: 1024 * 1024 * MIB };
/** "1.2 GiB" (the app's formatBytes) in bytes. */
const parseBytes = (s) => { const m = /([\d.]+) (B|KiB|MiB|GiB|TiB)$/.exec(s); return m ? Number(m[1]) * UNITS[m[2]] : null; };

/** min / max / last of `f` over `samples` (those where it is a number). */
export function span(samples, f) {
  const v = samples.map(f).filter((x) => Number.isFinite(x));
  if (!v.length) return null;
  return { min: Math.min(...v), max: Math.max(...v), last: v[v.length - 1], n: v.length };
}

/**
 * The whole run. `mib`: the file's size; `s3`: through a throwaway Garage instead of the local
 * chunk store; `reloadAt`: the fraction sent when the page is reloaded; `log`: progress lines.
 * Answers the figures (see the fields below); throws only when the run itself breaks — the
 * caller asserts on the figures.
 */
export async function runBigFile({ mib, s3 = false, reloadAt = 0.4, every = 2000, log = () => {}, timeout = 60 * 60_000 }) {
  const t0 = Date.now();
  const file = await makeBigFile(mib);
  log(`made ${mib} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s, sha256 ${file.sha256.slice(0, 16)}…`);
  const garage = s3 ? await startGarage() : null;
  let server;
  let browser;
  let mem;
  const errors = [];
  try {
    server = await startServer(garage?.env ?? {});
    if (garage) await garage.allowOrigin(server.base);
    browser = await launchProfile(errors);
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.base);
    await register(page, 'big');
    await swReady(page);

    // Chunk PUTs by hash: when each began, and whether it finished.
    const puts = [];
    const hashOf = (url) => /\/([0-9a-f]{64})(?:\?|$)/.exec(new URL(url).pathname + '?')?.[1];
    page.on('request', (r) => { if (r.method() === 'PUT' && hashOf(r.url())) puts.push({ hash: hashOf(r.url()), at: Date.now() }); });
    // A manifest above 8,192 chunks goes as a draft and its parts (POST /api/v1/manifests).
    let manifestParts = 0;
    page.on('request', (r) => { if (r.method() === 'PUT' && /\/api\/v1\/manifests\/[^/]+\/parts\//.test(r.url())) manifestParts += 1; });

    const name = 'big.bin';
    const row = `#uploads li.upload[data-name="${name}"]`;
    // The row's bar is hashing for its first half and sending for its second.
    const bar = () => page.evaluate((sel) => {
      const li = document.querySelector(sel);
      return li ? { state: li.dataset.state, value: li.querySelector('progress')?.value ?? 0, detail: li.querySelector('.detail')?.textContent } : null;
    }, row).catch(() => null);
    mem = sampler(page, every);
    mem.set('upload', async () => { const b = await bar(); return b ? b.value : null; });

    const began = Date.now();
    await page.setInputFiles('#file-input', file.path);
    const sentFrac = (b) => (b && b.state === 'sending' ? Math.max(0, (b.value - 0.5) * 2) : 0);
    let hashedAt = null;
    let at25 = null;
    for (;;) {
      const b = await bar();
      if (!hashedAt && b && b.state !== 'hashing' && b.state !== 'waiting') hashedAt = Date.now();
      if (!at25 && sentFrac(b) >= 0.25 && sentFrac(b) < reloadAt) at25 = await mem.checkpoint('upload 25%');
      if (sentFrac(b) >= reloadAt) break;
      if (b?.state === 'done' || b?.state === 'failed') throw new Error(`the upload ended (${b.state}: ${b.detail}) before ${reloadAt * 100}% was sent`);
      if (Date.now() - began > timeout) throw new Error(`the upload did not reach ${reloadAt * 100}% in time (${b?.detail})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The manifest the page stored for a reload: every chunk's size by hash.
    const manifest = JSON.parse(await page.evaluate(async () => {
      const [[, r]] = await (await import('/js/store.js')).entries('uploads');
      return r.manifest;
    }));
    const sizeOf = new Map(manifest.chunks.map((c) => [c.hash, c.size]));
    const beforeReload = await bar();
    const profileAtReload = bytesUnder(browser.dir);
    const reloadedAt = Date.now();
    log(`reloading at ${beforeReload.detail}`);
    await page.reload();
    await page.waitForSelector('#files-view:not([hidden])', { timeout: 60_000 });
    await page.waitForSelector(row, { timeout: 60_000 });
    const resumedRow = await bar();
    const done = await page.waitForFunction((sel) => {
      const s = document.querySelector(sel)?.dataset.state;
      return s === 'done' || s === 'failed' ? s : null;
    }, row, { timeout, polling: 250 }).then((h) => h.jsonValue());
    const uploaded = Date.now();
    const detail = (await bar())?.detail;
    if (done !== 'done') throw new Error(`the upload failed after the reload: ${detail}`);
    const atDone = await mem.checkpoint('upload 100%');
    const profileAtDone = bytesUnder(browser.dir);
    const putAfter = puts.filter((p) => p.at >= reloadedAt);
    const resent = putAfter.reduce((a, p) => a + (sizeOf.get(p.hash) ?? 0), 0);
    const putBefore = puts.filter((p) => p.at < reloadedAt);
    const distinctAfter = new Set(putAfter.map((p) => p.hash));
    const sentTwice = putBefore.filter((p) => distinctAfter.has(p.hash)).length;
    log(`uploaded in ${((uploaded - began) / 1000).toFixed(1)} s; ${putAfter.length} PUTs after the reload (${(resent / MIB).toFixed(0)} MiB)`);

    // Down again through the UI: the file's Download button, the browser's own download.
    await page.waitForSelector(`#files tr[data-name="${name}"]`, { timeout: 60_000 });
    const status = () => page.evaluate(() => document.querySelector('#status')?.textContent ?? '').catch(() => '');
    mem.set('download', async () => {
      const m = /Downloading .*: ([\d.]+ \w+) of ([\d.]+ \w+)/.exec(await status());
      return m ? parseBytes(m[1]) / parseBytes(m[2]) : null;
    });
    const downStart = Date.now();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      page.locator(`#files tr[data-name="${name}"] button.download`).click(),
    ]);
    // The download's 25% point, from the page's status line, while the browser writes it.
    let down25 = null;
    const watch = (async () => {
      while (!down25) {
        const m = /Downloading .*: ([\d.]+ \w+) of ([\d.]+ \w+)/.exec(await status());
        if (m && parseBytes(m[1]) / parseBytes(m[2]) >= 0.25) down25 = await mem.checkpoint('download 25%');
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const failure = await download.failure();
    const downloaded = Date.now();
    down25 ??= 'missed';
    await watch;
    if (failure) throw new Error(`the download failed: ${failure}`);
    await page.waitForFunction(() => document.body.dataset.lastDownload, null, { timeout: 60_000 });
    const how = await page.evaluate(() => document.body.dataset.lastDownload);
    const downDone = await mem.checkpoint('download 100%');
    mem.set('verify');
    const got = await sha256Of(await download.createReadStream());
    await download.delete();
    await mem.stop();
    const secs = (a, b) => (b - a) / 1000;
    return {
      mib,
      size: file.size,
      store: s3 ? 'garage' : 'local',
      chunks: manifest.chunks.length,
      hashSecs: hashedAt ? secs(began, hashedAt) : null,
      uploadSecs: secs(began, uploaded),
      reloadedAtSent: sentFrac(beforeReload),
      reloadDetail: beforeReload.detail,
      resumedState: resumedRow?.state,
      profileAtReload,
      profileAtDone,
      doneDetail: detail,
      manifestParts,
      putsBefore: putBefore.length,
      putsAfter: putAfter.length,
      resentBytes: resent,
      sentTwice,
      downloadSecs: secs(downStart, downloaded),
      downloadedBy: how,
      sha256: file.sha256,
      downloadedSha256: got.sha256,
      downloadedBytes: got.bytes,
      verified: got.sha256 === file.sha256 && got.bytes === file.size,
      checkpoints: { upload25: at25, upload100: atDone, download25: down25 === 'missed' ? null : down25, download100: downDone },
      samples: mem.samples,
      errors,
    };
  } finally {
    await mem?.stop().catch(() => {});
    await browser?.close().catch((e) => errors.push(String(e)));
    await server?.stop();
    await garage?.stop();
    await file.remove();
  }
}

/** The memory figures of a run, per phase: WASM (page, workers), JS heap, renderer RSS. */
export function memory(r) {
  const of = (phase) => r.samples.filter((s) => s.phase === phase);
  const out = {};
  for (const phase of ['upload', 'download']) {
    const s = of(phase);
    out[phase] = {
      pageWasm: span(s, (x) => x.page),
      workerWasm: span(s, (x) => (x.workers.length ? Math.max(...x.workers) : NaN)),
      workers: Math.max(0, ...s.map((x) => x.workers.length)),
      heapUsed: span(s, (x) => x.heap?.used),
      heapTotal: span(s, (x) => x.heap?.total),
      rss: span(s, (x) => x.rss),
    };
  }
  return out;
}

/** The samples of `phase` at about every tenth of its progress: `[{progress, heap, rss,
 * page, workers}]`, to see whether anything grows with the bytes moved. */
export function series(r, phase) {
  const out = [];
  let next = 0;
  for (const s of r.samples.filter((x) => x.phase === phase && Number.isFinite(x.progress))) {
    if (s.progress + 1e-9 < next) continue;
    out.push({ progress: s.progress, heap: s.heap?.used, rss: s.rss, page: s.page, workers: s.workers });
    next = Math.floor(s.progress * 10 + 1) / 10;
  }
  return out;
}

/** Bytes as MiB with one decimal. */
export const mibs = (n) => (n == null ? '–' : `${(n / MIB).toFixed(1)} MiB`);
