// The public page of a share link, `/s/{token}`. The server renders it complete without
// JavaScript (facts, listing, plain download links, a password form); this module, when it
// runs, redraws it from the public JSON API with more: a password form that stays on the page,
// folder browsing without reloads, a selection downloaded as one zip, previews, and downloads
// through the app's verified chunk path (every chunk's BLAKE3 checked before it is saved). A
// file request link gets the drop page instead (drop.js). No service worker is registered here,
// and the app's own leaves `/s/` and `/api/v1/public/` to the network.
import init, { Client } from '../pkg/web_client.js';
import * as codes from '../pkg/error_codes.js';
import { el } from './state.js';
import { formatBytes, formatDate } from './format.js';

/** What every part of the page shares: the link, the client, where to draw and say things. */
export const page = {
  token: location.pathname.split('/')[2] || '',
  client: null,
  /** A password grant from this visit (the unlock also sets a cookie for plain links). */
  grant: undefined,
  face: null,
  root: document.querySelector('#share') || document.querySelector('main') || document.body,
};

/** Says `msg` in the page's status line (read out by screen readers). */
export function say(msg, kind = '') {
  const s = document.querySelector('#share-status');
  if (!s) return;
  s.textContent = msg || '';
  s.className = `status ${kind}`;
}

/** A sentence for a failure of a public request. */
export function explainPublic(e) {
  switch (e?.code) {
    case codes.LINK_GONE: return 'This link no longer works: it expired, was revoked, or what it shared was deleted.';
    case codes.LINK_EXHAUSTED: return 'This link has reached its download limit.';
    case codes.REQUEST_CLOSED: return 'This file request is closed: its deadline has passed.';
    case codes.REQUEST_TOO_LARGE: return 'That is more than this file request accepts.';
    case codes.WRONG_PASSWORD: return 'That password is not right.';
    case codes.PASSWORD_REQUIRED: return 'This link needs its password.';
    case codes.RATE_LIMITED: return 'Too many tries in a short time. Wait a minute and try again.';
    case codes.NOT_FOUND: return 'There is nothing here: the link is wrong, or this item was moved or deleted.';
    case 'corrupt_chunk': return 'A piece of the file arrived damaged, so it was not saved. Try again.';
    default:
      if (e?.status === 0 && e?.code === 'network') return 'The network failed. Check your connection and try again.';
      return e?.message || 'Something went wrong.';
  }
}

/** A `<dl>` of the facts that are known (a label with an empty value is left out). */
export function facts(pairs) {
  const dl = el('dl', { className: 'facts' });
  for (const [k, v] of pairs) {
    if (v == null || v === '') continue;
    dl.append(el('div', {}, el('dt', { textContent: k }), el('dd', { textContent: v })));
  }
  dl.hidden = dl.childElementCount === 0;
  return dl;
}

/** The common facts of the link: who shared it and until when. */
export function linkFacts(face) {
  return [
    ['Shared by', face.shared_by],
    ['Expires', face.expires_at ? formatDate(face.expires_at) : 'never'],
  ];
}

export const sizeText = (n) => formatBytes(n);

/** Draws `children` as the whole page, with a status line under them. */
export function draw(...children) {
  page.root.replaceChildren(...children, el('p', { id: 'share-status', className: 'status', role: 'status' }));
  page.root.dataset.ready = 'true';
}

function header() {
  return el('p', { className: 'share-brand' }, el('img', { src: '/icon.svg', alt: '', width: 20, height: 20 }), el('span', { textContent: 'Cairn' }));
}

/** The password form; resolves once the link is unlocked. */
function askPassword() {
  return new Promise((resolve) => {
    const input = el('input', { type: 'password', id: 'share-password', name: 'password', autocomplete: 'current-password', required: true });
    const error = el('p', { id: 'share-password-error', className: 'dialog-error', role: 'alert', hidden: true });
    const submit = el('button', { type: 'submit', textContent: 'Open' });
    const form = el('form', { className: 'card share-lock', id: 'share-unlock', method: 'post', action: `/s/${page.token}/unlock` },
      el('h1', { textContent: 'This link is protected' }),
      el('p', { textContent: 'Type the password you were given with the link.' }),
      el('label', {}, el('span', { textContent: 'Password' }), input), error,
      el('div', { className: 'row' }, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      error.hidden = true;
      try {
        const g = await page.client.unlockShare(page.token, input.value);
        page.grant = g.grant;
        resolve();
      } catch (err) {
        error.textContent = explainPublic(err);
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.select();
        input.focus();
      } finally {
        submit.disabled = false;
      }
    });
    draw(header(), form);
    input.focus();
  });
}

function gone(e) {
  draw(header(), el('section', { className: 'card share-gone' },
    el('h1', { textContent: e?.status === 404 ? 'No such link' : 'This link does not work' }),
    el('p', { id: 'share-gone', textContent: explainPublic(e) })));
  document.title = 'Link unavailable — Cairn';
}

async function start() {
  await init();
  page.client = new Client('');
  for (;;) {
    try {
      page.face = await page.client.publicShare(page.token, page.grant);
      break;
    } catch (e) {
      if (e.code === codes.PASSWORD_REQUIRED || e.code === codes.WRONG_PASSWORD) {
        // Also what a grant that ran out (after an hour) gets: the form again.
        await askPassword();
        continue;
      }
      gone(e);
      return;
    }
  }
  const f = page.face;
  document.title = `${f.name} — shared with Cairn`;
  if (f.kind === 'request') (await import('./drop.js')).showDrop(header());
  else if (f.node_kind === 'folder') (await import('./share-folder.js')).showFolder(header());
  else (await import('./share-file.js')).showFile(header());
}

start().catch((e) => {
  console.error(e);
  say(`This page could not start: ${e.message || e}. The plain download links still work without JavaScript.`, 'error');
});
