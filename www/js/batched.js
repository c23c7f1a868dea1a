// Starts and commits of the signed-in user's uploads travel together. A dropped folder of
// 10,000 small files would otherwise pay two API round trips per file on top of its chunk
// PUT; here a call joins a queue, and whatever queued while earlier batches were on the wire
// goes in one request (`POST /api/v1/batch/uploads` or `/commits`, at most 100). A lone call
// takes the single-file route, so one file's upload looks exactly as it always did.
import { app } from './state.js';

const MAX_BATCH = 100; // the server's cap (wire::MAX_BATCH)
const IN_FLIGHT = 2; // batches of one kind on the wire at once

// An error shaped like the client's own (`status`, `code`), for one item of a batch.
function failure(status, detail) {
  const e = new Error(detail?.message || `the server answered ${status}`);
  e.status = status;
  e.code = detail?.code || 'http';
  return e;
}

// A refusal that names the request rather than the network: worth asking item by item, so
// each gets its own answer (the batch start is all or nothing).
const refused = (e) => e?.status >= 400 && e.status < 500;

/** How long a call waits for others to join it before it is sent: files of a dropped folder
 * finish hashing a few milliseconds apart, and without the wait most went alone (a trace of
 * 1,000 small files: 306 single commits, 340 single starts). A lone file pays it twice. */
const GATHER_MS = 8;

function queueing(many, one) {
  const waiting = [];
  let flying = 0;
  let gathering = false;
  async function flush() {
    while (flying < IN_FLIGHT && waiting.length) {
      const items = waiting.splice(0, MAX_BATCH);
      flying += 1;
      send(items).finally(() => { flying -= 1; flush(); });
    }
  }
  async function send(items) {
    if (items.length === 1) {
      const [it] = items;
      await one(it.arg).then(it.resolve, it.reject);
      return;
    }
    await many(items).catch((e) => { for (const it of items) it.reject(e); });
  }
  return (arg) => new Promise((resolve, reject) => {
    waiting.push({ arg, resolve, reject });
    if (gathering) return;
    gathering = true;
    setTimeout(() => { gathering = false; flush(); }, GATHER_MS);
  });
}

/** `startUpload(manifest)`, batched. */
export const startUpload = queueing(async (items) => {
  let answers;
  try {
    answers = await app.client.startUploads(items.map((it) => it.arg));
  } catch (e) {
    if (!refused(e)) throw e;
    // One manifest, the quota or the open-upload limit refused the lot: each on its own.
    await Promise.all(items.map((it) => app.client.startUpload(it.arg).then(it.resolve, it.reject)));
    return;
  }
  items.forEach((it, i) => it.resolve(answers[i]));
}, (manifest) => app.client.startUpload(manifest));

const commitOne = (c) => app.client.commit(
  c.upload_id, c.parent_id, c.name, c.base_version ?? undefined, c.idempotency_key, c.content_type ?? undefined,
);

/** `commit({upload_id, parent_id, name, base_version, idempotency_key, content_type})`, batched. */
export const commit = queueing(async (items) => {
  const results = await app.client.commitMany(items.map((it) => it.arg));
  items.forEach((it, i) => {
    const r = results[i];
    if (r.status === 200) it.resolve(r.committed);
    // Busy or failing for the moment: the single route waits and tries again on its own.
    else if (r.status >= 500) commitOne(it.arg).then(it.resolve, it.reject);
    else it.reject(failure(r.status, r.error));
  });
}, commitOne);
