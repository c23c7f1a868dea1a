// The Links screen: every share link and file request of the account, with its state, how
// often and when it was last used and when it expires; each can be edited (expiry, password,
// limit), revoked (access stops at once) and its access log read (when, from which network,
// what, and how it went — failed password attempts included).
import { app, $, el, button, ask, say, explain } from './state.js';
import { formatBytes, formatDate } from './format.js';
import { field, localInput, expiryOf, countOf, refuse, clearsError } from './share-dialog.js';

const STATES = {
  active: 'active', expired: 'expired', revoked: 'revoked', exhausted: 'download limit reached', gone: 'the shared item was deleted',
};

const MB = 1024 * 1024;

/** One line about a link: kind, state, uses, last use, expiry, protection. */
export function describe(l) {
  const parts = [l.kind === 'request' ? 'file request' : 'link', STATES[l.state] || l.state];
  parts.push(l.kind === 'request' ? `${l.uses} upload${l.uses === 1 ? '' : 's'}` : `${l.uses} use${l.uses === 1 ? '' : 's'}`);
  parts.push(l.last_used_at ? `last used ${formatDate(l.last_used_at)}` : 'never used');
  if (l.state === 'active' || l.state === 'exhausted') parts.push(l.expires_at ? `expires ${formatDate(l.expires_at)}` : 'no expiry');
  if (l.has_password) parts.push('password');
  if (l.max_downloads != null) parts.push(`limit ${l.max_downloads} download${l.max_downloads === 1 ? '' : 's'}`);
  if (l.max_bytes != null) parts.push(`up to ${formatBytes(l.max_bytes)}`);
  if (l.pinned_version_id != null) parts.push('pinned version');
  return parts.join(' · ');
}

export async function showLinks() {
  const list = $('#links-list');
  list.replaceChildren();
  try {
    const { links } = await app.client.links();
    for (const l of links) list.append(item(l));
    $('#links-empty').hidden = links.length > 0;
  } catch (e) {
    $('#links-empty').hidden = true;
    say(`Could not load your links: ${explain(e)}`, 'error');
  }
}

function item(l) {
  const li = el('li', { className: `item link-${l.state}` });
  li.dataset.link = l.id;
  li.dataset.name = l.name;
  li.dataset.state = l.state;
  const title = `${l.name}${l.node_kind === 'folder' ? '/' : ''}`;
  const actions = el('div', { className: 'row wrap' });
  if (l.state !== 'revoked') actions.append(button('Edit', () => edit(l), 'secondary small edit-link', `Edit the link to ${l.name}`));
  actions.append(button('Access log', () => accessLog(l), 'secondary small access-log', `Access log of the link to ${l.name}`));
  if (l.state !== 'revoked') actions.append(button('Revoke', () => revoke(l), 'danger small revoke-link', `Revoke the link to ${l.name}`));
  li.append(el('div', { className: 'what' },
    el('span', { className: 'title', textContent: title }),
    el('span', { className: 'meta', textContent: describe(l) })), actions);
  return li;
}

async function edit(l) {
  const request = l.kind === 'request';
  const expires = el('input', { type: 'datetime-local', id: 'edit-expires', value: localInput(l.expires_at) });
  const password = el('input', { type: 'password', id: 'edit-password', autocomplete: 'new-password' });
  const clearPassword = el('input', { type: 'checkbox', id: 'edit-no-password' });
  const limit = el('input', { type: 'number', id: 'edit-limit', min: 1, step: 1, inputMode: 'numeric' });
  if (request) limit.value = l.max_bytes != null ? String(Math.ceil(l.max_bytes / MB)) : '';
  else limit.value = l.max_downloads != null ? String(l.max_downloads) : '';
  const form = el('div', { className: 'share-form' },
    field('Expires (empty: never)', expires),
    field(l.has_password ? 'New password (empty: keep the current one)' : 'Password (optional)', password));
  if (l.has_password) form.append(el('label', { className: 'check' }, clearPassword, el('span', { textContent: 'Remove the password' })));
  form.append(request ? field('Size limit in MiB (empty: none)', limit) : field('Download limit (empty: none)', limit));
  clearsError(form);
  const saved = await ask({
    title: `Edit the link to ${l.name}`,
    body: form,
    ok: 'Save',
    focus: expires,
    act: async () => {
      const body = {};
      const at = expires.value === localInput(l.expires_at) ? l.expires_at : expiryOf(expires);
      if (at !== l.expires_at) body.expires_at = at;
      if (clearPassword.checked && password.value) throw refuse(password, 'Type a new password or remove it, not both.');
      if (clearPassword.checked) body.password = null;
      else if (password.value) body.password = password.value;
      const n = countOf(limit, request ? 'size limit' : 'download limit');
      if (request) {
        const bytes = n == null ? null : n * MB;
        if (limit.value !== (l.max_bytes != null ? String(Math.ceil(l.max_bytes / MB)) : '')) body.max_bytes = bytes;
      } else if (n !== l.max_downloads) body.max_downloads = n;
      if (!Object.keys(body).length) return l;
      return app.client.updateLink(String(l.id), body);
    },
  });
  if (!saved) return;
  say(`Saved the link to ${l.name}.`);
  await showLinks();
}

async function revoke(l) {
  if (!(await ask({ title: `Revoke the link to ${l.name}?`, text: 'It stops working at once, for everyone who has it, downloads in progress included. This cannot be undone.', ok: 'Revoke' }))) return;
  try {
    await app.client.revokeLink(String(l.id));
    say(`The link to ${l.name} no longer works.`);
  } catch (e) { say(`Could not revoke the link: ${explain(e)}`, 'error'); }
  await showLinks();
}

const OUTCOMES = { ok: 'ok', wrong_password: 'wrong password' };

async function accessLog(l) {
  const list = el('ul', { className: 'list access-log', id: 'access-log' });
  list.append(el('li', { textContent: 'Loading…' }));
  const shown = ask({ title: `Access log of ${l.name}`, body: list, ok: 'Close', cancel: null });
  try {
    const { entries } = await app.client.linkAccess(String(l.id));
    list.replaceChildren();
    for (const e of entries) {
      const what = [e.action, e.path].filter(Boolean).join(' ');
      const li = el('li', { className: `entry ${e.outcome === 'ok' ? '' : 'refused'}` },
        el('span', { className: 'when', textContent: formatDate(e.at) }),
        el('span', { className: 'net', textContent: e.network }),
        el('span', { className: 'what', textContent: what }),
        el('span', { className: 'outcome', textContent: OUTCOMES[e.outcome] || String(e.outcome).replaceAll('_', ' ') }));
      list.append(li);
    }
    if (!entries.length) list.append(el('li', { className: 'empty', textContent: 'Nobody has used this link yet.' }));
  } catch (e) {
    list.replaceChildren(el('li', { className: 'error', textContent: `Could not load the access log: ${explain(e)}` }));
  }
  await shown;
}
