// The viewer: a file of the open folder shown inside the app (an image, a PDF, text, audio or
// video), with Previous / Next through the folder's files. Its bytes are the download path's —
// chunks fetched and hash-checked by the WASM core — gathered into a Blob, or this device's
// copy (kept offline, or waiting to sync). A Blob becomes a blob: URL only for the kinds the
// browser renders without running anything (viewer-types.js); text, HTML and SVG included, is
// only ever put in a <pre> as text.
import { app, $, el, button, explain } from './state.js';
import * as offline from './offline.js';
import * as pins from './pins.js';
import { formatBytes } from './format.js';
import { kindOf, blobType, PREVIEWABLE } from './viewer-types.js';

/** Bigger files are not gathered in memory to be shown: they are downloaded. */
const PREVIEW_LIMIT = 200 * 1024 * 1024;
/** Text shows its beginning; fetching stops once this much has come. */
const TEXT_LIMIT = 1024 * 1024;

const viewer = {
  /** The folder's files, in the list's order, and the one shown. */
  files: [],
  at: 0,
  /** Counts what was shown: a fetch for a file the user has moved on from is dropped. */
  shown: 0,
  /** The blob: URL on screen, revoked when the viewer moves on or closes. */
  url: null,
  download: () => {},
  closed: () => {},
};

const dialog = $('#viewer');
const body = $('#viewer-body');
const status = $('#viewer-status');

/**
 * Opens the viewer on `files[at]`. `download(node)` is the list's Download action; `closed(node)`
 * is called with the file shown last when the viewer closes (to put the focus back on its row).
 */
export function openViewer(files, at, { download, closed }) {
  Object.assign(viewer, { files, at, download, closed });
  if (!dialog.open) dialog.showModal();
  $('#viewer-close').focus();
  show();
}

function current() { return viewer.files[viewer.at]; }

function step(by) {
  const at = viewer.at + by;
  if (at < 0 || at >= viewer.files.length) return;
  viewer.at = at;
  show();
}

/** Empties the stage: a playing video stops, the last blob: URL is let go. */
function clear() {
  viewer.shown += 1;
  body.replaceChildren();
  if (viewer.url) URL.revokeObjectURL(viewer.url);
  viewer.url = null;
}

function tell(text, kind = '') {
  status.textContent = text;
  status.className = `hint ${kind}`;
}

/** A sentence and the buttons that lead on from it, in place of a preview. */
function instead(text, ...actions) {
  const node = current();
  body.replaceChildren(el('div', { className: 'viewer-instead' },
    el('p', { textContent: text }),
    el('div', { className: 'row' }, ...actions, button('Download', () => viewer.download(node), '', `Download ${node.name}`))));
}

async function show() {
  clear();
  const run = viewer.shown;
  const node = current();
  const kind = kindOf(node.name, node.content_type);
  $('#viewer-title').textContent = node.name;
  $('#viewer-count').textContent = `${viewer.at + 1} of ${viewer.files.length}`;
  $('#viewer-prev').disabled = viewer.at === 0;
  $('#viewer-next').disabled = viewer.at === viewer.files.length - 1;
  dialog.dataset.state = 'loading';
  if (!PREVIEWABLE.has(kind)) {
    settled('none', '');
    instead('No preview for this type. Download it to open it with another app.');
    return;
  }
  if (kind !== 'text' && node.size > PREVIEW_LIMIT) {
    settled('none', '');
    instead(`Too large to preview here (${formatBytes(node.size)}). Download it to open it with another app.`);
    return;
  }
  const bar = el('progress', { max: 1, value: 0 });
  bar.setAttribute('aria-label', `Loading ${node.name}`);
  body.replaceChildren(bar);
  tell('Loading…');
  let blob;
  try {
    blob = await contentOf(node, {
      limit: kind === 'text' ? TEXT_LIMIT : Infinity,
      live: () => run === viewer.shown,
      progress: (done, total) => {
        if (run !== viewer.shown || !total) return;
        bar.value = done / total;
        tell(`Loading… ${Math.floor((100 * done) / total)} %`);
      },
    });
  } catch (e) {
    if (run !== viewer.shown) return;
    settled('error', `Could not load ${node.name}: ${explain(e)}`, 'error');
    instead(navigator.onLine ? 'Try again, or download it.' : 'Viewing a file needs the network unless it is kept offline on this device: connect, or use "Keep offline" while connected.',
      button('Try again', () => show(), 'secondary'));
    return;
  }
  if (run !== viewer.shown) return;
  if (kind === 'text') { await showText(node, blob, run); return; }
  viewer.url = URL.createObjectURL(new Blob([blob], { type: blobType(node.name, node.content_type) }));
  const failed = () => {
    if (run !== viewer.shown) return;
    settled('error', `${node.name} could not be shown: it may be damaged, or in a format this browser does not play.`, 'error');
    instead('Download it to open it with another app.');
  };
  let stage;
  if (kind === 'image') {
    stage = el('img', { src: viewer.url, alt: node.name });
    stage.addEventListener('load', () => { if (run === viewer.shown) settled('shown', ''); });
    stage.addEventListener('error', failed);
  } else if (kind === 'pdf') {
    // Chromium's own PDF viewer (which does not run in a sandboxed frame); the blob's type is
    // application/pdf whatever the bytes are, so nothing in it becomes a page of ours.
    stage = el('iframe', { src: viewer.url, title: node.name });
    stage.addEventListener('load', () => { if (run === viewer.shown) settled('shown', ''); });
  } else {
    stage = el(kind, { src: viewer.url, controls: true, preload: 'metadata' });
    stage.setAttribute('aria-label', node.name);
    stage.addEventListener('loadedmetadata', () => { if (run === viewer.shown) settled('shown', ''); });
    stage.addEventListener('error', failed);
  }
  body.replaceChildren(stage);
}

async function showText(node, blob, run) {
  const cut = blob.size > TEXT_LIMIT || node.size > TEXT_LIMIT;
  // `stream: true` leaves out a character cut in half at the limit.
  const text = new TextDecoder().decode(await blob.slice(0, TEXT_LIMIT).arrayBuffer(), { stream: cut });
  if (run !== viewer.shown) return;
  const pre = el('pre', { className: 'viewer-text', textContent: text, tabIndex: 0 });
  pre.setAttribute('aria-label', node.name);
  body.replaceChildren(pre);
  settled('shown', cut ? `Showing the first ${formatBytes(TEXT_LIMIT)} of ${formatBytes(node.size)}: download it for the whole file.` : '');
}

/** The loading is over: `state` for tests and styles, and what the status line says. */
function settled(state, text, kind = '') {
  dialog.dataset.state = state;
  tell(text, kind);
}

/**
 * The bytes of `node`: this device's copy if it has one that is current (or any copy offline),
 * else its chunks, fetched and checked by the WASM core as a download is. With `limit`, the
 * fetch stops once that much has come. `live()` false stops it too (the user moved on).
 */
async function contentOf(node, { limit, live, progress }) {
  if (node.pending && node.id < 0) {
    // Queued offline: the bytes are still on this device, in the outbox.
    const file = await offline.queuedFile(-node.id);
    if (!file) throw Object.assign(new Error(`${node.name} is waiting to sync and is not on this device.`), { status: 400 });
    return file;
  }
  const kept = await pins.pinned(node.id);
  if (kept && (kept.node.version_id === node.version_id || !navigator.onLine)) return pins.contentOf(kept);
  const parts = [];
  let have = 0;
  let enough = false;
  try {
    await app.client.downloadStream(node.id, (bytes) => {
      if (!live()) throw new Error('moved on');
      parts.push(bytes);
      have += bytes.length;
      if (have >= limit) { enough = true; throw new Error('enough'); }
    }, ({ done, total }) => progress(Math.min(done, limit), Math.min(total, limit)));
  } catch (e) {
    if (!enough) throw e;
  }
  return new Blob(parts);
}

$('#viewer-prev').addEventListener('click', () => step(-1));
$('#viewer-next').addEventListener('click', () => step(1));
$('#viewer-download').addEventListener('click', () => viewer.download(current()));
$('#viewer-close').addEventListener('click', () => dialog.close());
dialog.addEventListener('keydown', (e) => {
  // A media element's own arrows seek; a button's Enter or Space is its own.
  if (['VIDEO', 'AUDIO', 'INPUT'].includes(e.target.tagName)) return;
  if (e.key === 'ArrowLeft') { e.preventDefault(); step(-1); }
  else if (e.key === 'ArrowRight') { e.preventDefault(); step(1); }
});
dialog.addEventListener('close', () => {
  const last = current();
  clear();
  delete dialog.dataset.state;
  tell('');
  if (last) viewer.closed(last);
});
