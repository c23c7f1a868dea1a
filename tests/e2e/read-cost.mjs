// The CPU cost of reading a File in Chromium, the third part of `cargo xtask bench-chunker`:
// how many CPU milliseconds (user + system, summed over every Chromium process, from /proc) a
// MB of a file on disk costs to drain with File.stream(), to hash in memory, and to read and
// hash as the app does. Drain and hashing cost add up in the pipeline, so on `cores` cores no
// pipeline can beat cores / (drain cost + hash cost): that bound is printed beside the drain.
// Linux only (it reads /proc). Prints one JSON line on stdout, progress on stderr.
//
//   CAIRN_BIN=target/debug/cairn node e2e/read-cost.mjs [--file-mib 256] [--rounds 3]
import { readFile, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { numberArg, withBenchPage } from './harness.mjs';

const fileMib = numberArg('--file-mib', 256);
const rounds = numberArg('--rounds', 3);
const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** CPU time in ms used so far by every Chromium process alive now. */
async function chromiumCpuMs() {
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('chromium')) continue;
      // Fields 14 and 15 (utime, stime) of /proc/pid/stat, counted after the command name.
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * TICK_MS;
}

await withBenchPage(fileMib, async (page) => {
  await page.evaluate(async (bytes) => {
    window.pool = await import('/js/chunk-pool.js');
    const worker = new Worker('/js/bench-worker.js', { type: 'module' });
    window.call = (msg) => new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data.ok));
      worker.postMessage(msg);
    });
    window.file = document.querySelector('#bench-file').files[0];
    await window.call({ op: 'prepare', seed: 42, bytes });
  }, fileMib * 1024 * 1024);
  const runs = {
    drain: 'call({ op: "drain", file })',
    hash_in_memory: 'call({ op: "chunkHash" })',
    pipeline: 'pool.chunkFile(file)',
    one_worker: 'pool.chunkInOneWorker(file)',
  };
  const mb = (fileMib * 1024 * 1024) / 1e6;
  const best = {};
  for (let r = 0; r < rounds; r += 1) {
    for (const [name, expr] of Object.entries(runs)) {
      const cpu0 = await chromiumCpuMs();
      const ms = await page.evaluate(async (e) => {
        const start = performance.now();
        await (0, eval)(e);
        return performance.now() - start;
      }, expr);
      const cpu = (await chromiumCpuMs()) - cpu0;
      const run = { mbps: Math.round(mb / (ms / 1000)), cpu_ms_per_mb: +(cpu / mb).toFixed(2), cores_busy: +(cpu / ms).toFixed(2) };
      process.stderr.write(`read cost: round ${r + 1} ${name}: ${JSON.stringify(run)}\n`);
      // Keep the cheapest run of each: the cost with the least noise from the rest of the machine.
      if (!best[name] || run.cpu_ms_per_mb < best[name].cpu_ms_per_mb) best[name] = run;
    }
  }
  await page.evaluate(() => window.call({ op: 'free' }));
  const cores = availableParallelism();
  const bound = Math.round((cores * 1000) / (best.drain.cpu_ms_per_mb + best.hash_in_memory.cpu_ms_per_mb));
  console.log(JSON.stringify({ file_mib: fileMib, cores, ...best, pipeline_bound_mbps: bound }));
});
