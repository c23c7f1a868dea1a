// The chunker bench page (www/bench.html), driven by `cargo xtask bench-chunker` through
// tests/e2e/chunker-bench.mjs: WASM chunk+hash on in-memory data in 1 and N workers, and the
// File pipeline (chunk-pool.js, as the app uses it) against a raw File.stream() drain and a
// hash-wasm BLAKE3 pipeline over the same File. Throughputs are MB/s (10^6 bytes/s), best round.
import { chunkFile, chunkInOneWorker, POOL_SIZE } from './chunk-pool.js';

const MIB = 1024 * 1024;
const log = (line) => {
  document.querySelector('#log').textContent += `${line}\n`;
  console.log(line);
};

/** A worker that answers one message at a time. */
function spawn(url, options) {
  const worker = new Worker(url, options);
  return {
    call(msg) {
      return new Promise((resolve, reject) => {
        worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data.ok));
        worker.onerror = (e) => reject(new Error(e.message || 'bench worker failed'));
        worker.postMessage(msg);
      });
    },
    terminate: () => worker.terminate(),
  };
}

const benchWorker = () => spawn(new URL('./bench-worker.js', import.meta.url), { type: 'module' });

/** A classic worker running hash-wasm's BLAKE3 over File.stream(), the usual JS choice. */
function hashWasmWorker(source) {
  const body = `${source}
self.onmessage = async ({ data: { file } }) => {
  try {
    const hasher = await self.hashwasm.createBLAKE3();
    hasher.init();
    // The same read-ahead as Cairn's workers (chunk-feed.js), so only the hashing differs.
    const reader = file.stream().getReader();
    const queue = [];
    for (let i = 0; i < 8; i += 1) queue.push(reader.read());
    for (;;) {
      const { done, value } = await queue.shift();
      if (done) break;
      queue.push(reader.read());
      hasher.update(value);
    }
    self.postMessage({ ok: { hex: hasher.digest() } });
  } catch (e) {
    self.postMessage({ error: String(e && e.message || e) });
  }
};`;
  return spawn(URL.createObjectURL(new Blob([body], { type: 'text/javascript' })));
}

/** Seconds of one async run. */
async function seconds(run) {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

/** A File of `bytes` pseudo-random bytes, made in the page the way a dropped file arrives. */
function randomFile(bytes) {
  const parts = [];
  for (let left = bytes; left > 0; left -= MIB) {
    const part = new Uint8Array(Math.min(MIB, left));
    for (let at = 0; at < part.length; at += 65536) crypto.getRandomValues(part.subarray(at, at + 65536));
    parts.push(part);
  }
  return new File(parts, 'bench.bin', { type: 'application/octet-stream' });
}

const mbps = (bytes, secs) => Math.round(bytes / secs / 1e6);

/** WASM chunk+hash (and its parts) on `bytes` held in WASM memory, 1 worker and `n` at once. */
async function inMemory(bytes, n, rounds) {
  const workers = Array.from({ length: n }, benchWorker);
  try {
    await Promise.all(workers.map((w) => w.call({ op: 'prepare', seed: 42, bytes })));
    const best = { chunkHash: Infinity, cutPoints: Infinity, blake3: Infinity, parallel: Infinity };
    // The first round also warms up every code path (memory, JIT tiers); all rounds count.
    for (let r = 0; r < rounds; r += 1) {
      for (const op of ['cutPoints', 'blake3', 'chunkHash']) {
        best[op] = Math.min(best[op], (await workers[0].call({ op })).ms / 1000);
      }
      best.parallel = Math.min(best.parallel, await seconds(() => Promise.all(workers.map((w) => w.call({ op: 'chunkHash' })))));
    }
    return {
      cut_points_mbps: mbps(bytes, best.cutPoints),
      blake3_mbps: mbps(bytes, best.blake3),
      chunk_hash_1_worker_mbps: mbps(bytes, best.chunkHash),
      chunk_hash_n_workers_mbps: mbps(n * bytes, best.parallel),
      workers: n,
    };
  } finally {
    await Promise.all(workers.map((w) => w.call({ op: 'free' })));
    workers.forEach((w) => w.terminate());
  }
}

/** The File pipelines over one File of `bytes`, interleaved by round, best of `rounds`. */
async function pipelines(file, rounds, hashWasmSource) {
  const bytes = file.size;
  const n = POOL_SIZE;
  const slices = Array.from({ length: n }, (_, i) => file.slice(Math.floor(i * bytes / n), Math.floor((i + 1) * bytes / n)));
  const drainers = Array.from({ length: n }, benchWorker);
  const hashWasm = hashWasmWorker(hashWasmSource);
  const best = { drain: Infinity, pipeline: Infinity, oneWorker: Infinity, hashWasm: Infinity, drainSplit: Infinity };
  try {
    for (let r = 0; r < rounds; r += 1) {
      best.drain = Math.min(best.drain, await seconds(() => drainers[0].call({ op: 'drain', file })));
      // As the app hashes a dropped file: split over the pool's workers and stitched.
      best.pipeline = Math.min(best.pipeline, await seconds(() => chunkFile(file)));
      best.oneWorker = Math.min(best.oneWorker, await seconds(() => chunkInOneWorker(file)));
      best.hashWasm = Math.min(best.hashWasm, await seconds(() => hashWasm.call({ file })));
      // The File's n slices read at once and nothing else: what any split can reach.
      best.drainSplit = Math.min(best.drainSplit, await seconds(() => Promise.all(slices.map((h, i) => drainers[i].call({ op: 'drain', file: h })))));
      log(`round ${r + 1}: drain ${mbps(bytes, best.drain)}, pipeline ${mbps(bytes, best.pipeline)}, one worker ${mbps(bytes, best.oneWorker)}, hash-wasm ${mbps(bytes, best.hashWasm)} MB/s`);
    }
  } finally {
    drainers.forEach((w) => w.terminate());
    hashWasm.terminate();
  }
  return {
    file_mib: bytes / MIB,
    drain_mbps: mbps(bytes, best.drain),
    pipeline_mbps: mbps(bytes, best.pipeline),
    pipeline_one_worker_mbps: mbps(bytes, best.oneWorker),
    hash_wasm_blake3_mbps: mbps(bytes, best.hashWasm),
    split_parts: n,
    drain_split_mbps: mbps(bytes, best.drainSplit),
  };
}

/** Several files at once through the pool, as a drop of many files is hashed. */
async function manyFiles(bytes, count, rounds) {
  const files = Array.from({ length: count }, () => randomFile(bytes / count));
  let one = Infinity;
  let all = Infinity;
  for (let r = 0; r < rounds; r += 1) {
    one = Math.min(one, await seconds(async () => { for (const f of files) await chunkFile(f); }));
    all = Math.min(all, await seconds(() => Promise.all(files.map((f) => chunkFile(f)))));
  }
  return { files: count, file_mib: bytes / count / MIB, one_at_a_time_mbps: mbps(bytes, one), in_parallel_mbps: mbps(bytes, all) };
}

window.cairnBench = {
  async run({ mib = 256, fileMib = 256, rounds = 3, hashWasmSource }) {
    const n = Math.max(1, navigator.hardwareConcurrency || 1);
    log(`in-memory: ${mib} MiB, ${rounds} rounds, 1 and ${n} workers`);
    const wasm = await inMemory(mib * MIB, n, rounds);
    log(JSON.stringify(wasm));
    // A file on disk when the driver chose one (as a dropped file), else one made here.
    const picked = document.querySelector('#bench-file')?.files?.[0];
    const source = picked && picked.size ? picked : randomFile(fileMib * MIB);
    log(`File pipelines: ${source.size / MIB} MiB, ${picked?.size ? 'on disk' : 'in memory'}`);
    const file = { ...(await pipelines(source, rounds, hashWasmSource)), on_disk: Boolean(picked?.size) };
    log(JSON.stringify(file));
    const many = await manyFiles(fileMib * MIB, 8, rounds);
    log(JSON.stringify(many));
    return { hardware_concurrency: n, pool_size: POOL_SIZE, wasm, file, many_files: many };
  },
};
