// The upload queue: files and whole folders (dropped or picked) become jobs that hash in Web
// Workers, post their manifest, PUT only the missing chunks and commit. Each started upload is
// written to IndexedDB (strict durability) with its File, manifest and upload id before any
// chunk is sent, so a reload — or a pause — resumes from GET /api/v1/uploads/{id}, which lists
// only what the server still lacks. Offline, a job waits in the outbox instead.
//
// A drop of thousands of small files must not cost thousands of rows, layouts and disk
// flushes: a drop of more than `GROUP_OVER` files is one group row (its files' rows are drawn
// only when one needs the user: a failure, a conflict), the totals are kept as running sums
// and drawn once per frame, the records of jobs starting together share a transaction, and
// small files go many at a time.
import { findChild, UploadJob } from '../pkg/web_client.js';
import { drive } from './upload-run.js';
import * as store from './store.js';
import { NAME_TAKEN, ROLE_TOO_LOW } from '../pkg/error_codes.js';
import { app, $, el, button, say, newKey, explain } from './state.js';
import { queueUpload, mkdir, addConflict } from './offline.js';
import { formatBytes, formatRate } from './format.js';
import { slots } from './slots.js';
import { loadShares } from './shares.js';

export { takeDrop, fromPicker } from './picked.js';

/** Files in flight at most (small ones), file bytes in flight at most, and big files at once. */
const AT_ONCE = 24;
const BYTES_AT_ONCE = 64 * 1024 * 1024;
const BIG_AT_ONCE = 3;
/** A drop of more files than this is drawn as one row. */
const GROUP_OVER = 20;

const jobs = [];
let batchStart = 0;

const uploading = slots(AT_ONCE, { bytes: BYTES_AT_ONCE, big: BIG_AT_ONCE });

// ---- folders and existing files --------------------------------------------------------------

function batchContext() {
  const folders = new Map();
  const listings = new Map();
  const listing = (id) => {
    if (!listings.has(id)) {
      // Ask the server (a 304 when nothing changed), not the listing on screen: that one may
      // not yet show the upload that just finished, and a re-upload of that name would then go
      // without its base version and come back as a conflicted copy. Offline, the screen's
      // listing is the best there is.
      listings.set(id, app.client.list(id).catch(() => (id === app.listing?.folder.id ? app.listing : null)));
    }
    return listings.get(id);
  };
  const ensure = (parentId, dirs) => {
    if (!dirs.length) return Promise.resolve(parentId);
    const key = `${parentId}/${dirs.join('/')}`;
    if (!folders.has(key)) {
      folders.set(key, (async () => {
        const up = await ensure(parentId, dirs.slice(0, -1));
        const name = dirs[dirs.length - 1];
        const l = await listing(up);
        const there = l && findChild(l.children, 'folder', name);
        if (there) return there.id;
        try {
          return (await mkdir(up, name)).id;
        } catch (e) {
          if (e.code !== NAME_TAKEN) throw e;
          const fresh = await app.client.list(up);
          const found = findChild(fresh.children, 'folder', name);
          if (!found) throw e;
          return found.id;
        }
      })());
    }
    return folders.get(key);
  };
  return { ensure, listing };
}

// ---- running totals, drawn once a frame ------------------------------------------------------

/** What a job adds to its group's and the overall totals. */
const NOTHING = { files: 0, total: 0, done: 0, sent: 0, saved: 0, barred: 0, busy: 0, ok: 0, failed: 0, paused: 0, canceled: 0 };
const sum = { ...NOTHING };
const finishedStates = ['done', 'failed', 'canceled', 'queued'];

function add(into, t, sign) {
  for (const k in t) into[k] += sign * t[k];
}

const dirty = new Set();
let drawing = false;
let frame = 0;
let fallback = 0;
let later = 0;
let lastDraw = -Infinity;
/** While files are busy, the totals are drawn at most this often: a drop of many small files
 * changes them hundreds of times a second, and a frame drawn for each (layout, paint) cost
 * the page more main-thread time than sending the files (a trace: 1,204 frames, 3.5 s). */
const DRAW_EVERY_MS = 200;

/** Draws the totals (and `group`'s row) in a frame soon; a hidden page gets no frames, so a
 * timer draws them there. */
function redraw(group) {
  if (group) dirty.add(group);
  // The last change of a batch is drawn at once: what is read then is the end.
  app.uploadsBusy = sum.busy > 0;
  if (!sum.busy) { drawNow(); return; }
  if (drawing) return;
  drawing = true;
  later = setTimeout(() => {
    frame = requestAnimationFrame(drawNow);
    fallback = setTimeout(drawNow, 250);
  }, Math.max(0, lastDraw + DRAW_EVERY_MS - performance.now()));
}

function drawNow() {
  clearTimeout(later);
  cancelAnimationFrame(frame);
  clearTimeout(fallback);
  drawing = false;
  lastDraw = performance.now();
  overall();
  for (const g of dirty) g.draw();
  dirty.clear();
}

// ---- jobs -----------------------------------------------------------------------------------

// A row of the upload list. What the job does next is its `core`'s (`UploadJob`) to decide;
// the row draws it and lends `drive` the File and the hooks. A job of a group keeps its row
// out of the document until it needs the user.
class Job {
  constructor({ id, file, parentId, name, label, baseVersion, manifest, uploadId, key, group }) {
    Object.assign(this, { id: id || newKey(), file, parentId, name, label: label || name, baseVersion, manifest, group });
    this.core = new UploadJob(parentId, !!manifest, uploadId ?? undefined, key ?? undefined);
    if (app.session) this.core.setHome(app.session.root_id);
    this.state = 'waiting';
    this.done = 0;
    this.sent = 0;
    this.saved = 0;
    this.total = file.size;
    this.frac = 0;
    this.controller = null;
    this.resumed = null;
    this.counted = null;
    this.row = this.draw();
    this.recount();
    group?.adopt(this);
  }

  draw() {
    const li = el('li', { className: 'upload' });
    li.dataset.name = this.label;
    const name = el('span', { className: 'name', textContent: this.label });
    this.detail = el('span', { className: 'detail', textContent: 'Waiting…' });
    this.bar = el('progress', { max: 1, value: 0 });
    this.bar.setAttribute('aria-label', `Progress of ${this.label}`);
    this.pauseBtn = button('Pause', () => (this.state === 'paused' ? this.resume() : this.pause()), 'secondary small pause', `Pause ${this.label}`);
    this.cancelBtn = button('Cancel', () => this.cancel(), 'secondary small cancel', `Cancel ${this.label}`);
    const actions = el('span', { className: 'actions' }, this.pauseBtn, this.cancelBtn);
    li.append(name, actions, this.bar, this.detail);
    if (this.group) return li;
    $('#uploads').append(li);
    li.scrollIntoView({ block: 'nearest' }); // keep what is moving in view
    $('#transfers').hidden = false;
    return li;
  }

  /** Its share of the totals now. */
  tally() {
    if (this.dismissed) return NOTHING;
    if (this.state === 'canceled') return { ...NOTHING, canceled: 1 };
    const ok = this.state === 'done';
    return {
      files: 1, total: this.total, done: ok ? this.total : this.done, sent: this.sent, saved: this.saved,
      barred: (ok ? 1 : this.frac) * this.total, busy: finishedStates.includes(this.state) ? 0 : 1,
      ok: ok ? 1 : 0, failed: this.state === 'failed' ? 1 : 0, paused: this.state === 'paused' ? 1 : 0,
    };
  }

  /** Moves the totals by what changed since the last count: no pass over all jobs. */
  recount() {
    const t = this.tally();
    if (this.counted) {
      add(sum, this.counted, -1);
      if (this.group) add(this.group.sum, this.counted, -1);
    }
    add(sum, t, 1);
    if (this.group) add(this.group.sum, t, 1);
    this.counted = t;
    redraw(this.group);
  }

  setBar(frac) {
    this.frac = frac;
    this.bar.value = frac;
  }

  /** Whether its row is in the document (a grouped job's is not until it needs the user). */
  get shown() { return !this.group || this.row.isConnected; }

  set(state, text) {
    this.state = state;
    this.row.dataset.state = state;
    this.row.className = `upload ${state}`;
    if (text !== undefined) this.detail.textContent = text;
    const finished = finishedStates.includes(state);
    this.pauseBtn.hidden = finished;
    this.cancelBtn.hidden = finished && state !== 'failed';
    this.cancelBtn.textContent = state === 'failed' ? 'Dismiss' : 'Cancel';
    this.pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.pauseBtn.setAttribute('aria-label', `${state === 'paused' ? 'Resume' : 'Pause'} ${this.label}`);
    if (state === 'failed') {
      this.row.querySelector('.retry')?.remove();
      this.row.querySelector('.actions').prepend(button('Retry', () => { this.row.querySelector('.retry')?.remove(); this.core.retry(); start(this); }, 'secondary small retry', `Retry ${this.label}`));
      this.group?.show(this);
    }
    this.recount();
  }

  pause() {
    if (!this.core.pause()) return;
    this.set('paused', `Paused at ${formatBytes(this.done)} of ${formatBytes(this.total)}`);
    this.resumed = new Promise((r) => { this.wake = r; });
    this.controller?.abort();
  }

  resume() {
    if (!this.core.resume()) return;
    this.set(this.core.state, 'Resuming…');
    this.wake?.();
  }

  async cancel() {
    if (this.state === 'failed') {
      this.row.remove();
      this.dismissed = true;
      jobs.splice(jobs.indexOf(this), 1);
      this.recount();
      return;
    }
    const was = this.core.cancel();
    this.set('canceled', 'Canceled');
    this.controller?.abort();
    this.wake?.();
    await store.delBatched('uploads', this.id);
    if (was === 'done') return;
    // Gives the upload's reserved bytes back to the quota now, not when it would expire.
    if (this.core.uploadId) app.client.cancelUpload(this.core.uploadId).catch(() => {});
  }

  // ---- hooks for `drive` --------------------------------------------------------------------

  step(s) {
    if (s.do === 'hash') this.set('hashing', 'Hashing…');
    else if ((s.do === 'start' || s.do === 'resume') && this.state !== 'sending') this.set('sending', 'Starting…');
    else if (s.do === 'send') { this.sendStart = performance.now(); this.sentBefore = 0; }
    else if (s.do === 'commit') this.set('committing', 'Saving…');
    else if (s.do === 'wait_network') {
      // The record stays in IndexedDB; the 'online' handler resumes it.
      this.set('paused', navigator.onLine
        ? `Cannot reach the server · trying again in ${Math.round(this.core.networkRetryMs / 1000)} s`
        : 'Waiting for the network…');
      this.resumed = new Promise((r) => { this.wake = r; });
    }
  }

  hashing(hashed) {
    if (this.state !== 'hashing') return;
    this.setBar(this.file.size ? 0.5 * hashed / this.file.size : 0);
    if (this.shown) this.detail.textContent = `Hashing ${formatBytes(hashed)} of ${formatBytes(this.file.size)}`;
    this.recount();
  }

  progress({ done, total, sent, saved }) {
    this.done = done;
    this.total = total;
    this.sent = sent;
    this.saved = saved;
    this.setBar(total ? 0.5 + 0.5 * done / total : 1);
    if (this.shown) {
      const secs = (performance.now() - this.sendStart) / 1000;
      const rate = secs > 0.05 ? (sent - this.sentBefore) / secs : 0;
      const left = rate > 0 ? (total - done) / rate : 0;
      this.detail.textContent = `${formatBytes(done)} of ${formatBytes(total)} · ${formatRate(rate)}` +
        (left >= 1 ? ` · ${Math.ceil(left)} s left` : '') + (saved > 0 ? ` · ${formatBytes(saved)} already stored` : '');
    }
    this.recount();
  }

  async queue() {
    // Under the job's own commit key when it has one: a commit it made already (answer lost)
    // is then answered on replay, never written again.
    await queueUpload(this.file, this.parentId, this.name, this.baseVersion, this.core.key);
    await store.delBatched('uploads', this.id);
  }

  async untilResumed() { if (this.core.state === 'paused') await this.resumed; }

  /** Before any chunk is sent, so a reload resumes it (strict durability; the records of jobs
   * starting together share one transaction). IndexedDB keeps a copy of a stored File's
   * bytes, counted against the origin's quota: a file too big for it (10 GiB in a private
   * window) still uploads, only a reload cannot resume it. */
  async started() {
    try {
      await this.remember();
    } catch (e) {
      if (!/QuotaExceeded/.test(`${e?.name} ${e?.message ?? e}`)) throw e;
      console.warn(`${this.label} is too big for this browser to keep for a reload`, e);
      say(`${this.label} is too big for this browser to keep: it uploads now, but a reload would stop it.`);
      await store.delBatched('uploads', this.id).catch(() => {});
    }
  }

  /** The job's record: its File, where it goes, and once started its
   * manifest, upload id and key. Written when the job is made too, so a reload in the middle of
   * a big drop resumes the files that had not started yet as well, not only those in flight. */
  remember() {
    return store.putBatched('uploads', this.id, {
      file: this.file, manifest: this.manifest ?? null, upload_id: this.core.uploadId ?? null, key: this.core.key ?? null,
      parent_id: this.parentId, name: this.name, label: this.label, base_version: this.baseVersion ?? null,
    });
  }
}

// ---- groups ---------------------------------------------------------------------------------

let groups = 0;

/** One row for a big drop: its progress, and Pause and Cancel for all of its files. */
class Group {
  constructor(label) {
    this.id = `g${(groups += 1)}`;
    this.label = label;
    this.jobs = [];
    this.sum = { ...NOTHING };
    this.began = performance.now();
    const li = el('li', { className: 'group waiting' });
    li.dataset.name = label;
    li.dataset.group = this.id;
    this.detail = el('span', { className: 'detail', textContent: 'Waiting…' });
    this.bar = el('progress', { max: 1, value: 0 });
    this.bar.setAttribute('aria-label', `Progress of ${label}`);
    this.pauseBtn = button('Pause', () => (this.state() === 'paused' ? this.resume() : this.pause()), 'secondary small pause', `Pause ${label}`);
    this.cancelBtn = button('Cancel', () => this.cancel(), 'secondary small cancel', `Cancel ${label}`);
    li.append(el('span', { className: 'name', textContent: label }), el('span', { className: 'actions' }, this.pauseBtn, this.cancelBtn), this.bar, this.detail);
    $('#uploads').append(li);
    li.scrollIntoView({ block: 'nearest' });
    $('#transfers').hidden = false;
    this.row = li;
  }

  state() {
    const s = this.sum;
    if (s.busy) return s.paused === s.busy ? 'paused' : 'sending';
    if (s.failed) return 'failed';
    return s.files ? 'done' : 'canceled';
  }

  /** A file that needs the user gets its own row, under the group's others. */
  show(job) {
    if (job.row.isConnected) return;
    job.row.dataset.group = this.id;
    job.row.classList.add('in-group');
    let at = this.row;
    while (at.nextElementSibling?.dataset.group === this.id) at = at.nextElementSibling;
    at.after(job.row);
  }

  /** A file of the drop joins; one that joins after Pause or Cancel (the drop is still being
   * read) is paused or canceled as the others were. */
  adopt(job) {
    this.jobs.push(job);
    if (this.canceled) job.cancel();
    else if (this.held) job.pause();
  }

  pause() {
    this.held = true;
    for (const j of this.jobs) if (!finishedStates.includes(j.state)) j.pause();
  }

  resume() {
    this.held = false;
    for (const j of this.jobs) if (j.state === 'paused') j.resume();
  }

  cancel() {
    this.canceled = true;
    for (const j of this.jobs) if (!finishedStates.includes(j.state)) j.cancel();
  }

  draw() {
    const s = this.sum;
    const state = this.state();
    const count = (n) => n.toLocaleString('en');
    this.row.dataset.state = state;
    this.row.className = `group ${state}`;
    this.bar.value = s.total ? s.barred / s.total : s.files && s.ok === s.files ? 1 : 0;
    const busy = state === 'sending' || state === 'paused';
    this.pauseBtn.hidden = !busy;
    this.cancelBtn.hidden = !busy;
    this.pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.pauseBtn.setAttribute('aria-label', `${state === 'paused' ? 'Resume' : 'Pause'} ${this.label}`);
    const bytes = `${formatBytes(s.done)} of ${formatBytes(s.total)}`;
    const stored = s.saved ? ` · ${formatBytes(s.saved)} already stored` : '';
    const failed = (s.failed ? ` · ${count(s.failed)} failed` : '') + (s.canceled ? ` · ${count(s.canceled)} canceled` : '');
    if (state === 'canceled') {
      this.detail.textContent = 'Canceled';
      return;
    }
    if (!busy) {
      this.detail.textContent = `${count(s.ok)} of ${count(s.files)} files uploaded · ${formatBytes(s.total)}${failed}${stored}`;
      return;
    }
    const secs = (performance.now() - this.began) / 1000;
    const rate = secs > 0.05 ? s.sent / secs : 0;
    const left = rate > 0 ? (s.total - s.done) / rate : 0;
    const moving = state === 'paused' ? ' · paused' : ` · ${formatRate(rate)}${left >= 1 ? ` · ${Math.ceil(left)} s left` : ''}`;
    this.detail.textContent = `${count(s.ok)} of ${count(s.files)} files · ${bytes}${moving}${failed}${stored}`;
  }
}

/** What to call a group of `items`: the top folder they all came from, or how many they are. */
function groupLabel(items, files) {
  const top = items[0]?.dirs[0];
  return top && items.every((i) => i.dirs[0] === top) ? top : `${files.toLocaleString('en')} files`;
}

async function start(job) {
  const began = performance.now();
  const size = job.file.size;
  await uploading.take(size);
  // Waiting for the network gives the place in the queue to a job that can move. When the
  // browser says it is online already, no 'online' event will come (the server, or the path to
  // it, was down): the job tries again after the core's growing wait.
  job.untilOnline = async () => {
    uploading.give(size);
    const retry = setTimeout(() => { if (navigator.onLine && job.core.waitingForNetwork) job.resume(); }, job.core.networkRetryMs);
    await job.untilResumed();
    clearTimeout(retry);
    await uploading.take(size);
  };
  try {
    const result = await drive(job.core, job);
    await finished(job, result, began);
  } catch (e) {
    job.set('failed', `Failed: ${explain(e)}`);
    // The role changed under the user (a viewer now): say it where it is seen, and learn it
    // so the upload buttons go.
    if (e?.code === ROLE_TOO_LOW) { say(`${job.label} was not uploaded: ${explain(e)}`, 'error'); loadShares(); }
  } finally {
    uploading.give(size);
  }
}

async function finished(job, result, began) {
  const state = job.core.state;
  if (state === 'queued') job.set('queued', 'Offline: will upload when the network is back');
  if (state !== 'done') return;
  await store.delBatched('uploads', job.id);
  job.setBar(1);
  job.done = job.total;
  const secs = ((performance.now() - began) / 1000).toFixed(1);
  const needsUser = () => { job.row.classList.add('conflict'); job.group?.show(job); };
  if (job.core.rehomed) {
    const why = job.lost === ROLE_TOO_LOW ? 'you can only view this shared folder now' : 'its folder was deleted or is no longer shared with you';
    const where = `${why}, so it was saved in My files as ${result.node.name}`;
    job.set('done', `Kept: ${where}`);
    needsUser();
    say(`${job.label}: ${where}`, 'error');
    loadShares();
  } else if (result.conflict) {
    await addConflict(result, null);
    job.set('done', `Conflict: someone changed it meanwhile, so yours was saved as ${result.node.name}`);
    needsUser();
  } else if (result.node.name !== job.name && result.node.name.includes(' (conflicted copy ')) {
    // A folder took the name meanwhile: the server kept the file beside it.
    job.set('done', `Kept as ${result.node.name}: a folder here is called ${job.name}`);
    needsUser();
  } else if (result.unchanged) {
    job.set('done', 'Unchanged: already up to date');
  } else {
    const saved = job.saved > 0 ? ` · sent ${formatBytes(job.total - job.saved)}, saved ${formatBytes(job.saved)} already stored` : '';
    // After a reload the clock restarted mid-upload, so the time alone would mislead.
    const took = job.afterReload ? `Done (resumed after a reload; the rest took ${secs} s)` : `Done in ${secs} s`;
    job.set('done', `${took}${saved}`);
  }
}

window.addEventListener('online', () => { for (const j of jobs) if (j.core.waitingForNetwork) j.resume(); });

/** The overall line and bar, from the running totals. */
function overall() {
  const s = sum;
  const secs = (performance.now() - batchStart) / 1000;
  const rate = secs > 0.05 ? s.sent / secs : 0;
  const left = rate > 0 ? (s.total - s.done) / rate : 0;
  // The same measure as each file's bar (hashing is its first half), weighted by size, so the
  // overall bar never disagrees with the rows under it.
  $('#overall').value = s.total ? s.barred / s.total : 1;
  $('#overall-text').textContent = s.busy
    ? `Uploading ${s.busy} of ${s.files} file${s.files > 1 ? 's' : ''} · ${formatBytes(s.done)} of ${formatBytes(s.total)} · ${formatRate(rate)}${left >= 1 ? ` · ${Math.ceil(left)} s left` : ''}`
    : `${s.ok} of ${s.files} uploaded${s.saved ? ` · ${formatBytes(s.saved)} not re-sent (already stored)` : ''}`;
}

/** Uploads what was dropped or picked into folder `parentId`, tree preserved. */
export async function uploadItems(items, parentId) {
  if (!items.length) return;
  if (!sum.busy) batchStart = performance.now();
  const files = items.filter((i) => i.file).length;
  const group = files > GROUP_OVER ? new Group(groupLabel(items, files)) : undefined;
  const ctx = batchContext();
  const made = [];
  for (const { file, dirs } of items) {
    if (group?.canceled) break;
    try {
      const target = await ctx.ensure(parentId, dirs);
      if (!file) continue;
      const l = await ctx.listing(target);
      // The server's own comparison (full case folding: `straße` and `STRASSE` are one name).
      const existing = l && findChild(l.children, 'file', file.name);
      const job = new Job({ file, parentId: target, name: file.name, label: [...dirs, file.name].join('/'), baseVersion: existing?.version_id, group });
      jobs.push(job);
      // Not awaited: the record only matters to a reload, and `started` writes it again
      // (strictly, in order) before any chunk is sent.
      job.remember().catch((e) => console.warn(`could not keep ${job.label} for a reload`, e));
      made.push(start(job));
    } catch (e) {
      say(`Could not create folder ${dirs.join('/')}: ${explain(e)}`, 'error');
    }
  }
  if (group && !group.jobs.length) group.row.remove();
  await Promise.all(made);
  await app.refresh({ quiet: true });
}

/** After a reload: uploads resume, those that were started without re-sending finished
 * chunks, those that had not started yet from hashing. */
export async function resumeStored() {
  const stored = await store.entries('uploads');
  if (!stored.length) return;
  batchStart = performance.now();
  const group = stored.length > GROUP_OVER ? new Group(`${stored.length.toLocaleString('en')} resumed files`) : undefined;
  const runs = stored.map(([id, r]) => {
    const job = new Job({ id, file: r.file, parentId: r.parent_id, name: r.name, label: r.label, baseVersion: r.base_version, manifest: r.manifest, uploadId: r.upload_id, key: r.key, group });
    job.afterReload = true;
    job.set('waiting', 'Resuming after reload…');
    jobs.push(job);
    return start(job).then(() => job);
  });
  const resuming = `Resuming ${stored.length} upload${stored.length > 1 ? 's' : ''}.`;
  say(resuming);
  const finished = await Promise.all(runs);
  // Replace the line only if nothing else was said meanwhile.
  if ($('#status').textContent === resuming) {
    const ok = finished.filter((j) => j.state === 'done').length;
    const failed = finished.filter((j) => j.state === 'failed').length;
    say(`${ok} resumed upload${ok === 1 ? '' : 's'} finished${failed ? `; ${failed} failed (see Transfers)` : ''}.`, failed ? 'error' : '');
  }
  await app.refresh({ quiet: true });
}
