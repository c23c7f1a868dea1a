// Feeds bytes into a WASM Chunker through its persistent input buffer: pieces are copied into
// WASM memory and chunked a buffer at a time, so nothing is allocated per piece and WASM memory
// stays flat however large the file (wasm-bindgen's `update(bytes)` allocates on every call).

/** Returns { push(Uint8Array), flush() } for `chunker`; call flush() before chunker.finish(). */
export function feeder(chunker) {
  const capacity = chunker.inputCapacity;
  let view = chunker.input();
  let filled = 0;
  const consume = () => {
    chunker.consume(filled);
    filled = 0;
  };
  return {
    push(bytes) {
      let at = 0;
      while (at < bytes.length) {
        // Growing WASM memory detaches old views; the bytes already copied stay in place.
        if (view.byteLength === 0) view = chunker.input();
        const n = Math.min(capacity - filled, bytes.length - at);
        view.set(bytes.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === capacity) consume();
      }
    },
    flush() {
      if (filled) consume();
    },
  };
}

/** How many reads of `File.stream()` are kept in flight: the browser reads the next pieces
 * while the worker hashes this one (a lone `read()` at a time leaves the reader idle then). */
export const READ_AHEAD = 8;

/** The pieces of `file` in order, read `READ_AHEAD` at a time. */
export async function* pieces(file) {
  const reader = file.stream().getReader();
  const queue = [];
  for (let i = 0; i < READ_AHEAD; i += 1) queue.push(reader.read());
  try {
    for (;;) {
      const { done, value } = await queue.shift().catch((e) => { throw unreadable(file, e); });
      if (done) return;
      queue.push(reader.read());
      yield value;
    }
  } finally {
    // Ended early (the file could not be read, or the consumer failed): the reads still
    // queued reject too, and must not surface as unhandled rejections; nor read on.
    for (const read of queue) read.catch(() => {});
    reader.cancel().catch(() => {});
  }
}

/** What a failed read tells the user: Chromium says only "network error" for a file that
 * changed or went away on disk after it was picked, which reads like a connection problem. */
function unreadable(file, cause) {
  const what = file.name ? `"${file.name}"` : 'The file';
  return new Error(`${what} could not be read: it may have been changed, moved or deleted since it was chosen`, { cause });
}
