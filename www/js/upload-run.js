// The one upload sequence (hash, start or resume, send what is missing, commit), shared by the
// upload list, the outbox's replay and a file request's drop page. What comes next after each answer, an outage, a pause
// or an expired upload is decided by the WASM `UploadJob` (client-core's upload machine); this
// module only performs its steps with the browser's handles: the File, the hashing workers,
// an AbortController.
import { chunkFile } from './chunk-pool.js';
import * as batched from './batched.js';
import { app, isOffline } from './state.js';
import { sniffType } from '../pkg/web_client.js';
import { FOLDER_GONE, ROLE_TOO_LOW } from '../pkg/error_codes.js';
import { afterCommit } from './thumbs.js';

// A commit's folder deleted (or unshared, or made read-only) meanwhile: the job then commits
// into the home root, if it knows one, so the edit is kept.
const lost = (e) => e?.code === FOLDER_GONE || e?.code === ROLE_TOO_LOW;
const fault = (e) => (e?.code === 'aborted' ? 'aborted' : isOffline(e) ? 'offline' : lost(e) ? 'folder_lost' : 'other');

/** The bytes `sniffType` looks at: magic numbers sit in the first few hundred. */
const SNIFF_BYTES = 4096;

/** The file's media type for its commit (`image/png`), from its name and first bytes (`head`,
 * as the hashing worker read them, else read here); null when neither says or the file cannot
 * be read. A hint for listings and the viewer, never trusted for serving by the server. */
async function sniff(t, head) {
  try {
    head ??= new Uint8Array(await t.file.slice(0, SNIFF_BYTES).arrayBuffer());
    return sniffType(t.name ?? t.file.name ?? '', head) ?? null;
  } catch {
    return null;
  }
}

/** The signed-in user's upload calls, into folder `t.parentId` as `t.name`. */
function own(t) {
  const c = app.client;
  return {
    start: (manifest) => batched.startUpload(manifest),
    resume: (id) => c.resumeUpload(id),
    send: (...args) => c.sendChunks(...args),
    commit: (id, key, home) => batched.commit({
      upload_id: id, parent_id: home ?? t.parentId, name: t.name, base_version: t.baseVersion ?? null, idempotency_key: key,
      content_type: t.contentType ?? null,
    }),
  };
}

/**
 * Runs `core` (an `UploadJob`) until it stops. `t` holds the transfer — `file`, `parentId`,
 * `name`, `baseVersion`, and `manifest` once hashed — and optional parts: `server`, the four
 * calls (`start`, `resume`, `send`, `commit(uploadId, key, home, contentType)`) when the upload
 * is not the signed-in user's own;
 * hooks `step(step)` before each step, `hashing(bytes)`, `hashed()`, `progress(p)`,
 * `started()` once the server knows the upload, `queue()`, `untilResumed()`, `untilOnline()`.
 * A job given a home (`core.setHome`) commits there when its folder is lost (`core.rehomed`;
 * `t.lost` is then the error code that said so).
 * `t.contentType` is set once hashed (`sniff`), or at the commit when hashing came before a
 * reload. Returns the commit's answer (null when it ended otherwise); throws the last error when the
 * job failed.
 */
export async function drive(core, t) {
  const server = t.server || own(t);
  let error = null;
  for (;;) {
    const step = core.next(navigator.onLine);
    if (step.do === 'stop') {
      if (core.state === 'failed') throw error;
      return t.result ?? null;
    }
    t.step?.(step);
    try {
      switch (step.do) {
        case 'hash':
          let head;
          t.manifest = await chunkFile(t.file, (bytes) => t.hashing?.(bytes), (h) => { head = h; });
          t.contentType = await sniff(t, head);
          core.hashed();
          await t.hashed?.();
          break;
        case 'queue':
          await t.queue();
          core.queued();
          break;
        case 'resume':
          t.answer = await server.resume(step.upload_id);
          core.answered();
          break;
        case 'start':
          t.answer = await server.start(t.manifest);
          core.started(t.answer.upload_id);
          await t.started?.();
          break;
        case 'send':
          t.controller = new AbortController();
          await server.send(t.file, t.manifest, t.answer, t.progress ? (p) => t.progress(p) : () => {}, t.controller.signal);
          core.sent();
          break;
        case 'commit':
          if (t.contentType === undefined && t.file) t.contentType = await sniff(t);
          t.result = await server.commit(step.upload_id, step.key, step.into_home, t.contentType ?? null);
          core.committed();
          // The user's own image gets a thumbnail, made after the commit and off this path.
          if (!t.server) afterCommit(t.file, t.contentType, t.result);
          break;
        case 'wait_resume':
          await t.untilResumed();
          break;
        case 'wait_network':
          await t.untilOnline();
          break;
        default:
          throw new Error(`unknown upload step ${step.do}`);
      }
    } catch (e) {
      error = e;
      // Why the folder was lost, for the words the user gets if the job then goes home.
      if (lost(e)) t.lost = e.code;
      core.failed(fault(e));
    }
  }
}
