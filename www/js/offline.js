// Offline-first tree edits: the last known listing of every folder lives in IndexedDB, and a
// change made without a network (new folder, upload, edit, rename, move, delete) is applied to
// that cached tree at once and queued in the outbox. Back online, the outbox replays in order
// with its idempotency keys (the WASM `OutboxReplay` decides ids and verdicts); a commit that
// collided with another device's change comes back as a conflicted copy and is listed for the
// user. (Files kept "available offline" live in pins.js.)
import {
  OutboxReplay, UploadJob, compactOutbox, checkName, editListing, findChild, pendingFile, pendingFolder, sendNow,
} from '../pkg/web_client.js';
import { drive } from './upload-run.js';
import * as store from './store.js';
import { NAME_TAKEN, ROLE_TOO_LOW } from '../pkg/error_codes.js';
import { app, newKey, isOffline, say, explain, codeOf } from './state.js';
import { loadShares } from './shares.js';

export async function cachedListing(id) { return store.get('listings', id); }

export async function saveListing(l) { await store.put('listings', l.folder.id, l, 'relaxed'); }

export async function forgetListing(id) { await store.del('listings', id); }

/** Forgets many kept listings in one transaction (relaxed: one kept too long only costs a
 * re-list that the next change to that folder would also cause, never a wrong listing, since
 * the feed's cursor is written after it). */
export async function forgetListings(ids) {
  if (ids.length) await store.writeMany('listings', [], ids, 'relaxed');
}

export async function forgetAllListings() {
  for (const [k] of await store.entries('listings')) await store.del('listings', k);
}

/** Applies an optimistic `edit` (client-core's `tree::Edit`) to a cached listing. */
async function patchListing(folderId, edit) {
  const cached = await store.get('listings', folderId);
  if (!cached) return;
  const l = editListing(cached, edit);
  await saveListing(l);
  if (app.listing && app.listing.folder.id === folderId) app.listing = l;
}

export async function pendingCount() { return (await store.outbox()).length; }

/** Runs `online` directly when the network is there and nothing waits before it; else queues. */
async function change(online, op, optimistic) {
  if (sendNow(navigator.onLine, await pendingCount())) {
    try { return await online(); } catch (e) { if (!isOffline(e)) throw e; }
  }
  const seq = await store.enqueue({ key: newKey(), ...op });
  const result = await optimistic(seq);
  say(`Saved offline: this change will be sent when the network is back.`);
  updateBadge();
  if (navigator.onLine) replay();
  return result;
}

export async function mkdir(parentId, name) {
  // The server's rules, checked here too: a name it would refuse never waits in the outbox.
  name = checkName(name);
  return change(() => app.client.createFolder(parentId, name), { op: 'mkdir', parent_id: parentId, name }, async (seq) => {
    const node = pendingFolder(seq, parentId, name, Date.now());
    await patchListing(parentId, { edit: 'add', node });
    await saveListing({ folder: node, children: [] });
    return node;
  });
}

export async function rename(node, name) {
  name = checkName(name);
  return change(() => app.client.updateNode(node.id, name, undefined), { op: 'rename', node_id: node.id, name }, async () => {
    await patchListing(node.parent_id, { edit: 'rename', node_id: node.id, name });
  });
}

export function move(node, parentId) {
  return change(() => app.client.updateNode(node.id, undefined, parentId), { op: 'move', node_id: node.id, parent_id: parentId }, async () => {
    await patchListing(node.parent_id, { edit: 'remove', node_id: node.id });
    await patchListing(parentId, { edit: 'add', node });
  });
}

export function remove(node) {
  return change(() => app.client.deleteNode(node.id), { op: 'delete', node_id: node.id }, async () => {
    await patchListing(node.parent_id, { edit: 'remove', node_id: node.id });
  });
}

/** Queues a whole upload (the File itself is stored, so replay needs nothing else); `key`: the
 * upload job's commit key, if it had one. */
export async function queueUpload(file, parentId, name, baseVersion, key) {
  const seq = await store.enqueue({ key: key || newKey(), op: 'upload', parent_id: parentId, name, base_version: baseVersion ?? null, file });
  await patchListing(parentId, { edit: 'add', node: pendingFile(seq, parentId, name, file.size, Date.now()) });
  updateBadge();
  return seq;
}

/** The File of an upload still waiting in the outbox (its listing row has id `-seq`). */
export async function queuedFile(seq) {
  const op = await store.get('outbox', seq);
  return op?.op === 'upload' ? op.file : null;
}

async function send(op, stored) {
  const c = app.client;
  switch (op.op) {
    case 'mkdir': {
      try { return { node: await c.createFolder(op.parent_id, op.name) }; } catch (e) {
        // Made meanwhile by another device, or by an earlier replay whose answer was lost.
        if (e.code !== NAME_TAKEN) throw e;
        const l = await c.list(op.parent_id);
        const same = findChild(l.children, 'folder', op.name);
        if (!same) throw e;
        return { node: same };
      }
    }
    case 'upload': {
      const job = UploadJob.plain(false, undefined, op.key);
      // Its folder deleted or unshared meanwhile: the edit goes to My files instead.
      if (app.session) job.setHome(app.session.root_id);
      const answer = await drive(job, { file: stored.file, parentId: op.parent_id, name: op.name, baseVersion: op.base_version });
      return job.rehomed ? { ...answer, rehomed: true } : answer;
    }
    // keep_both: if another device took the name meanwhile, both stay (ours as a conflicted
    // copy, reported in `clash`) rather than the change being lost to a 409.
    case 'rename': return placed(await c.updateNode(op.node_id, op.name, undefined, true));
    case 'move': return placed(await c.updateNode(op.node_id, undefined, op.parent_id, true));
    case 'delete': await c.deleteNode(op.node_id); return {};
    default: throw Object.assign(new Error(`unknown queued operation ${op.op}`), { status: 400, code: 'bad_op' });
  }
}

function placed(answer) {
  const { clash, ...node } = answer;
  return { node, clash: clash || null };
}

let replaying = null;

/** Replays the outbox once (concurrent calls share the run). */
export function replay() {
  if (!replaying) replaying = doReplay().finally(() => { replaying = null; updateBadge(); });
  return replaying;
}

async function doReplay() {
  const ops = await store.outbox();
  if (!ops.length) return;
  const plan = compactOutbox(ops);
  const kept = new Set(plan.map((o) => o.seq));
  for (const o of ops) if (!kept.has(o.seq)) await store.del('outbox', o.seq);
  const bySeq = new Map(ops.map((o) => [o.seq, o]));
  const r = new OutboxReplay();
  if (app.session) r.setHome(app.session.root_id);
  const learnt = (await store.get('meta', 'temp_ids')) || {};
  for (const [t, real] of Object.entries(learnt)) r.learn(Number(t), real);
  const problems = [];
  const rehomed = [];
  let sent = 0;
  for (const planned of plan) {
    const s = r.step(planned);
    if (s.step === 'skip') {
      problems.push(`${planned.op} ${planned.name || ''}: ${s.reason}`);
      await store.del('outbox', planned.seq);
      await forgetGuesses();
      continue;
    }
    let outcome;
    let answer = null;
    try {
      answer = await send(s.op, bySeq.get(planned.seq));
      outcome = { outcome: 'ok', id: answer?.node?.id ?? null, conflict: !!(answer?.conflict || answer?.clash) };
    } catch (e) {
      // A shared folder's viewer (the role may have changed while offline) is told so in words.
      if (e?.code === ROLE_TOO_LOW) loadShares();
      outcome = { outcome: 'failed', status: e.status ?? 0, code: codeOf(e, 'error'), message: e?.code === ROLE_TOO_LOW ? explain(e) : e.message || '' };
    }
    const v = r.outcome(s.op, outcome);
    if (v.verdict === 'retry_later') break;
    if (s.op.op === 'mkdir' && outcome.id != null) {
      learnt[-planned.seq] = outcome.id;
      await store.put('meta', 'temp_ids', learnt);
    }
    await store.del('outbox', planned.seq);
    sent += 1;
    if (v.verdict === 'conflict') await addConflict(answer, null);
    if ((s.rehomed || answer?.rehomed) && answer?.node) rehomed.push(`${s.op.name} as My files/${answer.node.name}`);
    if (v.verdict === 'rejected') {
      problems.push(`${s.op.op} ${s.op.name || ''}: ${v.message}`);
      await forgetGuesses();
    }
  }
  // A folder opened while it existed only here now has its server id.
  app.path = app.path.map((p) => (p.id < 0 && r.resolved(p.id) != null ? { ...p, id: r.resolved(p.id) } : p));
  if ((await pendingCount()) === 0) {
    await store.del('meta', 'temp_ids');
    // Nothing waits any more, so no guess is left to show: what the server did (or not) is
    // listed afresh (a folder moved into one another device then trashed stayed there).
    await forgetGuesses();
  }
  const home = rehomed.length ? ` Their folder was deleted, or is no longer yours to write in, so these offline edits were kept in My files: ${rehomed.join('; ')}.` : '';
  if (problems.length) say(`Some offline changes could not be applied: ${problems.join('; ')}.${home}`, 'error');
  else if (home) say(`${sent} offline change${sent > 1 ? 's' : ''} synced.${home}`, 'error');
  else if (sent) say(`${sent} offline change${sent > 1 ? 's' : ''} synced.`);
  await app.refresh();
}

/** A queued change the server refused (or the replay skipped) will never come true, and once
 * the outbox is empty no guess is left to show: every cached listing that holds a guess is
 * forgotten, so it is listed again from the server instead of showing the guess for good (a
 * folder moved into its own subfolder, a folder made where its parent is gone, a node hidden
 * by a refused move or trash). A guessed listing is one without the server's ETag: an
 * optimistic edit drops it (client-core's `tree::apply`). */
async function forgetGuesses() {
  for (const [id, l] of await store.entries('listings')) if (!l.etag) await store.del('listings', id);
}

// Conflicts: the server kept both sides; the user decides here.
export async function conflicts() { return (await store.get('meta', 'conflicts')) || []; }

/** `answer` is a commit that became a conflicted copy (`conflict`) or a rename/move that
 * found its name taken (`clash`); either way `node` is the copy the server kept for us. */
export async function addConflict(answer, mine) {
  const list = await conflicts();
  list.push({ id: newKey(), copy: answer.node, conflict: answer.conflict || null, clash: answer.clash || null, mine: mine || null, at: Date.now() });
  await store.put('meta', 'conflicts', list);
  updateBadge();
}

export async function dropConflict(id) {
  await store.put('meta', 'conflicts', (await conflicts()).filter((c) => c.id !== id));
  updateBadge();
}

export async function updateBadge() {
  const n = (await conflicts()).length;
  const b = document.querySelector('#conflict-count');
  if (b) { b.hidden = n === 0; b.textContent = String(n); }
  const pending = await pendingCount();
  const net = document.querySelector('#net');
  if (net) {
    net.textContent = navigator.onLine ? (pending ? `Syncing ${pending} change${pending > 1 ? 's' : ''}…` : '') : `Offline${pending ? ` · ${pending} change${pending > 1 ? 's' : ''} waiting` : ''}`;
    net.className = `net ${navigator.onLine ? '' : 'offline'}`;
  }
}
