// Chunks and hashes one File per message inside a Web Worker, reading it with File.stream()
// (markedly faster than slice().arrayBuffer() loops) so the UI thread never hashes. While the
// worker hashes one piece the browser reads the next, so reading and hashing overlap.
import init, { Chunker } from '../pkg/web_client.js';
import { feeder } from './chunk-feed.js';

const ready = init();

self.onmessage = async (event) => {
  const { id, file } = event.data;
  try {
    await ready;
    const chunker = new Chunker();
    const feed = feeder(chunker);
    const reader = file.stream().getReader();
    let last = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      feed.push(value);
      const now = performance.now();
      if (now - last > 100) {
        last = now;
        self.postMessage({ id, hashed: chunker.bytes });
      }
    }
    feed.flush();
    self.postMessage({ id, manifest: chunker.finish() });
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message || e) });
  }
};
