// Cairn's web app: draws the screens and wires the user's actions to the WASM core, which owns
// the protocol (chunking, hashing, missing-chunk upload, commit, verified download) and the
// sync decisions. Works offline: the service worker keeps the shell, IndexedDB the tree.
import init, { Client } from '../pkg/web_client.js';
import { app, $, el, button, say, folder, explain, ask, isOffline } from './state.js';
import * as store from './store.js';
import * as offline from './offline.js';
import * as pins from './pins.js';
import { takeDrop, fromPicker, uploadItems, resumeStored } from './uploads.js';
import { startLive, stopLive, sawListing } from './live.js';
import { downloadFile, downloadZip, saveBlob } from './download.js';
import { showTrash, showVersions, runSearch, showDevices, showUsage, showConflicts, wireAccount } from './screens.js';
import { formatAgo, formatBytes, formatDate } from './format.js';
import { ROLE_TOO_LOW } from '../pkg/error_codes.js';
import { share } from './share-dialog.js';
import { showLinks } from './links.js';
import { loadShares, onShares, shareAt, shareById, mountAt, leaveFolder, shareHere, roleHere, canWriteHere, sharedRoots, forgetShares } from './shares.js';
import { showShared, wireShared } from './shared-with-me.js';
import { openViewer } from './viewer.js';
import { kindOf } from './viewer-types.js';
import { wireExport } from './export.js';
import { thumbImage, forgetShown, onStored, markMade } from './thumbs.js';

/** The browser's offer to install the app, while it stands (see "install" below). */
let installPrompt = null;

const SESSION_KEY = 'cairn.session';

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('no service worker:', e));
}

await init();
app.client = new Client('');
app.session = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');

// ---- views ---------------------------------------------------------------------------------

const VIEWS = ['auth', 'files', 'shared', 'search', 'trash', 'conflicts', 'links', 'devices'];
let view = 'auth';

function show(v) {
  view = v;
  for (const name of VIEWS) $(`#${name}-view`).hidden = name !== v;
  const signedIn = v !== 'auth';
  $('#account').hidden = !signedIn;
  $('#nav').hidden = !signedIn;
  $('#search-form').hidden = !signedIn;
  // A folder shared with the user whose place in their tree could not be read (opened
  // offline from "Shared with me") is where "Shared with me" led.
  const here = v === 'files' && app.path[0]?.share != null ? 'shared' : v;
  for (const b of document.querySelectorAll('#nav button[data-view]')) {
    if (b.dataset.view === here) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  document.body.dataset.view = v;
}

async function open(v) {
  say('');
  show(v);
  if (v === 'files') await refresh();
  else if (v === 'trash') await showTrash();
  else if (v === 'conflicts') await showConflicts();
  else if (v === 'devices') await showDevices(signOutLocally);
  else if (v === 'links') await showLinks();
  else if (v === 'shared') await showShared();
  else if (v === 'search') await runSearch(openSearchResult);
}

for (const b of document.querySelectorAll('#nav button[data-view]')) {
  b.addEventListener('click', () => {
    // "My files" from inside a folder shared with the user goes back to the user's own tree.
    if (b.dataset.view === 'files' && app.path[0]?.share != null) app.path = [home()];
    open(b.dataset.view);
  });
}

/** The first breadcrumb of the user's own tree. */
function home() { return { id: app.session.root_id, name: 'My files' }; }

// ---- session -------------------------------------------------------------------------------

function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : 'web';
  return `${browser} on ${os}`;
}

async function signedIn(s, username) {
  app.session = { ...s, username };
  localStorage.setItem(SESSION_KEY, JSON.stringify(app.session));
  app.client.setToken(app.session.token);
  app.path = [home()];
  $('#whoami').textContent = username;
  show('files');
  // Ask the browser not to evict the offline tree, outbox and pinned files.
  navigator.storage?.persist?.().then((granted) => { document.body.dataset.persisted = String(granted); }).catch(() => {});
  loadShares();
  await refresh();
  offline.updateBadge();
  startLive();
  if (navigator.onLine) offline.replay();
  resumeStored();
  pins.upgradeWholeCopies();
}

async function authenticate(kind) {
  const username = $('#username').value.trim();
  const password = $('#password').value;
  $('#auth-error').textContent = '';
  if (!username || password.length < 8) {
    $('#auth-error').textContent = 'Enter a username and a password of at least 8 characters.';
    return;
  }
  try {
    const s = kind === 'register'
      ? await app.client.register(username, password, deviceName())
      : await app.client.login(username, password, deviceName());
    // Another account's cache must never show; the same account keeps its unsent changes.
    if ((await store.get('meta', 'owner')) !== username) await store.clearAll();
    await store.put('meta', 'owner', username);
    await signedIn(s, username);
  } catch (e) {
    $('#auth-error').textContent = isOffline(e) ? 'You are offline: signing in needs the network.' : e.message;
  }
}

/** Forgets the session. `wipe` also forgets this device's copy of the account (an explicit
 * sign-out); an expired or revoked session keeps it, so unsent changes survive a new sign-in. */
async function signOutLocally({ wipe = false } = {}) {
  stopLive();
  forgetShares();
  joined = null;
  localStorage.removeItem(SESSION_KEY);
  app.session = null;
  app.client.setToken(undefined);
  if (wipe) await store.clearAll();
  show('auth');
}

$('#auth-form').addEventListener('submit', (e) => { e.preventDefault(); authenticate('login'); });
$('#register').addEventListener('click', () => authenticate('register'));
$('#logout').addEventListener('click', async () => {
  const pending = await offline.pendingCount();
  if (pending && !(await ask({ title: 'Sign out and lose unsent changes?', text: `${pending} change${pending > 1 ? 's' : ''} made offline ha${pending > 1 ? 've' : 's'} not reached the server yet and would be lost.`, ok: 'Sign out anyway' }))) return;
  try { await app.client.signOut(); } catch { /* offline or already revoked: forget it here anyway */ }
  await signOutLocally({ wipe: true });
});

// ---- the file list -------------------------------------------------------------------------

let offlineIds = new Set();
/** Counts the reads of the open folder: the early pages of one a newer read overtook are
 * not drawn. */
let reads = 0;

async function refresh({ quiet = false } = {}) {
  if (!app.session) return;
  const id = folder().id;
  const mine = ++reads;
  let l = null;
  let stale = false;
  try {
    // A kept listing whose ETag still matches comes back as a 304: no body travels.
    const kept = await offline.cachedListing(id);
    // A shared folder the user is a member of is tagged by its own tree's changes, which do
    // not cover the name and place the user gave it in theirs: read it whole, never a 304
    // (not even the browser's HTTP cache's).
    const mounted = mountAt(id) != null;
    // A long folder comes in pages: its first page is drawn as soon as it arrives and the
    // next ones join it as they come, so a folder of 100,000 entries shows its first rows at
    // once. What is kept offline (and what live sync compares) is the whole listing, below.
    let partial = null;
    l = await app.client.list(id, mounted ? undefined : kept?.etag, mounted, (page, first) => {
      if (mine !== reads || folder()?.id !== id) return;
      if (first) {
        partial = { folder: page.folder, children: page.children };
        showListing(partial);
      } else if (partial && app.listing === partial) {
        partial.children.push(...page.children);
        if (view === 'files' && rows.folder === id) rows.add([...page.children].sort(order));
      }
    });
    if (l) { markMade(l); await offline.saveListing(l); } else l = kept;
  } catch (e) {
    // The user went elsewhere meanwhile (or was taken home from a share that is gone).
    if (folder()?.id !== id) return;
    if (e.status === 401) { say('Your session ended; please sign in again.', 'error'); await signOutLocally(); return; }
    // A folder shared with the user that is no longer theirs: back to their own files, saying
    // so. This listing's 404 may come before the feed's re-read of the shares, so it is told
    // here too (stepping up silently would leave the user wondering where the folder went).
    const here = folder();
    if (e.status === 404 && here.share != null && shareById(here.share)?.role !== 'owner') { leaveShare(`${here.name} is no longer shared with you.`); return; }
    if (e.status === 404 && app.path.length > 1) { app.path = app.path.slice(0, -1); return refresh({ quiet }); }
    l = await offline.cachedListing(id);
    stale = true;
    if (!l) { if (!quiet) say(`Could not load the folder: ${explain(e)}`, 'error'); return; }
  }
  if (folder()?.id !== id) return;
  offlineIds = await pins.pinnedIds();
  document.body.dataset.stale = String(stale);
  if (stale && !quiet) say('Offline: showing the last known contents of this folder.');
  showListing(l);
  sawListing(l);
  if (!stale) { pins.refreshPins(l.children); showUsage(); }
}
app.refresh = refresh;

/** Makes `l` the open folder's listing and draws it. */
function showListing(l) {
  // Renamed elsewhere (a shared folder's root by its owner, say): the breadcrumb follows. The
  // home folder keeps its own label.
  if (app.path.length > 1 || app.path[0].share != null) folder().name = l.folder.name;
  app.listing = l;
  if (view === 'files') render();
}

function openFolder(node) {
  // A shared root keeps its share in the path, so the role is known all the way down.
  const s = shareAt(node.id);
  app.path.push({ id: node.id, name: node.name, ...(s ? { share: s.id } : {}) });
  refresh().then(() => $('#files tbody tr')?.focus());
}

/** Opens a shared folder (from Shared with me) where it lies in the user's own tree (a
 * member's mount, or the owner's folder): breadcrumbs from My files down to it. Where that
 * place cannot be read (offline with nothing kept), the breadcrumbs start at its name. */
async function openShare(s) {
  app.path = (await placeOf(s)) || [{ id: s.root_id, name: s.name, share: s.id }];
  await open('files');
  $('#files tbody tr')?.focus();
}

/** The path from the user's root down to share `s`'s folder, walked up its parents; null when
 * some listing on the way cannot be had. */
async function placeOf(s) {
  const path = [];
  let id = s.root_id;
  for (let depth = 0; id !== app.session.root_id; depth += 1) {
    if (id == null || depth > 64) return null;
    let l;
    try { l = await app.client.list(id, undefined, mountAt(id) != null); await offline.saveListing(l); } catch { l = await offline.cachedListing(id); }
    if (!l) return null;
    path.unshift({ id, name: l.folder.name, ...(id === s.root_id ? { share: s.id } : {}) });
    id = l.folder.parent_id;
  }
  return [home(), ...path];
}

/** Back to the user's own files, saying why. */
function leaveShare(why) {
  app.path = [home()];
  say(why, 'error');
  if (view === 'files') { show('files'); refresh({ quiet: true }); }
}

// The shares were re-read (at start, or a membership change came through the feed): redraw
// the badges and the role's buttons, and leave a shared folder that is no longer the user's.
let joined = null;
onShares((list) => {
  if (!app.session) return;
  // A shared folder that left the user takes its offline copies with it.
  const now = new Set(list.filter((x) => x.accepted && x.role !== 'owner').map((x) => x.id));
  if (joined && [...joined].some((id) => !now.has(id))) {
    pins.dropUnreachable().then(async (n) => {
      if (n === 0) return;
      offlineIds = await pins.pinnedIds();
      say(`${n} file${n === 1 ? '' : 's'} kept offline from a folder no longer shared with you ${n === 1 ? 'was' : 'were'} removed from this device.`);
      if (view === 'files' && app.listing) render();
    }).catch(() => {});
  }
  joined = now;
  const s = shareHere();
  if (s && (s.gone || !s.accepted)) { leaveShare(`${app.path.find((p) => p.share === s.id)?.name || 'That folder'} is no longer shared with you.`); return; }
  if (view === 'files' && app.listing) render();
});
wireShared(openShare, () => view === 'shared');

function openSearchResult(r) {
  const target = r.node.kind === 'folder' ? r.node : { id: r.node.parent_id, name: (r.path || '').split('/').filter(Boolean).pop() || 'My files' };
  app.path = [home()];
  if (target.id !== app.path[0].id) app.path.push({ id: target.id, name: target.name });
  open('files');
}

const byName = new Intl.Collator();
/** The list's order: folders first, then files, each by name. */
const order = (a, b) => (a.kind === b.kind ? byName.compare(a.name, b.name) : a.kind === 'folder' ? -1 : 1);

/**
 * A folder's rows, drawn a window at a time: a folder of 100,000 entries gets its first rows at
 * once and the rest as the list scrolls near its end (or the keyboard walks past it), so the
 * page never builds rows nobody has looked at. A redraw of the same folder draws at least as
 * many rows as before, so the list never shrinks under the user's scroll position.
 */
const rows = {
  WINDOW: 200,
  /** The folder drawn. */
  folder: null,
  nodes: [],
  drawn: 0,
  body: null,
  more: null,
  watch: new IntersectionObserver((seen) => { if (seen.some((e) => e.isIntersecting)) rows.extend(); }, { rootMargin: '800px' }),
  draw(body, nodes, focused, keep = 0) {
    this.watch.disconnect();
    Object.assign(this, { body, nodes, drawn: 0, more: null });
    const at = focused ? nodes.findIndex((n) => String(n.id) === focused) : -1;
    this.extend(Math.max(this.WINDOW, at + 1, keep));
    if (at >= 0) body.rows[at]?.focus();
  },
  /** Adds `more` (a later page, in the list's order) to the nodes. Pages come in order, so
   * they mostly go after the last; where some sort among the rows drawn already, those are
   * drawn again (as many as before, the focus kept). */
  add(more) {
    if (!more.length) return;
    const nodes = this.nodes;
    let at = nodes.length;
    while (at > 0 && order(nodes[at - 1], more[0]) > 0) at -= 1;
    if (at === nodes.length) {
      for (const n of more) nodes.push(n);
    } else {
      const tail = nodes.splice(at);
      let i = 0;
      let j = 0;
      while (i < tail.length || j < more.length) nodes.push(j >= more.length || (i < tail.length && order(tail[i], more[j]) <= 0) ? tail[i++] : more[j++]);
    }
    if (at < this.drawn) {
      const focused = document.activeElement?.closest?.('#files tbody tr')?.dataset.id;
      const keep = this.drawn;
      this.body.replaceChildren();
      this.draw(this.body, nodes, focused, keep);
    } else {
      this.extend(0);
    }
  },
  extend(count = this.WINDOW) {
    const upto = Math.min(this.nodes.length, this.drawn + count);
    this.more?.remove();
    const frag = document.createDocumentFragment();
    for (; this.drawn < upto; this.drawn++) frag.append(row(this.nodes[this.drawn]));
    this.body.append(frag);
    this.more = null;
    if (this.drawn < this.nodes.length) {
      this.more = el('tr', { className: 'more' }, el('td', { colSpan: 4, textContent: `${this.nodes.length - this.drawn} more…` }));
      this.body.append(this.more);
      this.watch.observe(this.more);
    }
  },
  /** The row after `tr`, drawing the next window first when `tr` is the last drawn. */
  next(tr) {
    if (tr.nextElementSibling === this.more && this.more) this.extend();
    return tr.nextElementSibling;
  },
};

function render() {
  const crumbs = $('#crumbs');
  crumbs.replaceChildren();
  app.path.forEach((p, i) => {
    if (i > 0) crumbs.append(el('span', { className: 'sep', textContent: '/' }));
    const b = button(p.name, () => { app.path = app.path.slice(0, i + 1); refresh(); }, 'crumb');
    if (i === app.path.length - 1) b.setAttribute('aria-current', 'location');
    crumbs.append(b);
  });
  const body = $('#files tbody');
  // A redraw (a live change, a new role, the rest of a long listing) keeps the keyboard where
  // it was (on the same row) and the rows drawn.
  const focused = document.activeElement?.closest?.('#files tbody tr')?.dataset.id;
  const keep = rows.folder === app.listing.folder.id ? rows.drawn : 0;
  // Another folder: the last one's thumbnails are let go.
  if (rows.folder !== app.listing.folder.id) forgetShown();
  rows.folder = app.listing.folder.id;
  body.replaceChildren();
  const children = [...app.listing.children].sort(order);
  rows.draw(body, children, focused, keep);
  $('#empty').hidden = children.length > 0;
  // An empty home folder is most likely a new account: say what Cairn can do.
  const atHome = app.path.length === 1 && app.path[0].share == null;
  const writable = canWriteHere();
  $('#view-only').hidden = writable || roleHere() == null;
  for (const b of [$('#new-folder'), $('label[for="folder-input"]'), $('label[for="file-input"]')]) b.hidden = !writable;
  $('#welcome').hidden = !atHome;
  $('#empty-title').textContent = atHome ? 'Welcome to Cairn. Your files go here.' : 'This folder is empty.';
  $('#empty-hint').hidden = !writable;
  $('#install-app').hidden = !(atHome && installPrompt);
  $('#files').hidden = children.length === 0;
  $('#download-folder').disabled = children.length === 0;
}

function row(node) {
  const tr = el('tr', { className: `${node.kind}${node.pending ? ' pending' : ''}`, tabIndex: 0 });
  tr.dataset.name = node.name;
  tr.dataset.id = node.id;
  tr.setAttribute('aria-label', `${node.kind === 'folder' ? 'Folder' : 'File'} ${node.name}`);
  const name = el('td', { className: 'name' });
  const shared = node.kind === 'folder' && sharedRoots().has(node.id);
  // A folder shared with the user, where they placed it in their own tree.
  const mount = shared ? mountAt(node.id) : null;
  if (node.kind === 'folder') {
    name.append(el('span', { className: `icon folder${shared ? ' shared' : ''}`, ariaHidden: 'true' }), button(node.name, () => openFolder(node), 'open', `Open ${node.name}`));
    if (shared) {
      tr.dataset.shared = 'true';
      if (mount) tr.dataset.mount = 'true';
      name.append(el('span', { className: 'tag shared', textContent: 'shared', title: mount ? `Shared with you by ${mount.owner}` : 'A shared folder' }));
    }
  } else {
    const kind = kindOf(node.name, node.content_type);
    tr.dataset.kind = kind;
    // The current version's thumbnail, where it has one, stands in for the type icon.
    const icon = el('span', { className: `icon file ${kind}`, ariaHidden: 'true' });
    const thumb = thumbImage(node);
    if (thumb) { icon.classList.add('has-thumb'); icon.append(thumb); }
    name.append(icon, button(node.name, () => viewFile(node, tr), 'open', `View ${node.name}`));
  }
  if (node.pending) name.append(el('span', { className: 'tag', textContent: 'waiting to sync' }));
  if (offlineIds.has(node.id)) name.append(el('span', { className: 'tag ok', textContent: 'available offline' }));
  const size = el('td', { className: 'num', textContent: node.kind === 'file' ? formatBytes(node.size) : '' });
  const when = el('td', { className: 'when', textContent: formatDate(node.modified_at) });
  // In a shared folder the server says who wrote each file's current version.
  if (node.modified_by) {
    const by = node.modified_by === app.session?.username ? 'you' : node.modified_by;
    when.textContent = `edited by ${by}, ${formatAgo(node.modified_at)}`;
    when.title = formatDate(node.modified_at);
  }
  const actions = el('td', { className: 'actions' });
  if (node.kind === 'file') {
    actions.append(button('Download', () => download(node), 'secondary small download', `Download ${node.name}`));
    // A file waiting to sync is on this device already and has no history on the server yet.
    if (!node.pending) {
      actions.append(button(offlineIds.has(node.id) ? 'Offline ✓' : 'Keep offline', () => togglePin(node), 'secondary small pin', `Keep ${node.name} available offline`));
      actions.append(button('History', () => showVersions(node, { restore: canWriteHere() }), 'secondary small versions', `Versions of ${node.name}`));
    }
  } else {
    actions.append(button('Zip', () => zip(node), 'secondary small zip', `Download ${node.name} as a zip`));
  }
  // Made offline, it does not exist on the server yet: nothing to link to. Links (and people)
  // are the owner's to give: not a member's, not even from their own tree.
  if (!node.pending && !mount && roleHere() === 'owner') actions.append(button('Share', () => shareRow(node), 'secondary small share', `Share ${node.name}`));
  // A member's mount is theirs to rename and move (whatever their role inside), and to leave
  // rather than delete: the folder is its owner's.
  if (canWriteHere() || mount) {
    actions.append(button('Rename', () => rename(node), 'secondary small rename', `Rename ${node.name}`));
    actions.append(button('Move', () => move(node), 'secondary small move', `Move ${node.name}`));
    if (mount) actions.append(button('Leave', () => leave(node), 'danger small leave', `Leave ${node.name}`));
    else actions.append(button('Delete', () => remove(node), 'danger small delete', `Delete ${node.name}`));
  }
  tr.append(name, size, when, actions);
  // A tile's picture opens it too, as its name does (the name stays the keyboard's way).
  name.querySelector('.icon')?.addEventListener('click', () => { if (node.kind === 'folder') openFolder(node); else viewFile(node, tr); });
  tr.addEventListener('keydown', (e) => {
    if (e.target !== tr) return;
    const mounted = node.kind === 'folder' && mountAt(node.id) != null;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); if (node.kind === 'folder') openFolder(node); else viewFile(node, tr); }
    else if (e.key === 'F2') { e.preventDefault(); if (mounted || writeAllowed()) rename(node); }
    // On a folder shared with the user, Delete means what its row offers: Leave (asked first).
    else if (e.key === 'Delete') { e.preventDefault(); if (mounted) leave(node); else if (writeAllowed()) remove(node); }
    else if (e.key === 'ArrowDown' || (e.key === 'ArrowRight' && grid)) { e.preventDefault(); rows.next(tr)?.focus(); }
    else if (e.key === 'ArrowUp' || (e.key === 'ArrowLeft' && grid)) { e.preventDefault(); tr.previousElementSibling?.focus(); }
    else if (e.key === 'Backspace' && app.path.length > 1) { e.preventDefault(); app.path.pop(); refresh(); }
  });
  return tr;
}

/** Opens the viewer on file `node` (its row `tr`), Previous / Next going through the folder's
 * files in the list's order; closed, the focus goes to the row of the file shown last. */
function viewFile(node, tr) {
  const files = rows.nodes.filter((n) => n.kind === 'file');
  const at = Math.max(0, files.findIndex((n) => n.id === node.id));
  openViewer(files.length ? files : [node], at, {
    download,
    closed: (last) => (rows.body?.querySelector(`tr[data-id="${CSS.escape(String(last.id))}"]`) || tr).focus(),
  });
}

/** False (and says why) where the user's role only lets them view. */
function writeAllowed() {
  if (canWriteHere()) return true;
  say(explain({ code: ROLE_TOO_LOW }), 'error');
  return false;
}

async function shareRow(node) {
  if (!navigator.onLine) { say('Sharing needs the network.', 'error'); return; }
  await share(node);
}

async function rename(node) {
  // A refused name (the server's rules, checked before sending) is said in the dialog, which
  // stays open to correct it.
  const name = await ask({
    title: `Rename ${node.name}`, input: node.name, label: 'New name', ok: 'Rename',
    act: async (n) => { if (n && n !== node.name) await offline.rename(node, n); return n; },
  });
  if (!name || name === node.name) return;
  say(`Renamed to ${name}.`);
  await refresh({ quiet: true });
}

async function remove(node) {
  if (node.kind === 'folder' && mountAt(node.id)) { await leave(node); return; }
  if (!(await ask({ title: `Delete ${node.name}?`, text: node.kind === 'folder' ? 'The folder and everything in it go to the trash.' : 'It goes to the trash; you can restore it from there.', ok: 'Delete' }))) return;
  try { await offline.remove(node); say(`${node.name} moved to the trash.`); } catch (e) { say(`Could not delete: ${explain(e)}`, 'error'); }
  await refresh({ quiet: true });
}

/** Leaves the shared folder mounted at row `node`, once the user has said yes: it goes from
 * their tree (and from every device of theirs); its owner and the other members keep it. */
async function leave(node) {
  const s = mountAt(node.id);
  if (!s) return;
  if (!navigator.onLine) { say(`Leaving ${node.name} needs the network.`, 'error'); return; }
  if (!(await ask({ title: `Leave ${node.name}?`, text: `You lose ${node.name} until ${s.owner} invites you again. It stays in ${s.owner}'s files.`, ok: 'Leave' }))) return;
  try {
    // Its row goes as soon as the server has taken it out, before the shares are re-read (a
    // row left behind would be drawn as a plain folder of the user's for a moment).
    await leaveFolder(s, () => {
      if (app.listing?.folder.id === node.parent_id) app.listing = { ...app.listing, children: app.listing.children.filter((c) => c.id !== node.id) };
      if (view === 'files' && app.listing) render();
    });
    say(`You left ${node.name}.`);
  } catch (e) {
    say(`Could not leave ${node.name}: ${explain(e)}`, 'error');
  }
  await offline.forgetListing(node.id);
  await refresh({ quiet: true });
}

/** A folder chooser inside the dialog: browse down from the root, pick "Move here". */
async function move(node) {
  let here = [app.path[0]];
  const box = el('div', { className: 'picker' });
  const draw = async () => {
    const where = here[here.length - 1];
    let l;
    try { l = await app.client.list(where.id); } catch { l = await offline.cachedListing(where.id); }
    const list = el('ul', { className: 'list' });
    if (here.length > 1) list.append(el('li', {}, button('⬑ Up', () => { here = here.slice(0, -1); draw(); }, 'link')));
    for (const f of (l?.children || []).filter((c) => c.kind === 'folder' && c.id !== node.id)) {
      list.append(el('li', {}, button(f.name, () => { here = [...here, { id: f.id, name: f.name }]; draw(); }, 'link', `Open ${f.name}`)));
    }
    box.replaceChildren(el('p', { className: 'where', textContent: `Move to: ${here.map((h) => h.name).join(' / ')}` }), list);
  };
  await draw();
  if (!(await ask({ title: `Move ${node.name}`, body: box, ok: 'Move here' }))) return;
  const target = here[here.length - 1];
  if (target.id === node.parent_id) return;
  try { await offline.move(node, target.id); say(`Moved ${node.name} to ${target.name}.`); } catch (e) { say(`Could not move: ${explain(e)}`, 'error'); }
  await refresh({ quiet: true });
}

async function download(node) {
  say(`Downloading ${node.name}…`);
  try {
    if (node.pending && node.id < 0) {
      // Queued offline: the bytes are still on this device, in the outbox.
      const file = await offline.queuedFile(-node.id);
      if (!file) throw Object.assign(new Error(`${node.name} is waiting to sync and is not on this device.`), { status: 400 });
      await saveBlob(node.name, file);
      say(`Opened ${node.name} from this device (waiting to sync).`);
      return;
    }
    const kept = await pins.pinned(node.id);
    if (kept && (kept.node.version_id === node.version_id || !navigator.onLine)) {
      await saveBlob(node.name, await pins.contentOf(kept));
      say(`Opened ${node.name} from this device (available offline).`);
      return;
    }
    const how = await downloadFile(node, ({ done, total }) => say(`Downloading ${node.name}: ${formatBytes(done)} of ${formatBytes(total)}`));
    document.body.dataset.lastDownload = how;
    say(`Downloaded ${node.name}; every chunk's hash checked.`);
  } catch (e) {
    say(`Download of ${node.name} failed: ${explain(e)}`, 'error');
  }
}

async function zip(node) {
  say(`Zipping ${node.name}…`);
  try {
    const r = await downloadZip(node, ({ files, bytes }) => say(`Zipping ${node.name}: ${files} files, ${formatBytes(bytes)}`));
    say(`Downloaded ${node.name}.zip: ${r.files} files, ${formatBytes(r.bytes)}, every chunk's hash checked.`);
  } catch (e) { say(`Could not zip ${node.name}: ${explain(e)}`, 'error'); }
}

async function togglePin(node) {
  try {
    if (offlineIds.has(node.id)) { await pins.unpin(node.id); say(`${node.name} is no longer kept on this device.`); }
    else { say(`Keeping ${node.name} on this device…`); await pins.pin(node); say(`${node.name} is available offline.`); }
  } catch (e) { say(`Could not keep ${node.name} offline: ${explain(e)}`, 'error'); }
  await refresh({ quiet: true });
}

wireAccount((opts) => signOutLocally(opts));
wireExport();

// ---- install --------------------------------------------------------------------------------

// Chromium offers installing the PWA through this event; the welcome screen shows a button
// for it while the offer stands (`installPrompt`, declared at the top).
window.addEventListener('beforeinstallprompt', (e) => {
  e.preventDefault();
  installPrompt = e;
  if (!$('#welcome').hidden) $('#install-app').hidden = false;
});
window.addEventListener('appinstalled', () => { installPrompt = null; $('#install-app').hidden = true; });
$('#install-app').addEventListener('click', async () => {
  if (!installPrompt) return;
  const offer = installPrompt;
  installPrompt = null;
  $('#install-app').hidden = true;
  await offer.prompt();
});

// ---- toolbar, drop zone, search, network -----------------------------------------------------

$('#new-folder').addEventListener('click', async () => {
  if (!writeAllowed()) return;
  const parent = folder().id;
  const name = await ask({
    title: 'New folder', input: '', label: 'Folder name', ok: 'Create',
    act: async (n) => {
      if (!n) throw Object.assign(new Error('Type a name for the folder.'), { status: 400 });
      await offline.mkdir(parent, n);
      return n;
    },
  });
  if (!name) return;
  await refresh({ quiet: true });
});
$('#download-folder').addEventListener('click', () => zip({ id: folder().id, name: folder().name }));

// ---- grid view -------------------------------------------------------------------------------

// The list drawn as tiles (thumbnails, or the type icon, with the name below): the same rows,
// actions and keys, laid out by the stylesheet. Remembered on this device.
const GRID_KEY = 'cairn.grid';
let grid = localStorage.getItem(GRID_KEY) === 'true';
function showGrid() {
  $('#files').classList.toggle('grid', grid);
  $('#grid-toggle').setAttribute('aria-pressed', String(grid));
  document.body.dataset.grid = String(grid);
}
$('#grid-toggle').addEventListener('click', () => {
  grid = !grid;
  localStorage.setItem(GRID_KEY, String(grid));
  showGrid();
});
showGrid();

// A thumbnail this page just stored: its row shows it now, and the folder's kept listing knows
// (the listing's ETag follows the tree's changes, which a thumbnail is not).
onStored(async (node) => {
  try {
    const kept = await offline.cachedListing(node.parent_id);
    if (markMade(kept)) await offline.saveListing(kept);
  } catch (e) { console.warn('kept listing not marked:', e); }
  if (app.listing?.folder.id === node.parent_id && markMade(app.listing) && view === 'files') render();
});

const zone = $('#dropzone');
for (const type of ['dragenter', 'dragover']) {
  zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over'); });
}
zone.addEventListener('dragleave', (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove('over'); });
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  if (!writeAllowed()) return;
  const collect = takeDrop(e.dataTransfer);
  const parentId = folder().id;
  collect().then((items) => uploadItems(items, parentId)).catch((err) => say(`Could not read what was dropped: ${explain(err)}`, 'error'));
});
$('#file-input').addEventListener('change', (e) => { if (writeAllowed()) uploadItems(fromPicker(e.target.files).map((i) => ({ ...i, dirs: [] })), folder().id); e.target.value = ''; });
$('#folder-input').addEventListener('change', (e) => { if (writeAllowed()) uploadItems(fromPicker(e.target.files), folder().id); e.target.value = ''; });

$('#search-form').addEventListener('submit', (e) => { e.preventDefault(); open('search'); });
$('#search-filters').addEventListener('submit', (e) => { e.preventDefault(); runSearch(openSearchResult); });
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName) && !$('#search-form').hidden) {
    e.preventDefault();
    $('#search-q').focus();
  }
});

window.addEventListener('online', async () => {
  offline.updateBadge();
  await offline.replay();
  if (view === 'files') refresh({ quiet: true });
});
window.addEventListener('offline', () => { offline.updateBadge(); say('You are offline. Changes are kept on this device and sent when the network is back.'); });

// ---- start ---------------------------------------------------------------------------------

if (app.session) {
  app.client.setToken(app.session.token);
  await signedIn(app.session, app.session.username);
} else {
  show('auth');
}
document.body.dataset.ready = 'true';
