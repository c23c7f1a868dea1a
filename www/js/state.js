// What every screen shares: the WASM client, the session, the open folder, small DOM helpers
// and the dialog. app.js fills it at start; the other modules only read and call it.
import { NOT_FOUND, ROLE_TOO_LOW } from '../pkg/error_codes.js';

export const app = {
  client: null,
  session: null,
  path: [], // [{id, name}] from the root down to the open folder
  listing: null,
  uploadsBusy: false, // files of the upload list still working (`uploads.js` keeps it)
  online: navigator.onLine,
  refresh: async () => {},
};

export const $ = (sel) => document.querySelector(sel);

export function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) if (c != null) e.append(c);
  return e;
}

export function button(text, onClick, className = 'secondary', label) {
  const b = el('button', { type: 'button', className, textContent: text });
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

export function say(msg, kind = '') {
  const s = $('#status');
  s.textContent = msg || '';
  s.className = `status ${kind}`;
}

export function folder() { return app.path[app.path.length - 1]; }

/** A random idempotency key (128 bits, hex). */
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** True when a failure means "no network" (so the change waits in the outbox). */
export function isOffline(e) {
  return !navigator.onLine || (e && e.status === 0 && e.code === 'network');
}

/** The API's machine code of a failure, or `fallback`. Only a string: a DOMException's `code`
 * is a legacy number (a QuotaExceededError's is 22), and a number handed to the WASM core where
 * it takes a string corrupted its memory (wasm-bindgen's string copy sized it as NaN). */
export function codeOf(e, fallback = '') {
  return typeof e?.code === 'string' && e.code ? e.code : fallback;
}

/** What a write refused for the user's role in a shared folder says (a viewer's, or one sent
 * before the user learnt their role had changed). */
export const VIEW_ONLY = 'You can only view this shared folder.';

/** A clear sentence for an API error. */
export function explain(e) {
  if (!e) return 'Something went wrong.';
  if (e.code === ROLE_TOO_LOW) return VIEW_ONLY;
  // A refusal (the server's, or the same rule applied here, like a bad name) says what is
  // wrong whether or not the network is there.
  if (e.status === 400 && e.message) return e.message;
  if (isOffline(e)) return 'You are offline.';
  if (e.status === 404 && e.code === NOT_FOUND && /endpoint/.test(e.message)) return 'This server does not offer that yet.';
  return e.message || String(e);
}

/**
 * A modal question. `input` shows a text field with that initial value; `body` is an element
 * shown under the text. Resolves to the entered text (or true) on OK, null on cancel.
 *
 * With `act`, OK runs `act(value)` while the dialog stays open: if it throws, its message shows
 * inside the dialog (next to the field, where the user is looking) and the dialog stays open to
 * correct the value; the dialog closes once `act` succeeds, resolving to its result.
 *
 * `focus` is the element that gets the focus when the dialog opens (the first field of a
 * `body` form), and `cancel: null` leaves only the OK button (a dialog that just shows).
 */
export function ask({ title, text = '', input, label = 'Name', ok = 'OK', body, act, focus, cancel: cancelText = 'Cancel' }) {
  const d = $('#dialog');
  const form = $('#dialog-form');
  const error = $('#dialog-error');
  $('#dialog-title').textContent = title;
  $('#dialog-text').textContent = text;
  $('#dialog-text').hidden = !text;
  $('#dialog-label').hidden = input === undefined;
  $('#dialog-label-text').textContent = label;
  $('#dialog-input').value = input ?? '';
  $('#dialog-input').removeAttribute('aria-invalid');
  if (body) for (const f of body.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
  $('#dialog-body').replaceChildren(...(body ? [body] : []));
  $('#dialog-ok').textContent = ok;
  $('#dialog-ok').disabled = false;
  $('#dialog-cancel').hidden = cancelText === null;
  $('#dialog-cancel').textContent = cancelText ?? 'Cancel';
  error.textContent = '';
  error.hidden = true;
  return new Promise((resolve) => {
    const cancel = $('#dialog-cancel');
    let result;
    const value = () => (input === undefined ? true : $('#dialog-input').value.trim());
    const onCancel = () => d.close('cancel');
    const onSubmit = async (e) => {
      if (!act) return;
      e.preventDefault();
      $('#dialog-ok').disabled = true;
      try {
        result = await act(value());
        d.close('ok');
      } catch (err) {
        error.textContent = explain(err);
        error.hidden = false;
        // A refusal may name the field of a `body` form it is about (`err.field`).
        const field = err?.field || (input !== undefined ? $('#dialog-input') : null);
        field?.setAttribute('aria-invalid', 'true');
        field?.focus();
      } finally {
        $('#dialog-ok').disabled = false;
      }
    };
    cancel.addEventListener('click', onCancel, { once: true });
    form.addEventListener('submit', onSubmit);
    d.addEventListener('close', () => {
      cancel.removeEventListener('click', onCancel);
      form.removeEventListener('submit', onSubmit);
      if (d.returnValue !== 'ok') resolve(null);
      else resolve(act ? result ?? true : value());
    }, { once: true });
    d.returnValue = '';
    d.showModal();
    if (focus) focus.focus();
    else if (input !== undefined) { $('#dialog-input').focus(); $('#dialog-input').select(); } else $('#dialog-ok').focus();
  });
}
