// A small pool of chunking workers: several files hash in parallel, one per worker, and a
// large file is cut in pieces that hash in parallel too, stitched (in WASM) into exactly the
// chunks of hashing it whole — so one big file is not held to one core.
import init, { splitRanges, stitchPieces } from '../pkg/web_client.js';

export const POOL_SIZE = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
const SIZE = POOL_SIZE;
const idle = [];
const waiting = [];
let created = 0;
let nextId = 1;

function worker() {
  if (idle.length) return Promise.resolve(idle.pop());
  if (created < SIZE) {
    created += 1;
    return Promise.resolve(new Worker(new URL('./chunk-worker.js', import.meta.url), { type: 'module' }));
  }
  return new Promise((resolve) => waiting.push(resolve));
}

function release(w) {
  const next = waiting.shift();
  if (next) next(w); else idle.push(w);
}

/** Files at least this large are split over the workers. */
export const SPLIT_MIN = 64 * 1024 * 1024;

/** How often a file was split, and how often its pieces could not be joined (then it was
 * hashed whole); for tests and diagnostics. */
export const splitStats = { split: 0, fellBack: 0 };

/** Chunks and hashes `file` off the main thread; resolves to the manifest JSON string.
 * `onHead(bytes)`, if given, gets the file's first 4 KiB (or all of a smaller file). */
export async function chunkFile(file, onHashed, onHead) {
  if (SIZE > 1 && file.size >= SPLIT_MIN) {
    splitStats.split += 1;
    const manifest = await chunkSplit(file, onHashed, onHead);
    if (manifest) return manifest;
    splitStats.fellBack += 1;
  }
  return chunkWhole(file, onHashed, onHead);
}

/** The pieces of `file`, one per worker; undefined if they found no common cut to join at
 * (a long run of identical bytes), which is rare. */
async function chunkSplit(file, onHashed, onHead) {
  await init();
  const flat = splitRanges(file.size, SIZE);
  const ranges = [];
  for (let i = 0; i < flat.length; i += 2) ranges.push([flat[i], flat[i + 1]]);
  const done = ranges.map(() => 0);
  const report = () => onHashed?.(Math.min(file.size, done.reduce((a, b) => a + b, 0)));
  const parts = await Promise.all(ranges.map(([start, end], k) => chunkWhole(file.slice(start, end), (n) => { done[k] = n; report(); }, k === 0 ? onHead : undefined)));
  const pieces = parts.map((m, k) => ({ start: ranges[k][0], end: ranges[k][1], manifest: JSON.parse(m) }));
  return stitchPieces(JSON.stringify(pieces), file.size);
}

/** One worker for the whole file, never split (benchmarks compare it with `chunkFile`). */
export function chunkInOneWorker(file, onHashed) { return chunkWhole(file, onHashed); }

async function chunkWhole(file, onHashed, onHead) {
  const w = await worker();
  const id = nextId++;
  try {
    return await new Promise((resolve, reject) => {
      w.onmessage = ({ data }) => {
        if (data.id !== id) return;
        if (data.error) reject(new Error(data.error));
        else if (data.manifest) {
          if (data.head) onHead?.(data.head);
          resolve(data.manifest);
        }
        else if (onHashed) onHashed(data.hashed);
      };
      w.onerror = (e) => reject(new Error(e.message || 'the chunking worker failed'));
      w.postMessage({ id, file });
    });
  } finally {
    release(w);
  }
}
