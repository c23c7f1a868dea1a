// The Share dialog of a file or folder row: a link with an expiry, a password, a download
// limit and — for a file — whether it follows the newest version or pins this one; for a
// folder, a file request instead (people drop files in, see nothing), and above the link the
// People of the folder (share-people.js: share it with accounts, by role). Create shows the link
// once (the server keeps only its hash) with a Copy button. The fields are a form inside the
// shared dialog (`ask`), so Enter creates, Esc closes and a refusal shows in `#dialog-error`.
import { app, el, button, ask, say, explain } from './state.js';
import { peopleSection } from './share-people.js';

/** A `<label>` around `input`, with a hint line under it when given. */
export function field(text, input, hint) {
  const l = el('label', {}, el('span', { textContent: text }), input);
  if (hint) l.append(el('span', { className: 'hint', textContent: hint }));
  return l;
}

/** A radio choice: `[value, text]` pairs, the first checked. */
function choice(name, legend, options) {
  const set = el('fieldset', { className: 'choice' }, el('legend', { textContent: legend }));
  options.forEach(([value, text], i) => {
    const input = el('input', { type: 'radio', name, value, checked: i === 0 });
    set.append(el('label', { className: 'check' }, input, el('span', { textContent: text })));
  });
  return set;
}

/** `datetime-local`'s value for `ms` in the browser's time zone ("" for none). */
export function localInput(ms) {
  if (ms == null) return '';
  const d = new Date(ms);
  return new Date(ms - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** Hides the dialog's refusal once the user edits `form` (what it said may no longer hold). */
export function clearsError(form) {
  form.addEventListener('input', () => {
    const error = document.querySelector('#dialog-error');
    error.hidden = true;
    for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
  });
  return form;
}

/** A refusal about one field of the form: `ask` shows it and puts the focus there. */
export function refuse(input, message) {
  return Object.assign(new Error(message), { status: 400, field: input });
}

/** The expiry field's value as ms, or null; refuses a time already past. */
export function expiryOf(input) {
  if (!input.value) return null;
  const ms = new Date(input.value).getTime();
  if (!Number.isFinite(ms)) throw refuse(input, 'That expiry is not a date and time.');
  if (ms <= Date.now()) throw refuse(input, 'The expiry must be in the future.');
  return ms;
}

/** A whole number ≥ 1 from `input`, or null when it is empty. */
export function countOf(input, what) {
  if (input.value === '') return null;
  const n = Number(input.value);
  if (!Number.isInteger(n) || n < 1) throw refuse(input, `The ${what} must be a whole number of at least 1.`);
  return n;
}

const MB = 1024 * 1024;

/** Opens the Share dialog for `node`; resolves once it is closed. */
export async function share(node) {
  const isFolder = node.kind === 'folder';
  const expires = el('input', { type: 'datetime-local', id: 'share-expires' });
  const password = el('input', { type: 'password', id: 'share-password', autocomplete: 'new-password' });
  const limit = el('input', { type: 'number', id: 'share-limit', min: 1, step: 1, inputMode: 'numeric' });
  const cap = el('input', { type: 'number', id: 'share-cap', min: 1, step: 1, inputMode: 'numeric' });
  const form = el('div', { className: 'share-form' });
  let kind = null;
  let version = null;
  if (isFolder) {
    form.append(peopleSection(node), el('h3', { className: 'share-link-title', textContent: 'Link' }),
      el('p', { className: 'hint', textContent: 'Anyone with the link can open it, without an account.' }));
    kind = choice('share-kind', 'People with the link can', [['download', 'See and download what is in it'], ['request', 'Only upload files into it (a file request)']]);
    form.append(kind);
  }
  const limitField = field('Download limit (optional)', limit, 'How many times the whole of it may be downloaded.');
  const capField = field('Size limit in MiB (optional)', cap, 'The most that may be uploaded through the link, in total.');
  capField.hidden = true;
  form.append(
    field('Expires (optional)', expires, 'After this the link stops working.'),
    field('Password (optional)', password, 'Visitors must type it; the link alone is not enough.'),
    limitField,
    capField,
  );
  if (!isFolder) {
    version = choice('share-version', 'Which version', [['follow', 'Always the newest version'], ['pin', 'This version, even after changes']]);
    form.append(version);
  }
  clearsError(form);
  kind?.addEventListener('change', () => {
    const request = kind.querySelector('input:checked').value === 'request';
    limitField.hidden = request;
    capField.hidden = !request;
  });

  // Links made before stay as they are; say so, so a second one is made on purpose.
  const others = el('p', { className: 'hint', id: 'share-others', hidden: true });
  form.append(others);
  app.client.links(node.id).then(({ links }) => {
    const live = links.filter((l) => l.state === 'active').length;
    if (!live) return;
    others.textContent = `${live} link${live === 1 ? '' : 's'} to it already work${live === 1 ? 's' : ''}; this makes another. Links lists them all.`;
    others.hidden = false;
  }).catch(() => {});
  const created = await ask({
    title: `Share ${node.name}`,
    text: isFolder ? '' : 'Anyone with the link can download it, without an account.',
    body: form,
    ok: 'Create link',
    focus: kind ? kind.querySelector('input') : expires,
    act: async () => {
      const request = kind?.querySelector('input:checked').value === 'request';
      const body = { node_id: node.id, kind: request ? 'request' : 'download' };
      const at = expiryOf(expires);
      if (at != null) body.expires_at = at;
      if (password.value) body.password = password.value;
      if (request) {
        const mib = countOf(cap, 'size limit');
        if (mib != null) body.max_bytes = mib * MB;
      } else {
        const n = countOf(limit, 'download limit');
        if (n != null) body.max_downloads = n;
      }
      if (version) body.pin_version = version.querySelector('input:checked').value === 'pin';
      return app.client.createLink(body);
    },
  });
  if (!created) return;
  await showLink(node, created);
}

/** The link, shown once, with a Copy button that says "Copied" when it worked. */
async function showLink(node, created) {
  const url = new URL(created.url, location.origin).href;
  const input = el('input', { id: 'share-url', value: url, readOnly: true });
  input.setAttribute('aria-label', 'The link');
  const copied = el('span', { id: 'share-copied', className: 'copied', role: 'status' });
  const copy = button('Copy', async () => {
    try {
      await copyText(url, input);
      copied.textContent = 'Copied';
      copied.className = 'copied ok';
    } catch (e) {
      copied.textContent = `Could not copy: select the link and copy it by hand. (${explain(e)})`;
      copied.className = 'copied error';
    }
  }, 'secondary', 'Copy the link');
  copy.id = 'share-copy';
  const request = created.link?.kind === 'request';
  const body = el('div', { className: 'share-result' },
    el('div', { className: 'row' }, input, copy), copied,
    el('p', { className: 'hint', textContent: 'Only this dialog shows the whole link; the Links screen lists it for editing and revoking.' }));
  say(`Created a ${request ? 'file request' : 'link'} for ${node.name}.`);
  await ask({ title: request ? `File request for ${node.name}` : `Link to ${node.name}`, body, ok: 'Done', cancel: null, focus: copy });
}

/** Puts `text` on the clipboard; the selection and the old command where the API is missing. */
export async function copyText(text, input) {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  input.focus();
  input.select();
  if (!document.execCommand('copy')) throw new Error('the browser refused');
}
