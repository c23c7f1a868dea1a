// Getting a shared file on the public page: the verified download (the WASM client fetches
// the chunks six at a time and checks each one's BLAKE3 before it is written), the plain URLs
// the server streams (zip of a selection, previews), and the preview element for a type.
import { el } from './state.js';
import { blobSink, sink } from './download.js';
import { page, say, explainPublic, sizeText } from './share.js';

/** Files up to this size are assembled in memory and saved without a dialog; larger ones
 * stream to disk (the save picker) or, where the browser has no way to, go by the plain link,
 * which the server verifies as it streams. */
export const IN_MEMORY_MAX = 256 * 1024 * 1024;

/** `path` as URL segments. */
export const urlPath = (path) => path.split('/').map(encodeURIComponent).join('/');

/** The server's own URL of the file at `path` ("" for a file link's file). */
export function fileUrl(path, { inline = false } = {}) {
  const base = path ? `/s/${page.token}/files/${urlPath(path)}` : `/s/${page.token}/download`;
  return inline ? `${base}?inline=1` : base;
}

/** A zip of the selected paths (every one relative to the link's root), streamed by the server. */
export function zipUrl(paths) {
  return `/s/${page.token}/zip?${paths.map((p) => `path=${encodeURIComponent(p)}`).join('&')}`;
}

/** Starts a download of `url` the way a click on a plain link does, staying on the page. */
export function follow(url) {
  const a = el('a', { href: url, download: '', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

async function sinkFor(name, size, type) {
  if (size <= IN_MEMORY_MAX) return blobSink(name, type);
  const s = await sink(name, size);
  return s.kind === 'blob' ? null : s;
}

/**
 * Downloads the file at `path` with every chunk checked, reporting on `bar` (a `<progress>`).
 * `info` is what the page knows of it ({name, size, content_type}).
 */
export async function verifiedDownload(path, info, bar) {
  let s = null;
  let plain = false;
  say(`Downloading ${info.name}…`);
  if (bar) { bar.hidden = false; bar.value = 0; }
  try {
    await page.client.publicDownload(page.token, path, page.grant,
      async (m) => {
        s = await sinkFor(m.name, m.size, info.content_type || 'application/octet-stream');
        if (!s) { plain = true; throw Object.assign(new Error('plain'), { code: 'plain' }); }
        await s.start();
      },
      (bytes) => s.write(bytes),
      ({ done, total }) => {
        if (bar) bar.value = total ? done / total : 1;
        say(`Downloading ${info.name}: ${sizeText(done)} of ${sizeText(total)}, every piece checked`);
      });
    await s.close();
    document.body.dataset.lastDownload = s.kind;
    say(`Downloaded ${info.name}; every piece was checked against its BLAKE3 hash.`, 'ok');
  } catch (e) {
    s?.abort();
    if (plain) {
      // Too large to hold and no way to stream to disk here: the server's own download.
      follow(fileUrl(path));
      say(`Downloading ${info.name} directly (the server checks every piece as it sends it).`);
      return;
    }
    if (e?.name === 'AbortError') { say(''); return; }
    say(`Could not download ${info.name}: ${explainPublic(e)}`, 'error');
  } finally {
    if (bar) bar.hidden = true;
  }
}

/** How a type is previewed in the page, or null. */
export function previewKind(type) {
  const t = (type || '').split(';')[0].trim().toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('audio/')) return 'audio';
  if (t === 'application/pdf') return 'pdf';
  if (t.startsWith('text/') || ['application/json', 'application/xml', 'application/x-yaml', 'application/toml'].includes(t)) return 'text';
  return null;
}

/** The preview element of the file at `path`: the server's inline answer (its real type,
 * sniffing off, a `sandbox` policy) in an `<img>`, `<video>`, `<audio>` or sandboxed frame. */
export function previewOf(path, info) {
  const kind = previewKind(info.content_type);
  if (!kind) return null;
  const src = fileUrl(path, { inline: true });
  let media;
  if (kind === 'image') media = el('img', { src, alt: info.name, decoding: 'async' });
  else if (kind === 'video') media = el('video', { src, controls: true, preload: 'metadata', playsInline: true });
  else if (kind === 'audio') media = el('audio', { src, controls: true, preload: 'metadata' });
  else {
    media = el('iframe', { src, title: `Preview of ${info.name}`, loading: 'lazy' });
    // Text: no scripts, no forms, another origin as far as the frame knows — it can only be
    // shown. Chromium refuses to run its PDF viewer in a frame sandboxed by the attribute, so a
    // PDF's frame goes without it: the answer's own `Content-Security-Policy: sandbox` (and its
    // real type, sniffing off) sandbox the document all the same.
    if (kind !== 'pdf') media.setAttribute('sandbox', '');
  }
  media.className = `preview-media ${kind}`;
  const box = el('div', { className: `preview ${kind}` });
  box.dataset.kind = kind;
  if (page.face.max_downloads == null) {
    box.append(media);
    return box;
  }
  // A preview's bytes count against a download limit like any others: only when asked.
  const show = el('button', { type: 'button', className: 'secondary show-preview', textContent: 'Show a preview' });
  const note = el('span', { className: 'hint', textContent: 'It counts towards the link\'s download limit.' });
  show.addEventListener('click', () => { box.replaceChildren(media); });
  box.append(el('div', { className: 'row wrap' }, show, note));
  return box;
}
