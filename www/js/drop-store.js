// What the drop page of a file request keeps in IndexedDB so a reload resumes: one record per
// started file (the File itself, its manifest, the upload id, where it goes, who sends it and
// a hash of the link's token — never the token),
// written strictly before any chunk is sent, removed once the file has landed. A database of
// its own ("cairn-drops"): a visitor's drops have nothing to do with an account's app data, and
// signing in to the app (which clears its own database) must not lose them.
import { result } from './store.js';

const DB_NAME = 'cairn-drops';
const STORE = 'drops';

let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function write(fn) {
  const db = await open();
  const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
  fn(tx.objectStore(STORE));
  await new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });
}

export const save = (id, record) => write((s) => s.put(record, id));
export const forget = (id) => write((s) => s.delete(id));

/** Every [id, record] started through the link whose token hashes to `link`, oldest first. */
export async function pending(link) {
  const db = await open();
  const s = db.transaction(STORE).objectStore(STORE);
  const [keys, values] = await Promise.all([result(s.getAllKeys()), result(s.getAll())]);
  return keys.map((k, i) => [k, values[i]]).filter(([, r]) => r.link === link).sort((a, b) => a[1].at - b[1].at);
}
