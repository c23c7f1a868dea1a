// Cairn's web app: draws the screens and feeds files to the WASM core, which owns the
// protocol (chunking, hashing, missing-chunk upload, commit, verified download).
import init, { Client } from '../pkg/web_client.js';
import { chunkFile } from './chunk-pool.js';
import { formatBytes, formatDate, formatRate } from './format.js';

const $ = (sel) => document.querySelector(sel);
const SESSION_KEY = 'cairn.session';

await init();
const client = new Client('');
let session = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
let path = []; // [{id, name}] from the root down to the open folder
let listing = null;

function show(view) {
  $('#auth-view').hidden = view !== 'auth';
  $('#files-view').hidden = view !== 'files';
  $('#account').hidden = view !== 'files';
}

function say(msg) { $('#status').textContent = msg || ''; }

function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : 'web';
  return `${browser} on ${os}`;
}

async function signedIn(s, username) {
  session = { ...s, username };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  client.setToken(session.token);
  path = [{ id: session.root_id, name: 'My files' }];
  $('#whoami').textContent = username;
  show('files');
  await refresh();
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
      ? await client.register(username, password, deviceName())
      : await client.login(username, password, deviceName());
    await signedIn(s, username);
  } catch (e) {
    $('#auth-error').textContent = e.message;
  }
}

$('#auth-form').addEventListener('submit', (e) => { e.preventDefault(); authenticate('login'); });
$('#register').addEventListener('click', () => authenticate('register'));
$('#logout').addEventListener('click', () => {
  localStorage.removeItem(SESSION_KEY);
  session = null;
  client.setToken(undefined);
  show('auth');
});

function folder() { return path[path.length - 1]; }

async function refresh() {
  try {
    listing = await client.list(folder().id);
    render();
  } catch (e) {
    if (e.status === 401) { localStorage.removeItem(SESSION_KEY); show('auth'); return; }
    say(`Could not load the folder: ${e.message}`);
  }
}

function render() {
  const crumbs = $('#crumbs');
  crumbs.replaceChildren();
  path.forEach((p, i) => {
    if (i > 0) crumbs.append(Object.assign(document.createElement('span'), { className: 'sep', textContent: ' / ' }));
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: p.name });
    b.addEventListener('click', () => { path = path.slice(0, i + 1); refresh(); });
    crumbs.append(b);
  });
  const body = $('#files tbody');
  body.replaceChildren();
  for (const node of listing.children) {
    const tr = document.createElement('tr');
    tr.className = node.kind;
    tr.dataset.name = node.name;
    tr.dataset.id = node.id;
    const name = document.createElement('td');
    name.className = 'name';
    if (node.kind === 'folder') {
      const open = Object.assign(document.createElement('button'), { type: 'button', textContent: `📁 ${node.name}` });
      open.addEventListener('click', () => { path.push({ id: node.id, name: node.name }); refresh(); });
      name.append(open);
    } else {
      name.textContent = node.name;
    }
    const size = Object.assign(document.createElement('td'), { className: 'num', textContent: node.kind === 'file' ? formatBytes(node.size) : '' });
    const when = Object.assign(document.createElement('td'), { textContent: formatDate(node.modified_at) });
    const actions = Object.assign(document.createElement('td'), { className: 'actions' });
    if (node.kind === 'file') {
      const dl = Object.assign(document.createElement('button'), { type: 'button', className: 'download secondary', textContent: 'Download' });
      dl.setAttribute('aria-label', `Download ${node.name}`);
      dl.addEventListener('click', () => download(node));
      actions.append(dl);
    }
    tr.append(name, size, when, actions);
    body.append(tr);
  }
  $('#empty').hidden = listing.children.length > 0;
  $('#files').hidden = listing.children.length === 0;
}

async function download(node) {
  say(`Downloading ${node.name}…`);
  try {
    const blob = await client.download(node.id, ({ done, total }) => say(`Downloading ${node.name}: ${formatBytes(done)} of ${formatBytes(total)}`));
    const url = URL.createObjectURL(blob);
    const a = Object.assign(document.createElement('a'), { href: url, download: node.name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Downloaded ${node.name}; every chunk's hash checked.`);
  } catch (e) {
    say(`Download of ${node.name} failed: ${e.message}`);
  }
}

function uploadRow(file) {
  const li = document.createElement('li');
  li.className = 'upload';
  li.dataset.name = file.name;
  const name = Object.assign(document.createElement('span'), { className: 'name', textContent: file.name });
  const detail = Object.assign(document.createElement('span'), { className: 'detail', textContent: 'Waiting…' });
  const bar = Object.assign(document.createElement('progress'), { max: 1, value: 0 });
  bar.setAttribute('aria-label', `Progress of ${file.name}`);
  li.append(name, detail, bar);
  $('#uploads').append(li);
  return { li, detail, bar };
}

async function upload(file, parentId) {
  const row = uploadRow(file);
  const start = performance.now();
  try {
    // Hashing is half the work the user waits for, sending the other half.
    const manifest = await chunkFile(file, (hashed) => {
      row.bar.value = file.size ? 0.5 * hashed / file.size : 0;
      row.detail.textContent = `Hashing ${formatBytes(hashed)} of ${formatBytes(file.size)}`;
    });
    const existing = listing && parentId === folder().id
      ? listing.children.find((n) => n.kind === 'file' && n.name.normalize('NFC').toLowerCase() === file.name.normalize('NFC').toLowerCase())
      : null;
    const sendStart = performance.now();
    const result = await client.upload(file, manifest, parentId, file.name, existing ? existing.version_id : undefined,
      ({ done, total, sent, saved }) => {
        row.bar.value = total ? 0.5 + 0.5 * done / total : 1;
        const secs = (performance.now() - sendStart) / 1000;
        const rate = secs > 0 ? sent / secs : 0;
        const left = rate > 0 ? (total - done) / rate : 0;
        row.detail.textContent = `${formatBytes(done)} of ${formatBytes(total)} · ${formatRate(rate)}` +
          (left > 1 ? ` · ${Math.ceil(left)} s left` : '') + (saved > 0 ? ` · ${formatBytes(saved)} already stored` : '');
      });
    row.bar.value = 1;
    const secs = ((performance.now() - start) / 1000).toFixed(1);
    row.detail.textContent = result.unchanged ? 'Unchanged: already up to date'
      : result.conflict ? `Saved as ${result.node.name} (someone changed it meanwhile)` : `Done in ${secs} s`;
    row.li.classList.add('done');
  } catch (e) {
    row.li.classList.add('failed');
    row.detail.textContent = `Failed: ${e.message}`;
  }
}

async function uploadAll(files) {
  const parentId = folder().id;
  await Promise.all([...files].map((f) => upload(f, parentId)));
  await refresh();
}

const zone = $('#dropzone');
for (const type of ['dragenter', 'dragover']) {
  zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over'); });
}
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  const files = [...(e.dataTransfer?.files || [])];
  if (files.length) uploadAll(files);
});
$('#file-input').addEventListener('change', (e) => { uploadAll(e.target.files); e.target.value = ''; });
$('#new-folder').addEventListener('click', async () => {
  const name = prompt('Folder name');
  if (!name) return;
  try { await client.createFolder(folder().id, name); await refresh(); } catch (e) { say(e.message); }
});

if (session) {
  client.setToken(session.token);
  await signedIn(session, session.username);
} else {
  show('auth');
}
document.body.dataset.ready = 'true';
