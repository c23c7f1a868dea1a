// The upload queue: files and whole folders (dropped or picked) become jobs that hash in Web
// Workers, post their manifest, PUT only the missing chunks and commit. Each started upload is
// written to IndexedDB (strict durability) with its File, manifest and upload id before any
// chunk is sent, so a reload — or a pause — resumes from GET /api/v1/uploads/{id}, which lists
// only what the server still lacks. Offline, a job waits in the outbox instead.
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

const AT_ONCE = 3;
const jobs = [];
let batchStart = 0;

const uploading = slots(AT_ONCE);

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

// ---- jobs -----------------------------------------------------------------------------------

// A row of the upload list. What the job does next is its `core`'s (`UploadJob`) to decide;
// the row draws it and lends `drive` the File and the hooks.
class Job {
  constructor({ id, file, parentId, name, label, baseVersion, manifest, uploadId, key }) {
    Object.assign(this, { id: id || newKey(), file, parentId, name, label: label || name, baseVersion, manifest });
    this.core = new UploadJob(parentId, !!manifest, uploadId ?? undefined, key ?? undefined);
    if (app.session) this.core.setHome(app.session.root_id);
    this.state = 'waiting';
    this.done = 0;
    this.sent = 0;
    this.saved = 0;
    this.total = file.size;
    this.controller = null;
    this.resumed = null;
    this.row = this.draw();
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
    $('#uploads').append(li);
    li.scrollIntoView({ block: 'nearest' }); // keep what is moving in view
    $('#transfers').hidden = false;
    return li;
  }

  set(state, text) {
    this.state = state;
    this.row.dataset.state = state;
    this.row.className = `upload ${state}`;
    if (text !== undefined) this.detail.textContent = text;
    const finished = ['done', 'failed', 'canceled', 'queued'].includes(state);
    this.pauseBtn.hidden = finished;
    this.cancelBtn.hidden = finished && state !== 'failed';
    this.cancelBtn.textContent = state === 'failed' ? 'Dismiss' : 'Cancel';
    this.pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.pauseBtn.setAttribute('aria-label', `${state === 'paused' ? 'Resume' : 'Pause'} ${this.label}`);
    if (state === 'failed') {
      this.row.querySelector('.retry')?.remove();
      this.row.querySelector('.actions').prepend(button('Retry', () => { this.row.querySelector('.retry')?.remove(); this.core.retry(); start(this); }, 'secondary small retry', `Retry ${this.label}`));
    }
    overall();
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
    if (this.state === 'failed') { this.row.remove(); jobs.splice(jobs.indexOf(this), 1); overall(); return; }
    const was = this.core.cancel();
    this.set('canceled', 'Canceled');
    this.controller?.abort();
    this.wake?.();
    await store.del('uploads', this.id);
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
    this.bar.value = this.file.size ? 0.5 * hashed / this.file.size : 0;
    this.detail.textContent = `Hashing ${formatBytes(hashed)} of ${formatBytes(this.file.size)}`;
  }

  progress({ done, total, sent, saved }) {
    this.done = done;
    this.total = total;
    this.sent = sent;
    this.saved = saved;
    const secs = (performance.now() - this.sendStart) / 1000;
    const rate = secs > 0.05 ? (sent - this.sentBefore) / secs : 0;
    const left = rate > 0 ? (total - done) / rate : 0;
    this.bar.value = total ? 0.5 + 0.5 * done / total : 1;
    this.detail.textContent = `${formatBytes(done)} of ${formatBytes(total)} · ${formatRate(rate)}` +
      (left >= 1 ? ` · ${Math.ceil(left)} s left` : '') + (saved > 0 ? ` · ${formatBytes(saved)} already stored` : '');
    overall();
  }

  async queue() {
    // Under the job's own commit key when it has one: a commit it made already (answer lost)
    // is then answered on replay, never written again.
    await queueUpload(this.file, this.parentId, this.name, this.baseVersion, this.core.key);
    await store.del('uploads', this.id);
  }

  async untilResumed() { if (this.core.state === 'paused') await this.resumed; }

  /** Before any chunk is sent, so a reload resumes it (strict durability). */
  async started() {
    await store.put('uploads', this.id, {
      file: this.file, manifest: this.manifest, upload_id: this.core.uploadId, key: this.core.key, parent_id: this.parentId,
      name: this.name, label: this.label, base_version: this.baseVersion ?? null,
    });
  }
}

async function start(job) {
  const began = performance.now();
  await uploading.take();
  // Waiting for the network gives the place in the queue to a job that can move. When the
  // browser says it is online already, no 'online' event will come (the server, or the path to
  // it, was down): the job tries again after the core's growing wait.
  job.untilOnline = async () => {
    uploading.give();
    const retry = setTimeout(() => { if (navigator.onLine && job.core.waitingForNetwork) job.resume(); }, job.core.networkRetryMs);
    await job.untilResumed();
    clearTimeout(retry);
    await uploading.take();
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
    uploading.give();
  }
}

async function finished(job, result, began) {
  const state = job.core.state;
  if (state === 'queued') job.set('queued', 'Offline: will upload when the network is back');
  if (state !== 'done') return;
  await store.del('uploads', job.id);
  job.bar.value = 1;
  job.done = job.total;
  const secs = ((performance.now() - began) / 1000).toFixed(1);
  if (job.core.rehomed) {
    const why = job.lost === ROLE_TOO_LOW ? 'you can only view this shared folder now' : 'its folder was deleted or is no longer shared with you';
    const where = `${why}, so it was saved in My files as ${result.node.name}`;
    job.set('done', `Kept: ${where}`);
    job.row.classList.add('conflict');
    say(`${job.label}: ${where}`, 'error');
    loadShares();
  } else if (result.conflict) {
    await addConflict(result, null);
    job.set('done', `Conflict: someone changed it meanwhile, so yours was saved as ${result.node.name}`);
    job.row.classList.add('conflict');
  } else if (result.node.name !== job.name && result.node.name.includes(' (conflicted copy ')) {
    // A folder took the name meanwhile: the server kept the file beside it.
    job.set('done', `Kept as ${result.node.name}: a folder here is called ${job.name}`);
    job.row.classList.add('conflict');
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

function overall() {
  const live = jobs.filter((j) => j.state !== 'canceled');
  const total = live.reduce((s, j) => s + j.total, 0);
  const done = live.reduce((s, j) => s + (j.state === 'done' ? j.total : j.done), 0);
  const sent = live.reduce((s, j) => s + j.sent, 0);
  const saved = live.reduce((s, j) => s + j.saved, 0);
  const busy = live.filter((j) => !['done', 'failed', 'queued'].includes(j.state)).length;
  const secs = (performance.now() - batchStart) / 1000;
  const rate = secs > 0.05 ? sent / secs : 0;
  const left = rate > 0 ? (total - done) / rate : 0;
  // The same measure as each file's bar (hashing is its first half), weighted by size, so the
  // overall bar never disagrees with the rows under it.
  const barred = live.reduce((s, j) => s + (j.state === 'done' ? 1 : j.bar.value) * j.total, 0);
  $('#overall').value = total ? barred / total : 1;
  $('#overall-text').textContent = busy
    ? `Uploading ${busy} of ${live.length} file${live.length > 1 ? 's' : ''} · ${formatBytes(done)} of ${formatBytes(total)} · ${formatRate(rate)}${left >= 1 ? ` · ${Math.ceil(left)} s left` : ''}`
    : `${live.filter((j) => j.state === 'done').length} of ${live.length} uploaded${saved ? ` · ${formatBytes(saved)} not re-sent (already stored)` : ''}`;
}

/** Uploads what was dropped or picked into folder `parentId`, tree preserved. */
export async function uploadItems(items, parentId) {
  if (!items.length) return;
  if (!jobs.some((j) => !['done', 'failed', 'canceled', 'queued'].includes(j.state))) batchStart = performance.now();
  const ctx = batchContext();
  const made = [];
  for (const { file, dirs } of items) {
    try {
      const target = await ctx.ensure(parentId, dirs);
      if (!file) continue;
      const l = await ctx.listing(target);
      // The server's own comparison (full case folding: `straße` and `STRASSE` are one name).
      const existing = l && findChild(l.children, 'file', file.name);
      const job = new Job({ file, parentId: target, name: file.name, label: [...dirs, file.name].join('/'), baseVersion: existing?.version_id });
      jobs.push(job);
      made.push(start(job));
    } catch (e) {
      say(`Could not create folder ${dirs.join('/')}: ${explain(e)}`, 'error');
    }
  }
  await Promise.all(made);
  await app.refresh({ quiet: true });
}

/** After a reload: uploads that were started resume without re-sending finished chunks. */
export async function resumeStored() {
  const stored = await store.entries('uploads');
  if (!stored.length) return;
  batchStart = performance.now();
  const runs = stored.map(([id, r]) => {
    const job = new Job({ id, file: r.file, parentId: r.parent_id, name: r.name, label: r.label, baseVersion: r.base_version, manifest: r.manifest, uploadId: r.upload_id, key: r.key });
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
