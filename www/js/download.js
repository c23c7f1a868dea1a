// Downloads that stream to disk instead of piling up as one giant Blob. The verified chunks
// from the WASM client go, in order, to a sink: the service worker's download stream (a normal
// browser download whose bytes the page feeds as they arrive), or the File System Access save
// picker, or — only where neither exists — a Blob. Folders stream as a store-only zip.
import { ZipWriter } from './zip.js';
import { app, newKey } from './state.js';

function swSink(name, size) {
  const sw = navigator.serviceWorker?.controller;
  if (!sw) return null;
  const id = newKey();
  const channel = new MessageChannel();
  const port = channel.port1;
  let credits = 0;
  let wake = null;
  let cancelled = false;
  let frame = null;
  const ready = new Promise((resolve) => {
    port.onmessage = ({ data }) => {
      if (data.type === 'ready') resolve();
      else if (data.type === 'pull') { credits += 1; wake?.(); }
      else if (data.type === 'cancel') { cancelled = true; wake?.(); }
    };
  });
  sw.postMessage({ type: 'download', id, name, size }, [channel.port2]);
  return {
    kind: 'stream',
    async start() {
      await ready;
      // A navigation (not <a download>, which bypasses service workers) that the worker answers
      // with an attachment: the browser turns it into a normal download.
      frame = Object.assign(document.createElement('iframe'), { hidden: true, src: `/__download/${id}` });
      document.body.append(frame);
    },
    async write(bytes) {
      while (credits === 0 && !cancelled) await new Promise((r) => { wake = r; });
      if (cancelled) throw new Error('The download was cancelled.');
      credits -= 1;
      const copy = bytes.slice();
      port.postMessage({ type: 'chunk', chunk: copy }, [copy.buffer]);
    },
    async close() { port.postMessage({ type: 'end' }); setTimeout(() => frame?.remove(), 1000); },
    abort() { port.postMessage({ type: 'abort' }); frame?.remove(); },
  };
}

async function pickerSink(name) {
  if (typeof window.showSaveFilePicker !== 'function') return null;
  const handle = await window.showSaveFilePicker({ suggestedName: name });
  const w = await handle.createWritable();
  return { kind: 'picker', async start() {}, write: (b) => w.write(b), close: () => w.close(), abort: () => w.abort() };
}

export function blobSink(name, type = 'application/octet-stream') {
  const parts = [];
  return {
    kind: 'blob',
    async start() {},
    async write(b) { parts.push(b.slice()); },
    async close() {
      const url = URL.createObjectURL(new Blob(parts, { type }));
      const a = Object.assign(document.createElement('a'), { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
    abort() {},
  };
}

export async function sink(name, size) {
  try {
    return swSink(name, size) || (await pickerSink(name)) || blobSink(name);
  } catch (e) {
    if (e?.name === 'AbortError') throw e; // the user closed the save dialog
    return blobSink(name);
  }
}

/** Saves a Blob we already hold (an "available offline" copy). */
export async function saveBlob(name, blob) {
  const s = await sink(name, blob.size);
  await s.start();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await s.write(value);
  }
  await s.close();
  return s.kind;
}

/** Streams one file, chunk by verified chunk, to disk. */
export async function downloadFile(node, onProgress) {
  const s = await sink(node.name, node.size);
  await s.start();
  try {
    await app.client.downloadStream(node.id, (bytes) => s.write(bytes), onProgress);
    await s.close();
  } catch (e) {
    s.abort();
    throw e;
  }
  return s.kind;
}

/** Streams a folder and everything under it as `<name>.zip`. */
export async function downloadZip(folderNode, onProgress) {
  const s = await sink(`${folderNode.name}.zip`);
  await s.start();
  const zip = new ZipWriter((b) => s.write(b));
  let files = 0;
  let bytes = 0;
  async function walk(id, prefix) {
    const l = await app.client.list(id);
    for (const n of l.children) {
      const path = `${prefix}${n.name}`;
      if (n.kind === 'folder') {
        await zip.addFolder(path, n.modified_at);
        await walk(n.id, `${path}/`);
      } else {
        await zip.addFile(path, n.modified_at, async (push) => {
          await app.client.downloadStream(n.id, async (chunk) => { bytes += chunk.length; await push(chunk); onProgress?.({ files, bytes }); }, () => {});
        }, n.size);
        files += 1;
      }
    }
  }
  try {
    await walk(folderNode.id, '');
    await zip.finish();
    await s.close();
  } catch (e) {
    s.abort();
    throw e;
  }
  return { files, bytes, kind: s.kind };
}
