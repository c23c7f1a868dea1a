// A small pool of chunking workers: several files hash in parallel, one per worker.
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

/** Chunks and hashes `file` off the main thread; resolves to the manifest JSON string. */
export async function chunkFile(file, onHashed) {
  const w = await worker();
  const id = nextId++;
  try {
    return await new Promise((resolve, reject) => {
      w.onmessage = ({ data }) => {
        if (data.id !== id) return;
        if (data.error) reject(new Error(data.error));
        else if (data.manifest) resolve(data.manifest);
        else if (onHashed) onHashed(data.hashed);
      };
      w.onerror = (e) => reject(new Error(e.message || 'the chunking worker failed'));
      w.postMessage({ id, file });
    });
  } finally {
    release(w);
  }
}
