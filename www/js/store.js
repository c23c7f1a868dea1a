// The page's durable memory (upload sessions, listings, the feed cursor, the outbox, pinned
// files) is kept by the WASM core (web-client's `idb`): these are its calls, named for the page.
//
// `putBatched` and `delBatched` gather the writes of many uploads into few transactions: a
// strict transaction costs a flush to disk, and a drop of 10,000 small files would otherwise
// pay one per file. Each caller's promise still settles only once its own write has committed
// (or failed, with every write of that transaction).
import { storeWriteMany } from '../pkg/web_client.js';

export {
  storePut as put, storeGet as get, storeDelete as del, storeEntries as entries,
  storeClear as clearAll, outboxAdd as enqueue, outboxAll as outbox, storeWriteMany as writeMany,
} from '../pkg/web_client.js';

/** How long a batch waits for company after its first write, in ms. */
const GATHER_MS = 4;

const batches = new Map();

/** The writes waiting for `store`'s next transaction, and the transaction before it. */
function batchOf(store) {
  if (!batches.has(store)) batches.set(store, { puts: new Map(), dels: new Map(), timer: 0, flushing: Promise.resolve() });
  return batches.get(store);
}

function schedule(store, b) {
  if (!b.timer) b.timer = setTimeout(() => flush(store, b), GATHER_MS);
}

/** One transaction for everything gathered; the next waits for it, so writes keep their order. */
function flush(store, b) {
  b.timer = 0;
  const puts = b.puts;
  const dels = b.dels;
  b.puts = new Map();
  b.dels = new Map();
  const waiters = [...puts.values(), ...dels.values()].flatMap((w) => w.waiters);
  // Deletes alone may be relaxed: a record left behind by a power cut only makes the next
  // start resume an upload the server already committed, which commits under its key again.
  const durability = puts.size ? 'strict' : 'relaxed';
  const pairs = [...puts].map(([key, w]) => [key, w.value]);
  b.flushing = b.flushing
    .then(() => storeWriteMany(store, pairs, [...dels.keys()], durability))
    .then(() => { for (const w of waiters) w.resolve(); }, (e) => { for (const w of waiters) w.reject(e); });
}

function wait(entry) {
  return new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
}

/** Writes `value` under `key` strictly, in one transaction with the writes issued beside it. */
export function putBatched(store, key, value) {
  const b = batchOf(store);
  // A later put of the same key replaces both a pending put and a pending delete of it.
  const before = [b.puts.get(key), b.dels.get(key)].filter(Boolean);
  b.dels.delete(key);
  const entry = { value, waiters: before.flatMap((w) => w.waiters) };
  b.puts.set(key, entry);
  schedule(store, b);
  return wait(entry);
}

/** Deletes `key`, with the other writes gathered beside it (relaxed when they are all deletes). */
export function delBatched(store, key) {
  const b = batchOf(store);
  // Deletes run after the puts of their transaction, so a pending put of `key` is undone too.
  const entry = b.dels.get(key) ?? { waiters: [] };
  b.dels.set(key, entry);
  schedule(store, b);
  return wait(entry);
}
