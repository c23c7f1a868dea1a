// "Available offline" without keeping every file whole: a pinned file is a small record in
// `pins` (its node and ordered chunk list) and its bytes are chunks in `chunks`, keyed by
// BLAKE3 hash, so files and versions that share chunks store them once, and re-pinning after
// an edit fetches only the chunks that changed. After every unpin and re-pin, chunks that no
// record names are dropped.
//
// A re-pin writes the new chunk list as `pending` beside the copy it replaces, before fetching
// anything: the sweep (one transaction over both stores) keeps every chunk a record names,
// pending or current, so a sweep in another tab never takes a chunk from under a fetch, and a
// failed re-pin leaves the old copy openable. Records from before chunks (`{node, blob}`) stay
// openable until they are re-pinned.
//
// What is usable, stale or swept, and how a run ends, is client-core's `pins` to decide.
import { pinState, settlePin, unnamedChunks } from '../pkg/web_client.js';
import * as store from './store.js';
import { app, newKey, say, explain } from './state.js';

const usable = (r) => pinState(r).usable;

/** The pinned copy of node `id`, if one is complete. */
export async function pinned(id) {
  const r = await store.get('pins', id);
  return usable(r) ? r : undefined;
}

export async function pinnedIds() {
  return new Set((await store.entries('pins')).filter(([, r]) => usable(r)).map(([k]) => k));
}

/** The pinned file's bytes, reassembled from its chunks (a Blob of IndexedDB-backed Blobs:
 * nothing is read into memory until it is streamed out). */
export async function contentOf(record) {
  if (!record.chunks) return record.blob;
  const read = (chunks) => Promise.all(record.chunks.map(([h]) => store.result(chunks.get(h))));
  const parts = await store.transact(['chunks'], read, { mode: 'readonly' });
  parts.forEach((p, i) => {
    if (p?.size !== record.chunks[i][1]) throw new Error(`the offline copy of ${record.node.name} is incomplete`);
  });
  return new Blob(parts, { type: 'application/octet-stream' });
}

/** Drops every chunk that no record, current or pending, names. Runs inside a transaction
 * over both stores. */
async function sweep(pins, chunks) {
  const records = await store.result(pins.getAll());
  const stored = await store.result(chunks.getAllKeys());
  for (const h of unnamedChunks(records, stored)) chunks.delete(h);
}

const inFlight = new Map();

/** Keeps node `node.id`'s current version on this device (concurrent calls share the run). */
export function pin(node) {
  const { id } = node;
  if (!inFlight.has(id)) inFlight.set(id, fetchPin(id).finally(() => inFlight.delete(id)));
  return inFlight.get(id);
}

async function fetchPin(id) {
  let next = null;
  try {
    await app.client.downloadChunks(id, (contents) => {
      next = { node: contents.node, chunks: contents.chunks.map((c) => [c.hash, c.size]), key: newKey() };
      // Named before anything is fetched; the answer is what this device already holds.
      return store.transact(['pins', 'chunks'], async (pins, chunks) => {
        const r = await store.result(pins.get(id));
        pins.put({ ...(r || {}), pending: next }, id);
        const held = await Promise.all(next.chunks.map(([h]) => store.result(chunks.getKey(h))));
        return held.filter((h) => h !== undefined);
      });
    }, (bytes, hash) => store.put('chunks', hash, new Blob([bytes]), 'relaxed'), () => {});
    // Chunks are written relaxed: the strict write that completes the record flushes them.
  } catch (e) {
    await settle(id, next, false).catch(() => {});
    throw e;
  }
  await settle(id, next, true);
}

/** Ends a pin run: the pending copy becomes current (`ok`) or is forgotten; unless the file
 * was unpinned meanwhile, or another run took over. */
async function settle(id, next, ok) {
  await store.transact(['pins', 'chunks'], async (pins, chunks) => {
    const r = await store.result(pins.get(id));
    const end = settlePin(r, next?.key, ok);
    if (end === 'promote') pins.put({ node: next.node, chunks: next.chunks }, id);
    else if (end === 'keep_old') { const { pending: _, ...current } = r; pins.put(current, id); }
    else if (end === 'forget') pins.delete(id);
    await sweep(pins, chunks);
  });
}

export async function unpin(id) {
  await store.transact(['pins', 'chunks'], async (pins, chunks) => {
    pins.delete(id);
    await sweep(pins, chunks);
  });
}

/** Keeps pinned copies current after another device changed them. */
export async function refreshPins(children) {
  if (!navigator.onLine) return;
  for (const n of children) {
    const p = await store.get('pins', n.id);
    if (pinState(p, n.version_id ?? undefined).stale) {
      try { await pin(n); } catch (e) { say(`Could not refresh the offline copy of ${n.name}: ${explain(e)}`, 'error'); }
    }
  }
}

/** Re-pins, as chunks, the files pinned whole by an older version of the app. */
export async function upgradeWholeCopies() {
  if (!navigator.onLine) return;
  for (const [id, r] of await store.entries('pins')) {
    // A failure leaves the whole copy as it was; the next start tries again.
    if (pinState(r).whole) await pin({ id }).catch(() => {});
  }
}
