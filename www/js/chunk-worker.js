// Chunks and hashes one File per message inside a Web Worker, reading it with File.stream()
// (markedly faster than slice().arrayBuffer() loops) so the UI thread never hashes. While the
// worker hashes one piece the browser reads the next ones (several reads kept in flight), so
// reading and hashing overlap.
import init, { Chunker } from '../pkg/web_client.js';
import { feeder, pieces } from './chunk-feed.js';

const ready = init();
/** The file's first bytes, sent back with the manifest for the page's type sniffing
 * (`sniffType`), which would otherwise slice and read the file again on the main thread. */
const HEAD = 4096;

self.onmessage = async (event) => {
  const { id, file } = event.data;
  let chunker = null;
  try {
    await ready;
    chunker = new Chunker();
    const feed = feeder(chunker);
    let last = 0;
    let head = new Uint8Array(0);
    for await (const value of pieces(file)) {
      if (head.length < HEAD) {
        const more = value.subarray(0, HEAD - head.length);
        const joined = new Uint8Array(head.length + more.length);
        joined.set(head);
        joined.set(more, head.length);
        head = joined;
      }
      feed.push(value);
      const now = performance.now();
      if (now - last > 100) {
        last = now;
        self.postMessage({ id, hashed: chunker.bytes });
      }
    }
    feed.flush();
    const manifest = chunker.finish();
    chunker = null;
    self.postMessage({ id, manifest, head });
  } catch (e) {
    // A file that cannot be read (moved, deleted) must not keep its 1 MiB input buffer.
    chunker?.free();
    self.postMessage({ id, error: String(e && e.message || e) });
  }
};
