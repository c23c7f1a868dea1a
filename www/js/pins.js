// "Available offline": the page starts and ends pin runs; which chunks are fetched, what a
// record holds, what is usable or stale and what a sweep drops are the WASM core's (client-core's
// `pins` decides, web-client's `idb::pins` keeps it, in the transactions that make it safe).
import { pinBegin, pinChunk, pinSettle, pinnedCopy, pinnedIds as keptIds, pinnedBlob, stalePins, unpin, wholePins } from '../pkg/web_client.js';
import { app, newKey, say, explain } from './state.js';

export { unpin };

/** The pinned copy of node `id`, if one is complete. */
export const pinned = (id) => pinnedCopy(id);

/** The ids of the files with a complete copy on this device. */
export async function pinnedIds() { return new Set(await keptIds()); }

/** The pinned file's bytes, reassembled from its chunks. */
export const contentOf = (record) => pinnedBlob(record);

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
      return pinBegin(id, next);
    }, (bytes, hash) => pinChunk(hash, bytes), () => {});
  } catch (e) {
    await pinSettle(id, next, false).catch(() => {});
    throw e;
  }
  await pinSettle(id, next, true);
}

/** Keeps pinned copies current after another device changed them. */
export async function refreshPins(children) {
  if (!navigator.onLine) return;
  for (const n of await stalePins(children)) {
    try { await pin(n); } catch (e) { say(`Could not refresh the offline copy of ${n.name}: ${explain(e)}`, 'error'); }
  }
}

/** Drops the offline copies of files the user may no longer read: after a shared folder left
 * them (they left, were removed, or it stopped being shared) every kept file is asked for once,
 * and one the server no longer shows them (404) goes. Answers how many went. */
export async function dropUnreachable() {
  if (!navigator.onLine) return 0;
  let dropped = 0;
  for (const id of await keptIds()) {
    try {
      await app.client.versions(id);
    } catch (e) {
      if (e.status !== 404) continue; // offline or failing: kept, asked again next time
      await unpin(id);
      dropped += 1;
    }
  }
  return dropped;
}

/** Re-pins, as chunks, the files pinned whole by an older version of the app. */
export async function upgradeWholeCopies() {
  if (!navigator.onLine) return;
  // A failure leaves the whole copy as it was; the next start tries again.
  for (const id of await wholePins()) await pin({ id }).catch(() => {});
}
