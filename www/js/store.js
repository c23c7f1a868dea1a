// The page's durable memory in IndexedDB: upload sessions (with their File, so a reload resumes
// without a re-pick), the last known listing of every folder seen, the change-feed cursor, the
// outbox of offline operations and the files kept "available offline". Everything whose loss
// would lose a user's change is written with `durability: 'strict'` (Chromium defaults to
// relaxed, which may drop the last writes on a power cut).
const DB_NAME = 'cairn';
const VERSION = 1;
const STORES = ['uploads', 'listings', 'meta', 'outbox', 'offline'];

let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        for (const s of STORES) {
          if (!db.objectStoreNames.contains(s)) {
            db.createObjectStore(s, s === 'outbox' ? { keyPath: 'seq', autoIncrement: true } : undefined);
          }
        }
      };
      req.onsuccess = () => resolve(req.result);
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

function result(req) {
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
