// Thumbnails: after an image's upload commits, the page draws a small preview of it here, in the
// browser (the server never decodes an image a user sent), and stores it with the version; the
// file list and the grid show it in place of the type icon. A thumbnail is never required:
// making one is off the upload's path (after the commit, two at a time) and a failure is only
// logged. It is never trusted for anything but showing a preview.
import { app } from './state.js';
import { Client } from '../pkg/web_client.js';

/** What the server takes: `{maxBytes, maxSide, types}`, asked once the WASM has started (this
 * module is imported before it has). */
let rules = null;
const RULES = () => (rules ??= Client.thumbnailRules());
/** Stored types the browser can decode into a thumbnail. SVG is not among them: it is a
 * document, and only ever shown as text. */
const DRAWN = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);
/** Larger images are left alone: decoding one costs more memory than a preview is worth. */
const MAX_SOURCE = 50 * 1024 * 1024;
const AT_ONCE = 2;

const waiting = [];
let running = 0;
const heard = new Set();
/** `id:version` of every thumbnail this page stored: a listing read before one was stored
 * (and kept under an ETag that a thumbnail does not change) learns of it from here. */
const made = new Set();

/** Calls `f(node, versionId)` whenever a thumbnail this page made of version `versionId` of
 * `node` (as its commit answered it) has been stored. */
export function onStored(f) { heard.add(f); }

/** After a commit (`answer`, a `CommitResponse`) of `file`, sniffed as `contentType`: queues a
 * thumbnail when it is an image worth one. Returns at once. */
export function afterCommit(file, contentType, answer) {
  if (!file || !answer?.node || answer.unchanged || answer.version_id == null) return;
  if (!DRAWN.has(contentType) || file.size > MAX_SOURCE) return;
  waiting.push({ file, node: answer.node, version: answer.version_id });
  pump();
}

function pump() {
  while (running < AT_ONCE && waiting.length) {
    const job = waiting.shift();
    running += 1;
    make(job).finally(() => { running -= 1; pump(); });
  }
}

async function make({ file, node, version }) {
  try {
    const image = await draw(file);
    await app.client.putThumbnail(node.id, version, image);
    made.add(`${node.id}:${version}`);
    // Tests wait on this count.
    document.body.dataset.thumbnails = String(Number(document.body.dataset.thumbnails || 0) + 1);
    for (const f of heard) f(node, version);
  } catch (e) {
    console.warn(`no thumbnail for ${node.name}:`, e);
  }
}

/** `file` drawn with its longest side at most `maxSide` px, as WebP (JPEG where the browser
 * cannot encode WebP), at most `maxBytes`. */
export async function draw(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, RULES().maxSide / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  let blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
  if (blob.type !== 'image/webp') blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  if (blob.size > RULES().maxBytes) blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.5 });
  if (blob.size > RULES().maxBytes || !RULES().types.includes(blob.type)) throw new Error(`a ${blob.type} of ${blob.size} bytes`);
  return blob;
}

// ---- showing them ----------------------------------------------------------------------------

/** Object URLs of the thumbnails fetched for the folder on screen, by `id:version`. */
let urls = new Map();
const fetching = [];
let fetches = 0;
/** Loads an `<img>`'s thumbnail once its tile comes near the screen. */
const near = new IntersectionObserver((seen) => {
  for (const e of seen) {
    if (!e.isIntersecting) continue;
    near.unobserve(e.target);
    fetching.push(e.target);
    fetchNext();
  }
}, { rootMargin: '400px' });

function fetchNext() {
  while (fetches < 4 && fetching.length) {
    const img = fetching.shift();
    if (!img.isConnected) continue;
    fetches += 1;
    load(img).finally(() => { fetches -= 1; fetchNext(); });
  }
}

async function load(img) {
  const key = img.dataset.thumb;
  const [id, version] = key.split(':').map(Number);
  const kept = urls;
  try {
    let url = kept.get(key);
    if (!url) {
      const blob = await app.client.thumbnail(id, version);
      url = URL.createObjectURL(blob);
      // The folder changed while it came: not kept (and not shown).
      if (kept !== urls) { URL.revokeObjectURL(url); return; }
      kept.set(key, url);
    }
    img.src = url;
  } catch (e) {
    // Gone meanwhile (a new version, a purge): the icon stays.
    img.remove();
    if (e?.status !== 404) console.warn('thumbnail not loaded:', e);
  }
}

/** Marks the children of listing `l` whose thumbnail this page stored; true if any changed. */
export function markMade(l) {
  let changed = false;
  for (const c of l?.children || []) {
    if (!c.thumbnail && made.has(`${c.id}:${c.version_id}`)) { c.thumbnail = true; changed = true; }
  }
  return changed;
}

/** An `<img>` for file `node`'s thumbnail, loaded when it comes near the screen; null when its
 * current version has none. */
export function thumbImage(node) {
  if (node.version_id == null || !(node.thumbnail || made.has(`${node.id}:${node.version_id}`))) return null;
  const img = document.createElement('img');
  img.className = 'thumb';
  img.alt = '';
  img.loading = 'lazy';
  img.decoding = 'async';
  img.dataset.thumb = `${node.id}:${node.version_id}`;
  const url = urls.get(img.dataset.thumb);
  if (url) img.src = url; else near.observe(img);
  return img;
}

/** Lets the thumbnails of the folder left go (another folder is drawn). */
export function forgetShown() {
  for (const url of urls.values()) URL.revokeObjectURL(url);
  urls = new Map();
  fetching.length = 0;
  near.disconnect();
}
