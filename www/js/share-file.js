// The public page of a file link: the file's facts, a verified Download button (with the
// plain server link beside it for tools and for browsers without WASM), and the file shown in
// the page when it is an image, a PDF, text, audio or video.
import { el } from './state.js';
import { formatDate } from './format.js';
import { page, draw, facts, linkFacts, sizeText } from './share.js';
import { verifiedDownload, previewOf, fileUrl } from './share-get.js';

export function showFile(brand) {
  const f = page.face;
  const info = { name: f.name, size: f.size, content_type: f.content_type };
  const bar = el('progress', { id: 'share-progress', max: 1, value: 0, hidden: true });
  bar.setAttribute('aria-label', `Download of ${f.name}`);
  const download = el('button', { type: 'button', id: 'share-download', textContent: `Download (${sizeText(f.size)})` });
  download.addEventListener('click', async () => {
    download.disabled = true;
    try { await verifiedDownload('', info, bar); } finally { download.disabled = false; }
  });
  const plain = el('a', { href: fileUrl(''), className: 'button secondary', id: 'share-plain', textContent: 'Direct link' });
  plain.title = 'The file straight from the server: for curl, wget or a download manager';
  const left = f.downloads_left != null ? `${f.downloads_left} of ${f.max_downloads}` : null;
  const card = el('section', { className: 'share-card' },
    el('h1', { className: 'share-name', textContent: f.name }),
    facts([
      ['Size', sizeText(f.size)],
      ['Type', f.content_type],
      ['Modified', formatDate(f.modified_at)],
      ...linkFacts(f),
      ['Downloads left', left],
    ]),
    el('div', { className: 'row wrap share-actions' }, download, plain), bar);
  const preview = previewOf('', info);
  if (preview) card.append(preview);
  draw(brand, card);
}
