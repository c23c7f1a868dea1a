// The secondary screens: trash, version history, search, devices, storage use and conflicts.
// Each draws from one API answer and offers the actions of the contract; failures are said
// in words, and an empty answer gets an empty state rather than a blank page.
import { chunkFile } from './chunk-pool.js';
import { app, $, el, button, say, explain, ask } from './state.js';
import { conflicts, dropConflict } from './offline.js';
import { formatBytes, formatDate } from './format.js';
import { WRONG_CURRENT_PASSWORD, ROLE_TOO_LOW, CONFIRMATION_MISMATCH } from '../pkg/error_codes.js';

function item(title, meta, ...actions) {
  const li = el('li', { className: 'item' });
  li.append(el('div', { className: 'what' }, el('span', { className: 'title', textContent: title }), el('span', { className: 'meta', textContent: meta })),
    el('div', { className: 'row' }, ...actions));
  return li;
}

// ---- retention -----------------------------------------------------------------------------

/** "30 days", "12 hours": a retention period as people say it. */
export function period(secs) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const [size, name] = units.find(([u]) => secs >= u && secs % u === 0) || [1, 'second'];
  const n = secs / size;
  return `${n} ${name}${n === 1 ? '' : 's'}`;
}

/** What the server keeps, from `me` (asked once per screen: the operator may change it). */
async function retention() {
  try { return (await app.client.me()).retention; } catch { return null; }
}

// ---- trash ---------------------------------------------------------------------------------

export async function showTrash() {
  const list = $('#trash-list');
  list.replaceChildren();
  retention().then((r) => {
    if (!r) return;
    $('#trash-policy').textContent = r.trash_secs
      ? `Items in the trash are deleted for good ${period(r.trash_secs)} after they were deleted; until then they still count against your storage.`
      : 'Items stay in the trash until you delete them for good; until then they count against your storage.';
  });
  try {
    const { items } = await app.client.trash();
    for (const t of items) {
      const li = item(`${t.node.name}${t.node.kind === 'folder' ? '/' : ''}`, `deleted ${formatDate(t.deleted_at)}`,
        button('Restore', async () => {
          try { await app.client.restoreFromTrash(t.node.id); say(`Restored ${t.node.name}.`); showTrash(); } catch (e) { say(`Could not restore ${t.node.name}: ${explain(e)}`, 'error'); }
        }, 'secondary restore', `Restore ${t.node.name}`),
        button('Delete forever', async () => {
          if (!(await ask({ title: `Delete ${t.node.name} forever?`, text: 'It cannot be restored afterwards.', ok: 'Delete forever' }))) return;
          try { await app.client.purgeFromTrash(t.node.id); say(`${t.node.name} deleted forever.`); showTrash(); } catch (e) {
            say(e.code === ROLE_TOO_LOW ? `${t.node.name} is in a folder shared with you: only its owner deletes it forever.` : explain(e), 'error');
          }
        }, 'danger purge', `Delete ${t.node.name} forever`));
      li.dataset.name = t.node.name;
      list.append(li);
    }
    $('#trash-empty').hidden = items.length > 0;
  } catch (e) {
    $('#trash-empty').hidden = true;
    say(`Could not load the trash: ${explain(e)}`, 'error');
  }
}

// ---- versions ------------------------------------------------------------------------------

/** `restore: false` where the user may only view (a shared folder's viewer): no Restore. */
export async function showVersions(node, { restore = true } = {}) {
  const d = $('#versions-dialog');
  $('#versions-title').textContent = `Versions of ${node.name}`;
  const list = $('#versions-list');
  list.replaceChildren(el('li', { textContent: 'Loading…' }));
  $('#versions-policy').textContent = '';
  retention().then((r) => {
    if (!r) return;
    const most = r.versions_max ? `, at most ${r.versions_max} per file` : '';
    $('#versions-policy').textContent = `Old versions are kept for ${period(r.versions_secs)}${most}; when your storage is full, the oldest give way first.`;
  });
  d.showModal();
  try {
    const { versions } = await app.client.versions(node.id);
    list.replaceChildren();
    for (const v of versions) {
      const li = item(`${formatDate(v.created_at)}${v.current ? ' (current)' : ''}`, `${formatBytes(v.size)} · from ${v.device_name || 'unknown device'}`,
        v.current || !restore ? null : button('Restore', async () => {
          try {
            await app.client.restoreVersion(node.id, v.id);
            d.close();
            say(`Restored the version of ${formatDate(v.created_at)} of ${node.name}.`);
            await app.refresh({ quiet: true });
          } catch (e) { say(`Could not restore: ${explain(e)}`, 'error'); }
        }, 'secondary restore', `Restore version of ${formatDate(v.created_at)}`));
      li.dataset.version = v.id;
      list.append(li);
    }
    if (!versions.length) list.append(el('li', { className: 'empty', textContent: 'No versions.' }));
  } catch (e) {
    list.replaceChildren(el('li', { className: 'error', textContent: `Could not load the versions: ${explain(e)}` }));
  }
}

// ---- search --------------------------------------------------------------------------------

export async function runSearch(openFolder) {
  const q = $('#search-q').value.trim();
  const min = Number($('#search-min').value);
  const after = $('#search-after').value;
  $('#search-title').textContent = q ? `Search: “${q}”` : 'Search';
  const list = $('#search-results');
  list.replaceChildren();
  try {
    const { results } = await app.client.search({
      q, kind: $('#search-kind').value || null, min_size: min > 0 ? Math.round(min * 1000) : null,
      modified_after: after ? new Date(after).getTime() : null, limit: 100,
    });
    for (const r of results) {
      const li = item(`${r.node.name}${r.node.kind === 'folder' ? '/' : ''}`, `${r.path || '/'} · ${r.node.kind === 'file' ? formatBytes(r.node.size) : 'folder'} · ${formatDate(r.node.modified_at)}`,
        button('Open folder', () => openFolder(r), 'secondary', `Open the folder of ${r.node.name}`));
      li.dataset.name = r.node.name;
      list.append(li);
    }
    $('#search-empty').hidden = results.length > 0;
  } catch (e) {
    $('#search-empty').hidden = true;
    say(`Search failed: ${explain(e)}`, 'error');
  }
}

// ---- devices and usage ---------------------------------------------------------------------

export async function showDevices(onSignedOut) {
  const list = $('#device-list');
  list.replaceChildren();
  try {
    const { devices } = await app.client.devices();
    for (const d of devices) {
      const li = item(`${d.name}${d.current ? ' (this device)' : ''}`, `signed in ${formatDate(d.created_at)} · last seen ${d.last_seen_at ? formatDate(d.last_seen_at) : 'never'}`,
        // The name shows in version lists and conflicted copies: two browsers of one kind
        // need names that tell them apart.
        button('Rename', async () => {
          const name = await ask({
            title: `Rename ${d.name}`, input: d.name ?? '', label: 'Device name', ok: 'Rename',
            act: (n) => app.client.renameDevice(d.id, n),
          });
          if (!name) return;
          say(`Renamed to ${name.name}.`);
          showDevices(onSignedOut);
        }, 'secondary rename-device', `Rename ${d.name}`),
        button(d.current ? 'Sign out' : 'Revoke', async () => {
          if (!(await ask({ title: d.current ? 'Sign out of this device?' : `Revoke ${d.name}?`, text: 'Its access stops at once; it must sign in again.', ok: d.current ? 'Sign out' : 'Revoke' }))) return;
          try {
            await app.client.revokeDevice(d.id);
            if (d.current) { onSignedOut({ wipe: true }); return; }
            say(`${d.name} can no longer reach your files.`);
            showDevices(onSignedOut);
          } catch (e) { say(`Could not revoke ${d.name}: ${explain(e)}`, 'error'); }
        }, 'danger revoke', `Revoke ${d.name}`));
      li.dataset.device = d.id;
      list.append(li);
    }
  } catch (e) {
    say(`Could not load your devices: ${explain(e)}`, 'error');
  }
}

/** The account part of the devices screen: sign out everywhere else, change the password. */
export function wireAccount(onSignedOut) {
  $('#sign-out-others').addEventListener('click', async () => {
    if (!(await ask({ title: 'Sign out everywhere else?', text: 'Every other device loses access at once and must sign in again. This one stays signed in.', ok: 'Sign out the others' }))) return;
    try {
      const { revoked } = await app.client.revokeOtherDevices();
      say(revoked ? `${revoked} other device${revoked === 1 ? ' was' : 's were'} signed out.` : 'No other device was signed in.');
      showDevices(onSignedOut);
    } catch (e) { say(`Could not sign the other devices out: ${explain(e)}`, 'error'); }
  });
  $('#password-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = $('#password-error');
    error.hidden = true;
    const others = $('#sign-out-others-too').checked;
    try {
      await app.client.changePassword($('#current-password').value, $('#new-password').value, others);
      $('#password-form').reset();
      say(others ? 'Password changed; every other device was signed out.' : 'Password changed. Your other devices stay signed in.');
      if (others) showDevices(onSignedOut);
    } catch (err) {
      error.textContent = err.code === WRONG_CURRENT_PASSWORD ? 'The current password is not right.' : explain(err);
      error.hidden = false;
    }
  });
  wireDeleteAccount(onSignedOut);
}

/** Deleting the account: the username typed again and the password, checked by the server. */
function wireDeleteAccount(onSignedOut) {
  const form = $('#delete-account-form');
  const button = $('#delete-account');
  const typed = () => {
    const want = (app.session?.username || '').toLowerCase();
    return want !== '' && $('#delete-confirm').value.trim().toLowerCase() === want;
  };
  const sync = () => { button.disabled = !typed(); };
  $('#delete-confirm').addEventListener('input', sync);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = $('#delete-error');
    error.hidden = true;
    if (!typed()) return;
    button.disabled = true;
    say('Deleting your account…');
    try {
      await app.client.deleteAccount($('#delete-password').value, $('#delete-confirm').value.trim());
    } catch (err) {
      say('');
      error.textContent = err.code === WRONG_CURRENT_PASSWORD ? 'The password is not right.'
        : err.code === CONFIRMATION_MISMATCH ? 'Type your username exactly to confirm.' : explain(err);
      error.hidden = false;
      sync();
      return;
    }
    // Gone on the server. The event stream's `revoked` may sign this page out at the same
    // moment; either way the device's copy is wiped and the sign-in screen says why.
    form.reset();
    $('#auth-error').textContent = 'Your account was deleted, with everything it held.';
    try { await onSignedOut({ wipe: true }); } catch (e) { console.warn('wiping after deletion', e); }
    $('#auth-error').textContent = 'Your account was deleted, with everything it held.';
  });
}

export async function showUsage() {
  try {
    const me = await app.client.me();
    const quota = me.quota_bytes;
    $('#usage-meter').hidden = !quota;
    if (quota) { $('#usage-meter').max = quota; $('#usage-meter').value = me.used_bytes; }
    $('#usage-text').textContent = quota ? `${formatBytes(me.used_bytes)} of ${formatBytes(quota)} used` : `${formatBytes(me.used_bytes)} used`;
    // What counts: files (trash included), old versions (they give way first when room is
    // needed) and uploads in progress.
    $('#usage-text').title = `Files ${formatBytes(me.files_bytes ?? me.used_bytes)} · old versions ${formatBytes(me.versions_bytes ?? 0)} · uploads in progress ${formatBytes(me.uploads_bytes ?? 0)}`;
  } catch { /* offline: keep the last figure */ }
}

// ---- conflicts -----------------------------------------------------------------------------

async function bytesOf(id) { return app.client.download(id, () => {}); }

function looksText(bytes) {
  const head = bytes.subarray(0, 4096);
  return !head.includes(0);
}

/** The node that kept the name: the file another device changed, or the one that took the
 * name our offline rename or move wanted. */
const otherId = (c) => c.conflict?.original_node_id ?? c.clash?.holder_id;

async function compare(c) {
  const box = $('#compare');
  try {
    const [mine, theirs] = await Promise.all([bytesOf(c.copy.id), bytesOf(otherId(c))]);
    const [a, b] = await Promise.all([mine.arrayBuffer(), theirs.arrayBuffer()]).then((x) => x.map((y) => new Uint8Array(y)));
    if (!looksText(a) || !looksText(b) || a.length > 1_000_000 || b.length > 1_000_000) {
      say('These files are not short text files, so they cannot be shown side by side.');
      box.hidden = true;
      return;
    }
    $('#compare-mine').textContent = new TextDecoder().decode(a);
    $('#compare-theirs').textContent = new TextDecoder().decode(b);
    box.hidden = false;
  } catch (e) { say(`Could not compare: ${explain(e)}`, 'error'); }
}

async function original(c) {
  const l = await app.client.list(c.copy.parent_id);
  return l.children.find((n) => n.id === otherId(c)) || null;
}

/** Keep mine, after a rename or move clash: theirs goes to the trash, ours takes the name. */
async function takeName(c) {
  const orig = await original(c);
  if (orig) await app.client.deleteNode(orig.id);
  await app.client.updateNode(c.copy.id, c.clash.wanted, undefined);
}

/** Keep mine: my copy's bytes become a new version of the original, then the copy goes. */
async function keepMine(c) {
  const orig = await original(c);
  if (!orig) throw new Error('The original file no longer exists; your copy is kept as it is.');
  const blob = await bytesOf(c.copy.id);
  const manifest = await chunkFile(blob);
  const up = await app.client.startUpload(manifest);
  await app.client.sendChunks(blob, manifest, up, () => {}, undefined);
  await app.client.commit(up.upload_id, orig.parent_id, orig.name, orig.version_id, up.upload_id, c.copy.content_type ?? undefined);
  await app.client.deleteNode(c.copy.id);
}

export async function showConflicts() {
  const list = $('#conflict-list');
  list.replaceChildren();
  $('#compare').hidden = true;
  const all = await conflicts();
  for (const c of all) {
    const act = (label, fn, done) => button(label, async () => {
      try { await fn(); await dropConflict(c.id); say(done); showConflicts(); await app.refresh({ quiet: true }); } catch (e) { say(`${label} failed: ${explain(e)}`, 'error'); }
    }, 'secondary', `${label} for ${c.copy.name}`);
    const why = c.clash
      ? `You renamed or moved this while offline, but “${c.clash.wanted}” was taken meanwhile, so it is named “${c.copy.name}”`
      : `${c.conflict?.device_name || 'Another device'} changed this file while you were editing it`;
    const li = item(c.copy.name, `${why} · ${formatDate(c.at)}`,
      ...(c.copy.kind === 'folder' ? [] : [button('Compare', () => compare(c), 'secondary compare-btn', `Compare the two versions of ${c.copy.name}`)]),
      act('Keep mine', () => (c.clash ? takeName(c) : keepMine(c)), 'Kept your version.'),
      act('Keep theirs', () => app.client.deleteNode(c.copy.id), 'Kept their version; yours went to the trash.'),
      act('Keep both', async () => {}, 'Kept both files.'));
    li.dataset.name = c.copy.name;
    list.append(li);
  }
  $('#conflicts-empty').hidden = all.length > 0;
}
