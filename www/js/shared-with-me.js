// The "Shared with me" screen: invitations waiting for an answer (Accept / Decline), the shared
// folders the user belongs to (owner, role; Open, People, Activity) and those they share
// themselves. It draws from shares.js's list, which the change feed keeps current, so an
// invitation appears and a removed share disappears while the screen is open. Open shows the
// share's folder where it lies in the user's own tree (a member's mount, placed and named by
// them; the owner's folder), the share remembered in the path so the role is known all the
// way down. The names here are the owner's.
import { app, $, el, button, say, explain } from './state.js';
import { shares, loadShares, onShares } from './shares.js';
import { people } from './share-people.js';
import { showActivity } from './share-activity.js';
import { formatDate } from './format.js';

const CAN = { owner: 'owner', editor: 'can edit', viewer: 'can view' };

let openFolderOf = () => {};
let visible = () => false;

/** `open(share)` shows a share's folder; `isShown()` says whether this screen is the one shown. */
export function wireShared(open, isShown) {
  openFolderOf = open;
  visible = isShown;
  onShares(() => { badge(); if (visible()) draw(); });
}

export async function showShared() {
  draw();
  await loadShares();
}

/** The number of open invitations, next to the nav entry. */
function badge() {
  const n = shares().filter((s) => !s.accepted).length;
  const b = $('#invite-count');
  if (!b) return;
  b.hidden = n === 0;
  b.textContent = String(n);
}

function item(s, meta, ...actions) {
  const li = el('li', { className: `item share${s.accepted ? '' : ' invitation'}` });
  li.dataset.name = s.name;
  li.dataset.share = s.id;
  li.dataset.role = s.role;
  li.append(el('div', { className: 'what' },
    el('span', { className: 'title' }, el('span', { className: 'icon folder shared', ariaHidden: 'true' }), s.name),
    el('span', { className: 'meta', textContent: meta })), el('div', { className: 'row wrap' }, ...actions));
  return li;
}

function draw() {
  const all = shares();
  const invited = all.filter((s) => !s.accepted);
  const joined = all.filter((s) => s.accepted && s.role !== 'owner');
  const mine = all.filter((s) => s.accepted && s.role === 'owner');
  fill('#invitations', invited.map((s) => item(s, `from ${s.invited_by || s.owner} · you would ${s.role === 'editor' ? 'edit' : 'view'} it · ${formatDate(s.created_at)}`,
    button('Accept', () => answer(s, true), 'accept', `Accept ${s.name}`),
    button('Decline', () => answer(s, false), 'secondary decline', `Decline ${s.name}`))));
  fill('#shared-with-me', joined.map((s) => item(s, `shared by ${s.owner} · you ${CAN[s.role] || s.role}`,
    button('Open', () => openFolderOf(s), 'secondary open-share', `Open ${s.name}`),
    button('People', () => people(s), 'secondary people', `People of ${s.name}`),
    button('Activity', () => showActivity(s), 'secondary activity', `Activity in ${s.name}`))));
  fill('#shared-by-me', mine.map((s) => item(s, `${s.members} ${s.members === 1 ? 'person' : 'people'} besides you`,
    button('Open', () => openFolderOf(s), 'secondary open-share', `Open ${s.name}`),
    button('People', () => people(s), 'secondary people', `People of ${s.name}`),
    button('Activity', () => showActivity(s), 'secondary activity', `Activity in ${s.name}`))));
  $('#invitations-block').hidden = invited.length === 0;
  $('#shared-by-me-block').hidden = mine.length === 0;
  $('#shared-empty').hidden = joined.length > 0;
}

function fill(sel, items) { $(sel).replaceChildren(...items); }

async function answer(s, accept) {
  try {
    if (accept) await app.client.acceptShare(s.id);
    else await app.client.removeMember(s.id, app.session.user_id);
    say(accept ? `${s.name} is now in Shared with me.` : `Declined ${s.name}.`);
  } catch (e) {
    say(`Could not ${accept ? 'accept' : 'decline'} ${s.name}: ${explain(e)}`, 'error');
  }
  await loadShares();
}
