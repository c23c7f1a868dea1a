// A shared folder's activity (GET /api/v1/shares/{id}/activity): who uploaded, renamed, moved,
// deleted and restored what, and who changed the members, newest first, in a dialog of its own
// (so it opens over the Share dialog as well as from Shared with me). While it is open, a page
// of the change feed that carries a change of that folder's namespace (live.js) re-reads it,
// so another member's upload shows without a reload. Names are the items' names now: the
// server keeps no earlier ones, and a hint says so.
import { app, $, el, explain } from './state.js';
import { onChanges } from './live.js';
import { onShares } from './shares.js';
import { formatAgo, formatDate } from './format.js';

/** How many changes one read shows (the server's default; it takes up to 200). */
const LIMIT = 50;

/** What each kind of change says after who did it: `what` is the item's name, `root` whether
 * it is the shared folder itself. A kind not listed here is said by `generic`. */
const WORDS = {
  create: (what, root) => (root ? `created the shared folder ${what}` : `created the folder ${what}`),
  version: (what) => `uploaded ${what}`,
  rename: (what) => `renamed ${what}`,
  move: (what) => `moved ${what}`,
  trash: (what) => `moved ${what} to the trash`,
  restore: (what) => `restored ${what} from the trash`,
  purge: (what) => `deleted ${what} for good`,
  members: () => 'changed the members',
  shared: (what) => `shared ${what}`,
  unshared: (what) => `stopped sharing ${what}`,
  invited: () => 'invited someone',
  joined: () => 'joined',
  left: () => 'left',
  role: () => 'changed a role',
};
const generic = (what, root, kind) => `changed ${what} (${kind})`;

/** The share shown now, or null while the dialog is closed. */
let shown = null;
let running = null;
let again = false;
let ticker = null;

onChanges((changes) => {
  if (shown && changes.some((c) => c.namespace_id === shown.id)) reload();
});
// Stopped sharing, or the user removed, while the list is open: its log is no longer theirs to
// read, and the re-read says so instead of leaving a list that no longer follows anything.
onShares((list) => {
  if (shown && !list.some((s) => s.id === shown.id && s.accepted)) reload();
});

/** "Ana uploaded plan.txt": one item as a sentence (pure, for the list and its tests). */
export function sentence(item, share, me) {
  const who = !item.actor ? 'Cairn' : item.actor.user_id === me ? 'You' : item.actor.username;
  const what = item.name ?? 'an item that no longer exists';
  const words = WORDS[item.kind] || generic;
  return `${who} ${words(what, item.node_id === share.root_id, item.kind)}`;
}

/** Opens the activity of `share` (a `Share`: `id`, `name`, `root_id`). */
export async function showActivity(share) {
  const d = $('#activity-dialog');
  shown = share;
  $('#activity-title').textContent = `Activity in ${share.name}`;
  $('#activity-list').replaceChildren();
  $('#activity-empty').hidden = true;
  $('#activity-error').hidden = true;
  $('#activity-loading').hidden = false;
  d.dataset.share = share.id;
  delete d.dataset.loaded;
  d.addEventListener('close', () => {
    shown = null;
    clearInterval(ticker);
    ticker = null;
  }, { once: true });
  if (!d.open) d.showModal();
  // "2 min ago" goes stale while the dialog stays open: redraw the times each half minute.
  clearInterval(ticker);
  ticker = setInterval(retime, 30_000);
  await reload();
}

/** Re-reads the shown share's activity; concurrent calls share one run, and a call during a
 * run reads once more after it (the change that prompted it may have landed after its answer). */
function reload() {
  if (running) { again = true; return running; }
  running = (async () => {
    do {
      again = false;
      await readOnce();
    } while (again && shown);
  })().finally(() => { running = null; });
  return running;
}

async function readOnce() {
  const share = shown;
  if (!share) return;
  let items;
  try {
    ({ items } = await app.client.activity(share.id, LIMIT));
  } catch (e) {
    if (shown !== share) return;
    $('#activity-loading').hidden = true;
    const error = $('#activity-error');
    if (e.status === 404) {
      // Not a passing failure: what was listed is no longer the user's to see.
      $('#activity-list').replaceChildren();
      $('#activity-empty').hidden = true;
      $('#activity-names').hidden = true;
    }
    error.textContent = e.status !== 404 ? `Could not load the activity of ${share.name}: ${explain(e)}`
      : share.role === 'owner' ? `${share.name} is no longer shared, so it has no activity to show.`
        : `${share.name} is no longer shared with you, so its activity cannot be shown.`;
    error.hidden = false;
    return;
  }
  if (shown !== share) return;
  draw(share, items);
}

function draw(share, items) {
  const now = Date.now();
  const me = app.session?.user_id;
  const rows = items.map((item) => {
    const when = el('span', { className: 'meta when', textContent: formatAgo(item.at, now) });
    when.dataset.at = item.at;
    when.title = formatDate(item.at);
    const title = el('span', { className: 'title', textContent: sentence(item, share, me) });
    if (item.actor) title.title = `${item.actor.username} on ${item.actor.device_name}`;
    const li = el('li', { className: `item activity ${item.kind}` }, el('div', { className: 'what' }, title, when));
    li.dataset.kind = item.kind;
    li.dataset.seq = item.seq;
    if (item.name != null) li.dataset.name = item.name;
    if (item.actor) li.dataset.user = item.actor.username;
    return li;
  });
  $('#activity-list').replaceChildren(...rows);
  $('#activity-loading').hidden = true;
  $('#activity-error').hidden = true;
  $('#activity-empty').hidden = items.length > 0;
  $('#activity-names').hidden = items.length === 0;
  $('#activity-dialog').dataset.loaded = String(items.length);
}

function retime() {
  const now = Date.now();
  for (const w of document.querySelectorAll('#activity-list .when')) w.textContent = formatAgo(Number(w.dataset.at), now);
}
