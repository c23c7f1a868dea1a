// `cargo xtask bench-small-files [--files N] [--rounds R] [--profile]`: a folder of N small
// files (1–50 KiB, seeded, nested 5 levels) dropped on the app in headless Chromium and
// uploaded through Cairn to Garage while a second device of the account watches, against
// `rclone copy` of the same tree to the same Garage with rclone's defaults; R pairs, Cairn
// then rclone, each pair on a fresh Garage. Cairn's time runs from the drop to the server's
// last commit (its /metrics); how many requests of each kind the server answered comes from
// there too. Where the page's time goes: its upload rows' states sampled each second (mean
// rows in a state / files per second = seconds per file in it, Little's law), CPU per process
// from /proc, the main thread's busy time (CDP Performance), its requests as it timed them
// (Resource Timing), IndexedDB write transactions and how long the strict ones took, and
// with --profile the main thread's hottest functions (CDP Profiler).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startGarage, launchBrowser, register, signIn, dropPaths, api, numberArg } from './harness.mjs';
import { makeTree, serverCounts, countsBetween, cpuByRole, reapedChildrenCpuMs, coresBusy } from './small-files-kit.mjs';
import { profileSummary, stateTimes, treeCount } from './small-files-view.mjs';
import { floorRun } from './small-files-floor.mjs';

const N = numberArg('--files', Number(process.env.BENCH_FILES || 10_000));
const ROUNDS = numberArg('--rounds', Number(process.env.BENCH_ROUNDS || 2));
const PROFILE = process.argv.includes('--profile');
const RCLONE = process.env.RCLONE_BIN || 'rclone';
const TOP = 'small-files';
const STALL = 120_000; // ms without a commit: only a stall ends a run, however slow
const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The page's upload rows by state, and how long the page took to answer. A drop of more
 * than 20 files shows as one group row (its files' rows are not in the document), so its
 * detail line is all there is to sample then. */
const ROWS = () => {
  const n = (sel) => document.querySelectorAll(`#uploads li.upload${sel}`).length;
  const group = document.querySelector('#uploads li.group .detail')?.textContent;
  return {
    rows: n(''), waiting: n(':not([data-state])'), hashing: n('.hashing'), sending: n('.sending'),
    committing: n('.committing'), done: n('.done'), failed: n('.failed'), paused: n('.paused'),
    ...(group ? { group } : {}),
  };
};

/** Before the app loads: counts IndexedDB write transactions by store and times the strict
 * ones (created to `complete`: the disk flush they wait for), and keeps every resource
 * timing entry (the default buffer holds 250). */
const INSTRUMENT = () => {
  performance.setResourceTimingBufferSize(1_000_000);
  const tx = IDBDatabase.prototype.transaction;
  const idb = { readonly: 0, readwrite: 0, strict: 0, strict_ms: 0, stores: {} };
  window.benchIdb = idb;
  IDBDatabase.prototype.transaction = function counted(stores, mode, options) {
    const t = tx.call(this, stores, mode, options);
    if (mode !== 'readwrite') { idb.readonly += 1; return t; }
    idb.readwrite += 1;
    const key = [].concat(stores).join('+');
    idb.stores[key] = (idb.stores[key] ?? 0) + 1;
    if (options?.durability === 'strict') {
      idb.strict += 1;
      const began = performance.now();
      t.addEventListener('complete', () => { idb.strict_ms += performance.now() - began; });
    }
    return t;
  };
};

/** The page's own view of its requests since `from` (page clock): count and mean ms by kind. */
const REQUESTS = (from) => {
  const kinds = [['PUT chunk to Garage', /\/staging\//], ['POST uploads', /\/api\/v1\/uploads$/], ['POST commits', /\/api\/v1\/commits$/],
    ['GET changes', /\/api\/v1\/changes/], ['GET children', /\/children/], ['POST folders', /\/api\/v1\/folders$/]];
  const out = {};
  for (const e of performance.getEntriesByType('resource')) {
    if (e.startTime < from) continue;
    const kind = kinds.find(([, re]) => re.test(new URL(e.name).pathname))?.[0] ?? 'other';
    out[kind] ??= { n: 0, ms: 0 };
    out[kind].n += 1;
    out[kind].ms += e.duration;
  }
  for (const v of Object.values(out)) v.ms = Math.round(v.ms / v.n);
  return out;
};

async function device(browser, base, create) {
  const context = await browser.newContext(process.env.BENCH_SW === 'block' ? { serviceWorkers: 'block' } : {});
  if (create) await context.addInitScript(INSTRUMENT);
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`page error (${create ? 'A' : 'B'}): ${e}`));
  await page.goto(base);
  await (create ? register(page, 'bench') : signIn(page, 'bench'));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const perf = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  return { context, page, cdp, perf };
}

function mainThread(before, after) {
  const d = (k) => after[k] - before[k];
  return { busy_s: +d('TaskDuration').toFixed(1), script_s: +d('ScriptDuration').toFixed(1), layout_s: +d('LayoutDuration').toFixed(1),
    style_s: +d('RecalcStyleDuration').toFixed(1), layouts: d('LayoutCount'), style_recalcs: d('RecalcStyleCount'), dom_nodes: after.Nodes };
}

/** Cairn's half of a round: drop, wait for the last commit, gather what the run cost. */
async function cairnRun(garage, top, tree) {
  const token = randomBytes(16).toString('hex');
  const server = await startServer({ ...garage.env, CAIRN_METRICS_TOKEN: token });
  await garage.allowOrigin(server.base);
  const browser = await launchBrowser();
  try {
    const a = await device(browser, server.base, true);
    const b = await device(browser, server.base, false);
    await b.page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
    if (PROFILE) {
      await a.cdp.send('Profiler.enable');
      await a.cdp.send('Profiler.setSamplingInterval', { interval: 2000 });
      await a.cdp.send('Profiler.start');
    }
    const [c0, cpu0, pa0, pb0] = [await serverCounts(server.base, token), await cpuByRole(), await a.perf(), await b.perf()];
    const t0 = performance.now();
    const since = () => performance.now() - t0;
    const pageT0 = await a.page.evaluate(() => performance.now());
    // The second device sees the top folder come, opens it and sees its entries arrive, with
    // no reload. No time limit here: the race after the last commit below bounds it.
    const live = (async () => {
      await b.page.waitForSelector(`#files tr[data-name="${TOP}"]`, { timeout: 0 });
      const appeared = since();
      await b.page.click(`#files tr[data-name="${TOP}"] button.open`);
      await b.page.waitForFunction((n) => document.querySelectorAll('#files tr[data-name]').length >= n, tree.direct, { timeout: 0, polling: 500 });
      return { appeared_s: +(appeared / 1000).toFixed(1), complete_s: +(since() / 1000).toFixed(1) };
    })().catch((e) => ({ error: String(e).split('\n')[0] }));
    // BENCH_TRACE=file: a Chromium trace of the run (every process), for chasing the main
    // thread's native time that a CPU profile shows only as "(program)".
    if (process.env.BENCH_TRACE) {
      await browser.startTracing(a.page, { path: process.env.BENCH_TRACE,
        categories: ['toplevel', 'blink', 'loading', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'IndexedDB', 'Blob', 'ServiceWorker', 'mojom', 'navigation'] });
    }
    await dropPaths(a.page, '#dropzone', [top]);

    const samples = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const asked = since();
        const s = await a.page.evaluate(ROWS).catch(() => null); // the page closed: a failed run
        if (!s) return;
        samples.push({ at: since(), answered_ms: since() - asked, ...s });
        await sleep(1000);
      }
    })();
    let done = 0;
    let first = null;
    let moved = 0;
    let told = 0;
    for (;;) {
      const c = await serverCounts(server.base, token).catch((e) => {
        throw new Error(`the Cairn server stopped answering (${e.cause?.code ?? e}) at ${done} of ${N} committed`);
      });
      const now = c.commits - c0.commits;
      if (now > done) { done = now; moved = since(); first ??= since(); }
      if (done >= N) break;
      if (since() - moved > STALL) throw new Error(`no commit for ${STALL / 1000} s at ${done} of ${N}; rows: ${JSON.stringify(samples.at(-1))}`);
      if (since() - told > 10_000) { told = since(); log(`  cairn: ${done} of ${N} committed at ${(told / 1000).toFixed(0)} s; rows ${JSON.stringify(samples.at(-1) ?? {})}`); }
      await sleep(250);
    }
    const committed = since();
    if (process.env.BENCH_TRACE) await browser.stopTracing();
    const [c1, cpu1, pa1] = [await serverCounts(server.base, token), await cpuByRole(), await a.perf()];
    await a.page.waitForFunction((n) => document.querySelector('#overall-text')?.textContent.startsWith(`${n} of ${n} uploaded`), N, { timeout: STALL, polling: 250 });
    const pageDone = since();
    sampling = false;
    await sampler;
    const profile = PROFILE ? profileSummary((await a.cdp.send('Profiler.stop')).profile, committed) : undefined;
    const seen = await Promise.race([live, sleep(60_000).then(() => ({ error: 'the second device had not caught up 60 s after the last commit' }))]);
    const pb1 = await b.perf();
    const idb = await a.page.evaluate(() => window.benchIdb);
    idb.strict_ms = Math.round(idb.strict_ms / (idb.strict || 1));
    const seenByPage = await a.page.evaluate(REQUESTS, pageT0);
    const me = await api(server.base, 'bench');
    const stored = await treeCount(me, (await me.at(TOP))?.id);
    const secs = committed / 1000;
    return {
      files_per_s: +(N / secs).toFixed(1), secs: +secs.toFixed(1), first_commit_s: +(first / 1000).toFixed(2),
      page_done_s: +(pageDone / 1000).toFixed(1), stored, server: countsBetween(c0, c1), cores_busy: coresBusy(cpu0, cpu1, committed),
      main_thread_a: mainThread(pa0, pa1), main_thread_b: mainThread(pb0, pb1), idb, page_requests: seenByPage, live: seen,
      rows: stateTimes(samples, N / secs, N), profile,
    };
  } finally {
    await browser.close().catch((e) => log(`browser close: ${e}`));
    await server.stop();
  }
}

/** rclone's half: `rclone copy` with its defaults into a prefix of the same bucket. */
async function rcloneRun(garage, top, prefix) {
  const scratch = await mkdtemp(join(tmpdir(), 'cairn-rclone-'));
  try {
    const conf = join(scratch, 'rclone.conf');
    await writeFile(conf, '');
    const env = { ...process.env, RCLONE_CONFIG: conf, RCLONE_CONFIG_BENCH_TYPE: 's3', RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: garage.accessKey, RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: garage.secretKey,
      RCLONE_CONFIG_BENCH_ENDPOINT: garage.endpoint, RCLONE_CONFIG_BENCH_REGION: garage.region, NO_PROXY: '*', no_proxy: '*' };
    // No proxy, and none of the machine's AWS_* settings (a CA bundle there breaks rclone's
    // plain-HTTP client): the remote above is all it uses.
    for (const k of Object.keys(env)) if (/^(AWS_|(HTTPS?|ALL)_PROXY$)/i.test(k)) delete env[k];
    const dest = `bench:${garage.bucket}/${prefix}/${TOP}`;
    const [cpu0, own0] = [await cpuByRole(), await reapedChildrenCpuMs()];
    const t0 = performance.now();
    await run(RCLONE, ['copy', top, dest], env);
    const ms = performance.now() - t0;
    const [cpu1, own1] = [await cpuByRole(), await reapedChildrenCpuMs()];
    const size = JSON.parse(await run(RCLONE, ['size', '--json', dest], env));
    if (size.count !== N) throw new Error(`rclone copied ${size.count} of ${N} files`);
    return { files_per_s: +(N / (ms / 1000)).toFixed(1), secs: +(ms / 1000).toFixed(1), stored: size.count,
      cores_busy: { rclone: +((own1 - own0) / ms).toFixed(2), ...coresBusy(cpu0, cpu1, ms) } };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function run(bin, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args[0]} exited with ${code}: ${err}`))));
  });
}

const scratch = await mkdtemp(join(tmpdir(), 'cairn-small-files-'));
const top = join(scratch, TOP);
const pairs = [];
try {
  const made = performance.now();
  const tree = await makeTree(top, N);
  log(`tree: ${N} files, ${tree.folders} folders, ${(tree.bytes / 1e6).toFixed(1)} MB, in ${((performance.now() - made) / 1000).toFixed(1)} s`);
  for (let r = 1; r <= ROUNDS; r += 1) {
    const garage = await startGarage();
    try {
      log(`round ${r}: Cairn`);
      const cairn = await cairnRun(garage, top, tree);
      log(`  cairn: ${JSON.stringify(cairn)}`);
      log(`round ${r}: rclone`);
      const rclone = await rcloneRun(garage, top, `rclone-${r}`);
      log(`  rclone: ${JSON.stringify(rclone)}`);
      log(`round ${r}: the browser's floor (PUTs of the bare files to a sink)`);
      const floor = await floorRun(top);
      log(`  floor: ${JSON.stringify(floor)}`);
      pairs.push({ round: r, cairn, rclone, floor, ratio: +(cairn.files_per_s / rclone.files_per_s).toFixed(3),
        of_floor: +(cairn.files_per_s / floor.files_per_s).toFixed(3) });
    } finally {
      await garage.stop();
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

console.log(`\n${N} files of 1–50 KiB in ${TOP}/ (5 levels), single-node Garage on loopback, headless Chromium${PROFILE ? ' (profiled)' : ''}`);
console.log('| round | Cairn files/s (s) | rclone files/s (s) | browser floor files/s (s) | Cairn / rclone | Cairn / floor | commit requests | second device live |\n|---|---|---|---|---|---|---|---|');
for (const p of pairs) {
  const req = p.cairn.server.requests;
  const commits = (req['POST /api/v1/commits'] ?? 0) + (req['POST /api/v1/batch/commits'] ?? 0);
  const live = p.cairn.live.error ? `no: ${p.cairn.live.error}` : `yes: folder at ${p.cairn.live.appeared_s} s, all of it at ${p.cairn.live.complete_s} s`;
  console.log(`| ${p.round} | ${p.cairn.files_per_s} (${p.cairn.secs}) | ${p.rclone.files_per_s} (${p.rclone.secs}) | ${p.floor.files_per_s} (${p.floor.secs}) | ${p.ratio} | ${p.of_floor} | ${commits} | ${live} |`);
}
for (const p of pairs) console.log(JSON.stringify({ files: N, ...p }));
