// The page's durable memory in IndexedDB: upload sessions (with their File, so a reload resumes
// without a re-pick), the last known listing of every folder seen, the change-feed cursor, the
// outbox of offline operations and the files kept "available offline" (`pins`, one record per
// file, and `chunks`, their bytes once per hash). Everything whose loss would lose a user's
// change is written with `durability: 'strict'` (Chromium defaults to relaxed, which may drop
// the last writes on a power cut).
const DB_NAME = 'cairn';
const VERSION = 2;
const STORES = ['uploads', 'listings', 'meta', 'outbox', 'pins', 'chunks'];

let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = (ev) => {
        const db = req.result;
        // Version 1 kept each pinned file whole, `{node, blob}` in `offline`. Renamed, those
        // records stay openable until pins.js re-pins them as chunks.
        if (ev.oldVersion < 2 && db.objectStoreNames.contains('offline')) req.transaction.objectStore('offline').name = 'pins';
        for (const s of STORES) {
          if (!db.objectStoreNames.contains(s)) {
            db.createObjectStore(s, s === 'outbox' ? { keyPath: 'seq', autoIncrement: true } : undefined);
          }
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        // A newer version of the app in another tab wants to upgrade: let it; reopen later.
        db.onversionchange = () => { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });
}

export function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Writes `value` under `key` in `store`; strict unless told otherwise. */
export async function put(store, key, value, durability = 'strict') {
  const db = await open();
  const tx = db.transaction(store, 'readwrite', { durability });
  if (key === undefined) tx.objectStore(store).put(value); else tx.objectStore(store).put(value, key);
  await done(tx);
}

export async function get(store, key) {
  const db = await open();
  return result(db.transaction(store).objectStore(store).get(key));
}

export async function del(store, key) {
  const db = await open();
  const tx = db.transaction(store, 'readwrite', { durability: 'strict' });
  tx.objectStore(store).delete(key);
  await done(tx);
}

/** Every [key, value] of `store`, in key order. */
export async function entries(store) {
  const db = await open();
  const os = db.transaction(store).objectStore(store);
  const [keys, values] = await Promise.all([result(os.getAllKeys()), result(os.getAll())]);
  return keys.map((k, i) => [k, values[i]]);
}

/** Runs `fn(...objectStores)` in one transaction over `stores` and resolves once it has
 * committed. `fn` may await `result(request)`s of that transaction, but nothing else. */
export async function transact(stores, fn, { mode = 'readwrite', durability = 'strict' } = {}) {
  const db = await open();
  const tx = db.transaction(stores, mode, { durability });
  const committed = done(tx);
  let value;
  try {
    value = await fn(...stores.map((s) => tx.objectStore(s)));
  } catch (e) {
    try { tx.abort(); } catch { /* already finished */ }
    await committed.catch(() => {});
    throw e;
  }
  await committed;
  return value;
}

export async function clearAll() {
  const db = await open();
  const tx = db.transaction(STORES, 'readwrite', { durability: 'strict' });
  for (const s of STORES) tx.objectStore(s).clear();
  await done(tx);
}

// The outbox: appended in order, replayed in order, removed one by one once the server has it.
export async function enqueue(op) {
  const db = await open();
  const tx = db.transaction('outbox', 'readwrite', { durability: 'strict' });
  const seq = await result(tx.objectStore('outbox').add({ ...op, queued_at: Date.now() }));
  await done(tx);
  return seq;
}

export async function outbox() {
  return (await entries('outbox')).map(([, v]) => v);
}
