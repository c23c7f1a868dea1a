// The drop page of a file request: a visitor gives their name, drops or picks files and whole
// folders, and each file is hashed in the app's Web Workers, posted as a manifest, sent chunk
// by chunk (six at a time, with retries) to the signed URLs the server answers, and committed.
// It shows nothing of the folder's contents; each file says where it landed (`name (from
// you)` when the name was taken). Every started file is kept in IndexedDB (web-client's `idb::drops`), so
// a reload resumes: the server lists only what this request's own uploads still lack.
import { UploadJob, dropSave, dropForget, dropPending } from '../pkg/web_client.js';
import { drive } from './upload-run.js';
import { el, newKey } from './state.js';
import { formatBytes, formatDate, formatRate } from './format.js';
import { takeDrop, fromPicker } from './picked.js';
import { page, draw, facts, say, explainPublic } from './share.js';
import { slots } from './slots.js';

const AT_ONCE = 3;
const NAME_KEY = 'cairn.drop.uploader';
const jobs = [];
/** The link as stored with each record: a hash of the token, never the token itself. */
let linkKey = '';

const uploading = slots(AT_ONCE);

async function hashOf(text) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

class Drop {
  constructor(id, r) {
    Object.assign(this, { id, file: r.file, name: r.name, path: r.path, uploader: r.uploader, manifest: r.manifest, uploadId: r.upload_id, at: r.at });
    this.label = this.path ? `${this.path}/${this.name}` : this.name;
    this.row = el('li', { className: 'upload waiting' });
    this.row.dataset.name = this.label;
    this.bar = el('progress', { max: 1, value: 0 });
    this.bar.setAttribute('aria-label', `Progress of ${this.label}`);
    this.detail = el('span', { className: 'detail', textContent: 'Waiting…' });
    this.actions = el('span', { className: 'actions' });
    this.row.append(el('span', { className: 'name', textContent: this.label }), this.actions, this.bar, this.detail);
    document.querySelector('#drop-list').append(this.row);
    document.querySelector('#drop-transfers').hidden = false;
  }

  record() {
    return { link: linkKey, file: this.file, name: this.name, path: this.path, uploader: this.uploader, manifest: this.manifest ?? null, upload_id: this.uploadId ?? null, at: this.at };
  }

  set(state, text) {
    this.state = state;
    this.row.className = `upload ${state}`;
    this.row.dataset.state = state;
    if (text !== undefined) this.detail.textContent = text;
    this.actions.replaceChildren();
    if (state === 'failed') {
      const retry = el('button', { type: 'button', className: 'secondary small retry', textContent: 'Retry' });
      retry.setAttribute('aria-label', `Retry ${this.label}`);
      retry.addEventListener('click', () => start(this));
      this.actions.append(retry);
    }
    overall();
  }
}

/** The transfer `drive` performs for `job`: the public calls of this link, and the row's hooks. */
function transfer(job, began) {
  const c = page.client;
  const total = job.file.size;
  return {
    file: job.file,
    manifest: job.manifest,
    server: {
      start: (manifest) => c.publicStartUpload(page.token, manifest, job.name, job.path, job.uploader, page.grant),
      resume: (id) => c.publicResumeUpload(page.token, id, page.grant),
      send: (...args) => c.sendChunks(...args),
      commit: (id, _key, _home, type) => c.publicCommit(page.token, id, page.grant, type ?? undefined),
    },
    step(s) {
      if (s.do === 'hash') job.set('hashing', 'Preparing…');
      else if ((s.do === 'start' || s.do === 'resume') && job.state !== 'sending') job.set('sending', 'Starting…');
      else if (s.do === 'commit') job.set('committing', 'Saving…');
    },
    hashing(hashed) {
      job.bar.value = total ? 0.5 * hashed / total : 0;
      job.detail.textContent = `Preparing ${formatBytes(hashed)} of ${formatBytes(total)}`;
    },
    async hashed() { job.manifest = this.manifest; await dropSave(job.id, job.record()); },
    async started() { job.uploadId = job.core.uploadId; await dropSave(job.id, job.record()); },
    progress({ done, sent }) {
      job.done = done;
      job.bar.value = total ? 0.5 + 0.5 * done / total : 1;
      const secs = (performance.now() - began) / 1000;
      job.detail.textContent = `${formatBytes(done)} of ${formatBytes(total)}${secs > 0.2 ? ` · ${formatRate(sent / secs)}` : ''}`;
      overall();
    },
  };
}

async function start(job) {
  await uploading.take();
  try {
    // The same lifecycle as the app's uploads (client-core's upload machine), run straight
    // through: an expired upload starts again, an outage fails the file and offers Retry.
    job.core ??= UploadJob.plain(!!job.manifest, job.uploadId ?? undefined, undefined);
    job.core.retry();
    const landed = await drive(job.core, transfer(job, performance.now()));
    await dropForget(job.id);
    job.bar.value = 1;
    job.done = job.file.size;
    job.landed = landed.name;
    const where = job.path ? ` in ${job.path}` : '';
    job.set('done', landed.name === job.name ? `Sent: saved as “${landed.name}”${where}` : `Sent: that name was taken, so it was saved as “${landed.name}”${where}`);
  } catch (e) {
    job.set('failed', `Failed: ${explainPublic(e)}`);
  } finally {
    uploading.give();
  }
}

function overall() {
  const total = jobs.reduce((s, j) => s + j.file.size, 0);
  const done = jobs.reduce((s, j) => s + (j.state === 'done' ? j.file.size : j.done || 0), 0);
  const busy = jobs.filter((j) => !['done', 'failed'].includes(j.state)).length;
  const bar = document.querySelector('#drop-overall');
  if (!bar) return;
  bar.value = total ? done / total : 1;
  document.querySelector('#drop-overall-text').textContent = busy
    ? `Sending ${busy} of ${jobs.length} file${jobs.length === 1 ? '' : 's'} · ${formatBytes(done)} of ${formatBytes(total)}`
    : `${jobs.filter((j) => j.state === 'done').length} of ${jobs.length} sent`;
}

/** Starts a drop of `items` ([{file, dirs}]) from `uploader`; folders come with their files. */
async function send(items, uploader) {
  const runs = [];
  for (const { file, dirs } of items) {
    if (!file) continue; // a folder: it is made when a file lands in it
    const id = newKey();
    const job = new Drop(id, { file, name: file.name, path: dirs.join('/'), uploader, at: Date.now() + jobs.length });
    jobs.push(job);
    await dropSave(id, job.record());
    runs.push(start(job));
  }
  overall();
  await Promise.all(runs);
}

/** After a reload: every file that had not landed goes on from where it was. */
async function resume() {
  const stored = await dropPending(linkKey);
  if (!stored.length) return;
  say(`Resuming ${stored.length} file${stored.length === 1 ? '' : 's'} after the reload.`);
  const runs = stored.map(([id, r]) => {
    const job = new Drop(id, r);
    job.resumed = true;
    jobs.push(job);
    job.set('waiting', 'Resuming after the reload…');
    return start(job);
  });
  await Promise.all(runs);
}

export async function showDrop(brand) {
  const f = page.face;
  linkKey = await hashOf(page.token);
  const who = el('input', { id: 'drop-name', name: 'name', autocomplete: 'name', maxLength: 64, required: true, value: localStorage.getItem(NAME_KEY) || '' });
  const whoError = el('p', { id: 'drop-name-error', className: 'dialog-error', role: 'alert', hidden: true });
  const files = el('input', { type: 'file', id: 'drop-files', multiple: true, hidden: true });
  const folder = el('input', { type: 'file', id: 'drop-folder', multiple: true, hidden: true });
  folder.webkitdirectory = true;
  // Buttons that open the hidden pickers, so the keyboard reaches them too.
  const chooser = (text, input, className) => {
    const b = el('button', { type: 'button', className, textContent: text });
    b.addEventListener('click', () => input.click());
    return b;
  };
  const zone = el('div', { className: 'dropzone drop-zone', id: 'drop-zone' },
    el('p', { className: 'drop-hint', textContent: 'Drop files or folders here' }),
    el('div', { className: 'row wrap' },
      chooser('Choose files', files, ''), files,
      chooser('Choose a folder', folder, 'secondary'), folder));
  zone.setAttribute('aria-label', 'Drop files or folders here to send them');
  const transfers = el('div', { id: 'drop-transfers', className: 'transfers', hidden: true },
    el('div', { className: 'overall' }, el('span', { id: 'drop-overall-text', ariaLive: 'polite' }), el('progress', { id: 'drop-overall', max: 1, value: 0 })),
    el('ul', { id: 'drop-list', className: 'uploads' }));
  const card = el('section', { className: 'share-card drop' },
    el('h1', { className: 'share-name', textContent: `Send files to ${f.shared_by}` }),
    el('p', { textContent: `What you send goes into their folder “${f.name}”. You cannot see what is in it, and nobody else who has this link sees what you send.` }),
    facts([
      ['Deadline', f.expires_at ? formatDate(f.expires_at) : null],
      ['Room left', f.bytes_left != null ? formatBytes(f.bytes_left) : null],
    ]),
    el('label', { className: 'drop-who' }, el('span', { textContent: 'Your name' }), who), whoError,
    zone, transfers);
  draw(brand, card);

  /** The uploader's name, or null (and the field says why). */
  const uploader = () => {
    const name = who.value.trim();
    if (!name) {
      whoError.textContent = 'Type your name first, so they know who sent the files.';
      whoError.hidden = false;
      who.setAttribute('aria-invalid', 'true');
      who.focus();
      return null;
    }
    whoError.hidden = true;
    who.removeAttribute('aria-invalid');
    localStorage.setItem(NAME_KEY, name);
    return name;
  };
  const take = (items) => {
    const name = uploader();
    if (name) send(items, name).catch((e) => say(`Could not send: ${explainPublic(e)}`, 'error'));
  };
  for (const type of ['dragenter', 'dragover']) zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove('over'); });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const collect = takeDrop(e.dataTransfer);
    collect().then(take).catch((err) => say(`Could not read what was dropped: ${explainPublic(err)}`, 'error'));
  });
  files.addEventListener('change', () => { take(fromPicker(files.files).map((i) => ({ ...i, dirs: [] }))); files.value = ''; });
  folder.addEventListener('change', () => { take(fromPicker(folder.files)); folder.value = ''; });
  if (!who.value) who.focus();
  await resume();
}
