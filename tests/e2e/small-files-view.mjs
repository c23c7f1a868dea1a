// Summaries for `small-files-bench.mjs`: where an upload row spends its time, the main
// thread's hottest functions, and what the server holds at the end.
import { basename } from 'node:path';

/**
 * From the upload rows sampled over the run (`{at, answered_ms, rows, hashing, …}`): the mean
 * number of rows in each working state, weighted by time, and by Little's law the seconds a
 * file spends in it (mean rows / files per second); when every row was drawn; how long the
 * page took to answer a sample.
 */
export function stateTimes(samples, filesPerSec, n) {
  // One row for the whole drop: no file's state is on the page to count.
  const group = samples.findLast((s) => s.group)?.group;
  if (group) return { grouped: true, last_group_line: group };
  const states = ['waiting', 'hashing', 'sending', 'committing'];
  const sum = Object.fromEntries(states.map((s) => [s, 0]));
  let span = 0;
  for (let i = 0; i + 1 < samples.length; i += 1) {
    const dt = samples[i + 1].at - samples[i].at;
    span += dt;
    for (const s of states) sum[s] += samples[i][s] * dt;
  }
  const mean = Object.fromEntries(states.map((s) => [s, span ? +(sum[s] / span).toFixed(2) : 0]));
  const perFile = Object.fromEntries(states.slice(1).map((s) => [s, +((mean[s] / filesPerSec) * 1000).toFixed(0)]));
  const answered = samples.map((s) => s.answered_ms);
  return {
    mean_rows: mean,
    ms_per_file: perFile,
    all_rows_drawn_s: +((samples.find((s) => s.rows >= n)?.at ?? NaN) / 1000).toFixed(1),
    final_rows: samples.at(-1)?.rows,
    page_answer_ms: { mean: Math.round(answered.reduce((a, b) => a + b, 0) / (answered.length || 1)), max: Math.round(Math.max(...answered)) },
  };
}

/** The main thread's time by function and by script, from a CDP CPU profile, in seconds and as
 * a share of `wallMs` (the run's time to its last commit). */
export function profileSummary(profile, wallMs) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFn = new Map();
  const byScript = new Map();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const f = byNode.get(profile.samples[i]).callFrame;
    const script = f.url ? basename(new URL(f.url, 'http://x/').pathname) : f.functionName;
    const fn = f.url ? `${f.functionName || '(anonymous)'} ${script}:${f.lineNumber + 1}` : f.functionName;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    byScript.set(script, (byScript.get(script) ?? 0) + us);
  }
  // Inclusive time: a sample counts for every function on its stack (once each).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byNode.get(id).callFrame;
      if (!f.url) continue;
      const fn = `${f.functionName || '(anonymous)'} ${basename(new URL(f.url, 'http://x/').pathname)}:${f.lineNumber + 1}`;
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + us);
    }
  }
  const top = (m, k) => [...m].sort((x, y) => y[1] - x[1]).slice(0, k)
    .map(([name, us]) => ({ name, s: +(us / 1e6).toFixed(1), of_wall: +(us / 1000 / wallMs).toFixed(3) }));
  return { by_script: top(byScript, 10), by_function: top(byFn, 15), inclusive: top(inclusive, 25) };
}

/** Files and folders below folder `id` (paged listings through the API), and their bytes. */
export async function treeCount(me, id) {
  const out = { files: 0, folders: 0, bytes: 0 };
  if (id === undefined) return out;
  const walk = async (folder) => {
    for (const c of (await me.list(folder)).children) {
      if (c.kind === 'folder') { out.folders += 1; await walk(c.id); } else { out.files += 1; out.bytes += c.size; }
    }
  };
  await walk(id);
  return out;
}
