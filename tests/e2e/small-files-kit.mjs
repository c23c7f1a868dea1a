// Parts of `small-files-bench.mjs` that are not about the browser: the seeded tree of small
// files, the server's request counts from /metrics, and CPU time per process from /proc.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** mulberry32: a seeded 32-bit PRNG, so one seed always gives the same tree. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Folder paths of the tree, relative to its top folder (level 1): three sub-folders a
 * level down to level 5, 121 folders in all. */
export function folders() {
  const out = [[]];
  for (let level = 2; level <= 5; level += 1) {
    for (const d of out.filter((p) => p.length === level - 2)) {
      for (let k = 0; k < 3; k += 1) out.push([...d, `${'abcd'[level - 2]}${k}`]);
    }
  }
  return out;
}

/**
 * Writes `count` files of 1–50 KiB of seeded random bytes (so no two share a chunk) into
 * `top`, each in one of the tree's folders picked by the same PRNG. Answers `{files, folders,
 * bytes, direct}`, `direct` being how many entries the top folder itself holds.
 */
export async function makeTree(top, count, seed = 5) {
  const next = prng(seed);
  const dirs = folders();
  for (const d of dirs) await mkdir(join(top, ...d), { recursive: true });
  let bytes = 0;
  let direct = dirs.filter((d) => d.length === 1).length;
  const pending = [];
  for (let i = 0; i < count; i += 1) {
    const dir = dirs[next() % dirs.length];
    const size = 1024 + (next() % (49 * 1024 + 1));
    const words = new Uint32Array(Math.ceil(size / 4));
    for (let w = 0; w < words.length; w += 1) words[w] = next();
    bytes += size;
    if (dir.length === 0) direct += 1;
    pending.push(writeFile(join(top, ...dir, `f${String(i).padStart(5, '0')}.bin`), Buffer.from(words.buffer, 0, size)));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { files: count, folders: dirs.length, bytes, direct };
}

/** The server's answered requests by `METHOD route` (all statuses) and the seconds it spent
 * answering them, the versions its commits wrote, and its group-commit transactions, from
 * /metrics. */
export async function serverCounts(base, token) {
  const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  if (!r.ok) throw new Error(`/metrics: ${r.status} ${text}`);
  const out = { requests: {}, seconds: {}, failed: 0, commits: 0, transactions: 0 };
  for (const line of text.split('\n')) {
    const req = line.match(/^cairn_http_request_duration_seconds_(count|sum)\{(.*)\} ([\d.e+-]+)/);
    if (req) {
      const l = Object.fromEntries([...req[2].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const key = `${l.method} ${l.route}`;
      const into = req[1] === 'count' ? out.requests : out.seconds;
      into[key] = (into[key] ?? 0) + Number(req[3]);
      if (req[1] === 'count' && !/^[23]/.test(l.status)) out.failed += Number(req[3]);
    }
    const commits = line.match(/^cairn_commits_total (\d+)/);
    if (commits) out.commits = Number(commits[1]);
    const txns = line.match(/^cairn_commit_batch_size_count (\d+)/);
    if (txns) out.transactions = Number(txns[1]);
  }
  return out;
}

/** `after - before` of two `serverCounts`, requests that did not move left out; with each
 * route's mean time to answer, in ms. */
export function countsBetween(before, after) {
  const requests = {};
  const meanMs = {};
  for (const [k, v] of Object.entries(after.requests)) {
    const d = v - (before.requests[k] ?? 0);
    if (!d) continue;
    requests[k] = d;
    meanMs[k] = +((1000 * (after.seconds[k] - (before.seconds[k] ?? 0))) / d).toFixed(1);
  }
  return { requests, mean_ms: meanMs, failed: after.failed - before.failed, commits: after.commits - before.commits, transactions: after.transactions - before.transactions };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** What a process is, from its command line: the server, Garage, or a kind of Chromium
 * process (the renderers run the pages and their workers). */
function role(cmdline) {
  if (/chromium/.test(cmdline)) {
    const type = cmdline.match(/--type=([\w-]+)/)?.[1];
    const sub = cmdline.match(/--utility-sub-type=([\w.]+)/)?.[1] ?? '';
    if (!type) return 'chromium browser';
    if (type === 'utility') return `chromium ${sub.split('.')[0] || 'utility'}`;
    return `chromium ${type}`;
  }
  if (/\bgarage\b/.test(cmdline)) return 'garage';
  if (/\bcairn\b/.test(cmdline)) return 'cairn';
  return 'other';
}

/** CPU ms (user + system) used so far by each kind of process descended from this one
 * (Linux only: it reads /proc). */
export async function cpuByRole() {
  const procs = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      procs.push({ pid: Number(pid), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const ours = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) { ours.add(p.pid); grew = true; }
  }
  const out = {};
  for (const p of procs) {
    if (!ours.has(p.pid) || p.pid === process.pid) continue;
    let cmd = '';
    try { cmd = (await readFile(`/proc/${p.pid}/cmdline`, 'utf8')).replaceAll('\0', ' '); } catch { continue; }
    const r = role(cmd);
    out[r] = (out[r] ?? 0) + p.ticks * TICK_MS;
  }
  out.node = Math.round(process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000);
  return out;
}

/** CPU ms of the children this process has waited for (an exited rclone's). */
export async function reapedChildrenCpuMs() {
  const fields = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

/** `after - before` per role, in cores busy over `ms`. */
export function coresBusy(before, after, ms) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = +(d / ms).toFixed(2);
  }
  return out;
}
