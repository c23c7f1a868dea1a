// The public page of a folder link: browse the folder and its subfolders (breadcrumbs, the
// path kept in `?path=` so Back and reloads work), download one file through the verified
// chunk path, preview a file in a dialog, and download the whole folder or a selection (files
// and folders, across subfolders) as one zip that the server streams. A long folder comes a
// page (1,000 entries) at a time: the first page is drawn at once, the next one fetched as the
// list scrolls near its end (or its "Show more" button is pressed).
import { el } from './state.js';
import { formatDate } from './format.js';
import { page, draw, facts, linkFacts, say, explainPublic, sizeText } from './share.js';
import { verifiedDownload, previewOf, previewKind, fileUrl, zipUrl, follow } from './share-get.js';

const selected = new Set();
let brand = null;
/** Counts the folders opened: pages still arriving for one the visitor has left are dropped. */
let opened = 0;
/** Fetches the next page when the list's last row comes near the screen. */
const watch = new IntersectionObserver((seen) => {
  for (const e of seen) if (e.isIntersecting) e.target.querySelector('button')?.click();
}, { rootMargin: '800px' });

const pathOfUrl = () => new URLSearchParams(location.search).get('path') || '';

export function showFolder(header) {
  brand = header;
  window.addEventListener('popstate', () => open(pathOfUrl(), { push: false }));
  open(pathOfUrl(), { push: false });
}

function go(path) {
  open(path, { push: true }).then(() => document.querySelector('#share-list tbody tr button.open, #share-list tbody tr input')?.focus());
}

async function open(path, { push }) {
  const mine = ++opened;
  let listing;
  try {
    listing = await page.client.publicList(page.token, path, page.grant, undefined);
  } catch (e) {
    if (mine !== opened) return;
    if (path) { say(`Could not open ${path}: ${explainPublic(e)}`, 'error'); if (!push) go(''); return; }
    draw(brand, el('section', { className: 'card' }, el('p', { className: 'error', textContent: explainPublic(e) })));
    return;
  }
  if (mine !== opened) return;
  if (push) history.pushState(null, '', path ? `?path=${encodeURIComponent(path)}` : location.pathname);
  render(listing, mine);
}

function crumbs(path) {
  // At the shared folder itself the heading says where one is.
  const nav = el('nav', { className: 'crumbs', id: 'share-crumbs', hidden: !path });
  nav.setAttribute('aria-label', 'Folder path');
  const parts = path ? path.split('/') : [];
  const steps = [[page.face.name, ''], ...parts.map((p, i) => [p, parts.slice(0, i + 1).join('/')])];
  steps.forEach(([name, to], i) => {
    if (i > 0) nav.append(el('span', { className: 'sep', textContent: '/' }));
    const b = el('button', { type: 'button', textContent: name });
    if (i === steps.length - 1) b.setAttribute('aria-current', 'location');
    else b.addEventListener('click', () => go(to));
    nav.append(b);
  });
  return nav;
}

function render(listing, mine) {
  watch.disconnect();
  const f = page.face;
  const bar = el('progress', { id: 'share-progress', max: 1, value: 0, hidden: true });
  bar.setAttribute('aria-label', 'Download progress');
  const all = el('a', { href: `/s/${page.token}/download`, className: 'button secondary', id: 'share-zip-all', textContent: 'Download all (zip)' });
  const zipSel = el('button', { type: 'button', id: 'share-zip-selected', disabled: selected.size === 0 });
  const clear = el('button', { type: 'button', className: 'link', id: 'share-clear', textContent: 'Clear selection', hidden: selected.size === 0 });
  const count = () => {
    zipSel.textContent = selected.size ? `Download ${selected.size} selected (zip)` : 'Download selected (zip)';
    zipSel.disabled = selected.size === 0;
    clear.hidden = selected.size === 0;
  };
  count();
  zipSel.addEventListener('click', () => {
    follow(zipUrl([...selected].sort()));
    say(`Downloading a zip of ${selected.size} item${selected.size === 1 ? '' : 's'}.`);
  });
  clear.addEventListener('click', () => { selected.clear(); for (const c of document.querySelectorAll('#share-list input[type=checkbox]')) c.checked = false; count(); });

  const table = el('table', { className: 'files share-files', id: 'share-list' });
  table.append(el('caption', { className: 'visually-hidden', textContent: 'Files and folders of this shared folder' }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', className: 'pick' }, el('span', { className: 'visually-hidden', textContent: 'Select' })),
      el('th', { scope: 'col', textContent: 'Name' }),
      el('th', { scope: 'col', className: 'num', textContent: 'Size' }),
      el('th', { scope: 'col', className: 'when', textContent: 'Modified' }),
      el('th', { scope: 'col' }, el('span', { className: 'visually-hidden', textContent: 'Actions' })))));
  const body = el('tbody');
  // In the server's order (folders first, then files, by name), which later pages continue.
  const entries = listing.entries;
  for (const e of entries) body.append(row(e, bar, count));
  // The rows of a later page, after the ones drawn; answers the first of them.
  const add = (more) => {
    const rows = more.map((e) => row(e, bar, count));
    body.append(...rows);
    return rows[0];
  };
  if (listing.next) body.append(moreRow(listing.path, listing.next, mine, add));
  table.append(body);
  const card = el('section', { className: 'share-card' },
    el('h1', { className: 'share-name', textContent: f.name }),
    facts([['Folder', listing.path ? `/${listing.path}` : null], ...linkFacts(f), ['Download limit', f.max_downloads != null ? `${f.max_downloads} per file` : null]]),
    crumbs(listing.path),
    el('div', { className: 'row wrap share-actions' }, all, zipSel, clear), bar,
    entries.length ? table : el('p', { className: 'empty', id: 'share-empty', textContent: 'This folder is empty.' }));
  draw(brand, card);
}

/** The last row of a list that goes on: when it nears the screen (or its button is pressed)
 * it fetches the page after `next`, gives its entries to `add` and gives way to the next such
 * row while more follow. Focus on its button moves to the first new row. */
function moreRow(path, next, mine, add) {
  const b = el('button', { type: 'button', className: 'secondary small', textContent: 'Show more' });
  b.setAttribute('aria-label', 'Show more of this folder');
  const tr = el('tr', { className: 'more' }, el('td', { colSpan: 5 }, b));
  b.addEventListener('click', async () => {
    if (b.disabled) return;
    const focused = document.activeElement === b;
    b.disabled = true;
    b.textContent = 'Loading…';
    let listing;
    try {
      listing = await page.client.publicList(page.token, path, page.grant, next);
    } catch (e) {
      if (mine !== opened) return;
      say(`Could not load more of this folder: ${explainPublic(e)}`, 'error');
      b.disabled = false;
      b.textContent = 'Show more';
      return;
    }
    if (mine !== opened || !tr.isConnected) return;
    watch.unobserve(tr);
    const body = tr.parentElement;
    tr.remove();
    const first = add(listing.entries);
    if (listing.next) body.append(moreRow(path, listing.next, mine, add));
    if (focused) first?.querySelector('button, input')?.focus();
  });
  watch.observe(tr);
  return tr;
}

function row(e, bar, count) {
  const tr = el('tr', { className: e.kind });
  tr.dataset.name = e.name;
  tr.dataset.path = e.path;
  const pick = el('input', { type: 'checkbox', checked: selected.has(e.path) });
  pick.setAttribute('aria-label', `Select ${e.name}`);
  pick.addEventListener('change', () => { if (pick.checked) selected.add(e.path); else selected.delete(e.path); count(); });
  const name = el('td', { className: 'name' }, el('span', { className: `icon ${e.kind}`, ariaHidden: 'true' }));
  const actions = el('td', { className: 'actions' });
  if (e.kind === 'folder') {
    const b = el('button', { type: 'button', className: 'open', textContent: e.name });
    b.setAttribute('aria-label', `Open ${e.name}`);
    b.addEventListener('click', () => go(e.path));
    name.append(b);
  } else {
    name.append(el('span', { textContent: e.name }));
    if (previewKind(e.content_type)) {
      const p = el('button', { type: 'button', className: 'secondary small preview-btn', textContent: 'Preview' });
      p.setAttribute('aria-label', `Preview ${e.name}`);
      p.addEventListener('click', () => preview(e, bar));
      actions.append(p);
    }
    const d = el('button', { type: 'button', className: 'secondary small download', textContent: 'Download' });
    d.setAttribute('aria-label', `Download ${e.name}`);
    d.addEventListener('click', async () => { d.disabled = true; try { await verifiedDownload(e.path, e, bar); } finally { d.disabled = false; } });
    actions.append(d);
  }
  tr.append(el('td', { className: 'pick' }, pick), name,
    el('td', { className: 'num', textContent: e.kind === 'file' ? sizeText(e.size) : '' }),
    el('td', { className: 'when', textContent: formatDate(e.modified_at) }), actions);
  return tr;
}

/** The file in a dialog, with its download button beside it; Esc or Close shuts it. */
function preview(e, bar) {
  const box = previewOf(e.path, e);
  const download = el('button', { type: 'button', id: 'preview-download', textContent: `Download (${sizeText(e.size)})` });
  download.addEventListener('click', () => verifiedDownload(e.path, e, bar));
  const close = el('button', { type: 'button', className: 'secondary', id: 'preview-close', textContent: 'Close' });
  const title = el('h2', { id: 'preview-title', textContent: e.name });
  const d = el('dialog', { id: 'share-preview', className: 'share-preview' },
    el('div', { className: 'row preview-head' }, title, el('span', { className: 'grow' }), download, close), box);
  d.setAttribute('aria-labelledby', 'preview-title');
  close.addEventListener('click', () => d.close());
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  close.focus();
}
