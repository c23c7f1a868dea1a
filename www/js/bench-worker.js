// One worker of the chunker bench page (www/bench.html): times the WASM chunker on input held
// in WASM memory, and drains File streams with no work at all (the reader's own speed).
// The namespace import lets the page load a bundle built without the bench hooks (the one
// `cargo xtask run` serves) and say so, instead of failing to link.
import init, * as wasm from '../pkg/web_client.js';
import { pieces } from './chunk-feed.js';

const ready = init();
let data = null;

/** Reads `file` with the same read-ahead as the chunking workers, and does nothing else. */
async function drain(file) {
  let bytes = 0;
  for await (const value of pieces(file)) bytes += value.length;
  return bytes;
}

self.onmessage = async ({ data: msg }) => {
  try {
    await ready;
    let reply;
    switch (msg.op) {
      case 'prepare':
        if (data) data.free();
        if (!wasm.BenchData) throw new Error('this bundle has no bench hooks: run cargo xtask bench-chunker');
        data = new wasm.BenchData(msg.seed, msg.bytes);
        reply = { bytes: data.size };
        break;
      case 'chunkHash':
      case 'cutPoints':
      case 'blake3': {
        const start = performance.now();
        const result = data[msg.op]();
        reply = { ms: performance.now() - start, result };
        break;
      }
      case 'drain':
        reply = { bytes: await drain(msg.file) };
        break;
      case 'free':
        if (data) data.free();
        data = null;
        reply = {};
        break;
      default:
        throw new Error(`unknown op ${msg.op}`);
    }
    self.postMessage({ ok: reply });
  } catch (e) {
    self.postMessage({ error: String(e && e.message || e) });
  }
};
