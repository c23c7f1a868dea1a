// The People part of a folder's Share dialog (and the People dialog of the Shared screen): who
// a shared folder is shared with, and as what. For a private folder of the user's own tree it
// offers "Share with people"; for a shared folder the owner invites by username with a role,
// changes roles, removes people and can stop sharing; a member sees the list and can leave.
// Either can open the folder's activity (over this dialog).
// It lives inside the dialog's form, so its own Enter (in the username field) invites rather
// than submitting the dialog, and its refusals show in its own line, in words.
import { app, $, el, button, ask, explain } from './state.js';
import { shareAt, shareHere, loadShares, leaveFolder } from './shares.js';
import { showActivity } from './share-activity.js';
import { NOT_FOUND, ALREADY_MEMBER, SHARED_FOLDER } from '../pkg/error_codes.js';

const ROLES = [['viewer', 'Can view'], ['editor', 'Can edit']];
const ROLE_NAMES = { owner: 'owner', editor: 'can edit', viewer: 'can view' };

function roleSelect(value, label) {
  const s = el('select', {}, ...ROLES.map(([v, t]) => el('option', { value: v, textContent: t, selected: v === value })));
  s.setAttribute('aria-label', label);
  return s;
}

/** The People section for folder `node` (a row of the file list, or a share's root). */
export function peopleSection(node) {
  const box = el('fieldset', { className: 'people', id: 'people' }, el('legend', { textContent: 'People' }));
  const body = el('div', { className: 'people-body' }, el('p', { className: 'hint', textContent: 'Loading…' }));
  const error = el('p', { className: 'dialog-error', id: 'people-error', role: 'alert', hidden: true });
  const status = el('p', { className: 'hint', id: 'people-status', role: 'status' });
  box.append(body, error, status);
  const fail = (text) => { status.textContent = ''; error.textContent = text; error.hidden = false; };
  const ok = (text) => { error.hidden = true; status.textContent = text; };
  // What is drawn (`private`, `inside`, `owner`, `member`): for tests, and for styles.
  const drawn = (state) => { box.dataset.state = state; };
  const draw = async () => {
    await loadShares();
    const share = shareAt(node.id);
    if (share) await drawShare(share);
    else drawPrivate();
  };

  function drawPrivate() {
    const around = shareHere();
    if (around && !around.gone) {
      body.replaceChildren(el('p', { className: 'hint', textContent: `This folder is inside the shared folder “${around.name}”: everyone it is shared with sees it.` }));
      drawn('inside');
      return;
    }
    const start = button('Share with people', async () => {
      start.disabled = true;
      try {
        await app.client.shareFolder(node.id);
        ok(`${node.name} is now a shared folder. Invite people by their username.`);
        await draw();
        $('#invite-user')?.focus();
      } catch (e) {
        start.disabled = false;
        fail(e.code === SHARED_FOLDER
          ? 'This folder lies inside a shared folder or holds one, so it cannot be shared on its own.'
          : `Could not share ${node.name}: ${explain(e)}`);
      }
    }, 'secondary', `Share ${node.name} with people`);
    start.id = 'share-people';
    body.replaceChildren(el('p', { className: 'hint', textContent: 'Only you can see this folder. Share it with people who have a Cairn account here: they see it, and editors change it, as you do.' }), start);
    drawn('private');
  }

  async function drawShare(share) {
    const owner = share.role === 'owner';
    let members = [];
    try {
      ({ members } = await app.client.members(share.id));
    } catch (e) {
      body.replaceChildren();
      fail(`Could not load who it is shared with: ${explain(e)}`);
      return;
    }
    const list = el('ul', { className: 'list members', id: 'members' });
    for (const m of members) list.append(memberRow(share, m, owner));
    const activity = button('Activity', () => showActivity(share), 'secondary small', `Activity in ${share.name}`);
    activity.id = 'share-activity';
    const parts = [list, el('p', { className: 'row activity-link' }, activity, el('span', { className: 'hint', textContent: 'who uploaded, renamed, moved or deleted what' }))];
    if (owner) parts.unshift(inviteForm(share));
    parts.push(owner ? stopSharing(share) : leave(share));
    if (!owner) parts.unshift(el('p', { className: 'hint', textContent: `Shared by ${share.owner}; you ${share.role === 'editor' ? 'can edit it' : 'can view it'}.` }));
    body.replaceChildren(...parts);
    drawn(owner ? 'owner' : 'member');
  }

  function memberRow(share, m, owner) {
    const me = m.username === app.session?.username;
    const state = m.role === 'owner' ? 'owner' : `${ROLE_NAMES[m.role] || m.role}${m.accepted ? '' : ' · invited'}`;
    const li = el('li', { className: `item member${m.accepted ? '' : ' invited'}` });
    li.dataset.user = m.username;
    li.dataset.role = m.role;
    li.dataset.accepted = String(m.accepted);
    li.append(el('div', { className: 'what' },
      el('span', { className: 'title', textContent: `${m.username}${me ? ' (you)' : ''}` }),
      el('span', { className: 'meta', textContent: state })));
    if (owner && m.role !== 'owner') {
      const select = roleSelect(m.role, `Role of ${m.username}`);
      select.className = 'member-role';
      select.addEventListener('change', async () => {
        try {
          await app.client.setRole(share.id, m.user_id, select.value);
          ok(`${m.username} ${select.value === 'editor' ? 'can now edit' : 'can now only view'} ${share.name}.`);
          await draw();
        } catch (e) { select.value = m.role; fail(`Could not change the role of ${m.username}: ${explain(e)}`); }
      });
      const remove = button('Remove', async () => {
        try {
          await app.client.removeMember(share.id, m.user_id);
          ok(`${m.username} no longer has ${share.name}.`);
          await draw();
        } catch (e) { fail(`Could not remove ${m.username}: ${explain(e)}`); }
      }, 'danger small remove-member', `Remove ${m.username}`);
      li.append(el('div', { className: 'row' }, select, remove));
    }
    return li;
  }

  function inviteForm(share) {
    const user = el('input', { id: 'invite-user', autocomplete: 'off', placeholder: 'username' });
    user.setAttribute('aria-label', 'Username to invite');
    const role = roleSelect('editor', 'Role of the person invited');
    role.id = 'invite-role';
    const invite = async () => {
      const username = user.value.trim();
      if (!username) { fail('Type the username of the person to invite.'); user.focus(); return; }
      go.disabled = true;
      try {
        await app.client.invite(share.id, username, role.value);
        ok(`Invited ${username}; ${share.name} shows for them once they accept.`);
        await draw();
        $('#invite-user')?.focus();
      } catch (e) {
        user.setAttribute('aria-invalid', 'true');
        fail(e.code === NOT_FOUND ? `There is no user called “${username}”.`
          : e.code === ALREADY_MEMBER ? `${username} is already a member or invited.`
            : `Could not invite ${username}: ${explain(e)}`);
        user.focus();
      } finally { go.disabled = false; }
    };
    const go = button('Invite', invite, 'secondary', 'Invite');
    go.id = 'invite';
    // Enter here invites; it must not submit the dialog's own form (that makes a link).
    user.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); invite(); } });
    user.addEventListener('input', () => { user.removeAttribute('aria-invalid'); error.hidden = true; });
    return el('div', { className: 'row invite' }, user, role, go);
  }

  /** A dangerous button that asks again in place (the dialog is already the one modal). */
  function confirmed(label, question, act, id) {
    const wrap = el('div', { className: 'row confirm' });
    const first = button(`${label}…`, () => {
      const yes = button(label, async () => {
        yes.disabled = true;
        try { await act(); } catch (e) { fail(explain(e)); yes.disabled = false; }
      }, 'danger', label);
      yes.id = `${id}-yes`;
      const no = button('Keep', () => wrap.replaceChildren(first), 'secondary');
      wrap.replaceChildren(el('span', { className: 'hint', textContent: question }), yes, no);
      yes.focus();
    }, 'danger', label);
    first.id = id;
    wrap.append(first);
    return wrap;
  }

  function stopSharing(share) {
    return confirmed('Stop sharing', 'Everyone else loses it at once; it stays in your files.', async () => {
      await app.client.unshare(share.id);
      ok(`${share.name} is private again.`);
      await draw();
    }, 'unshare');
  }

  function leave(share) {
    return confirmed('Leave', `You lose ${share.name} until ${share.owner} invites you again.`, async () => {
      await leaveFolder(share);
      ok(`You left ${share.name}.`);
      body.replaceChildren();
    }, 'leave');
  }

  draw().catch((e) => fail(explain(e)));
  return box;
}

/** The People of a share on their own (from the Shared screen). */
export async function people(share) {
  await ask({ title: `People of ${share.name}`, body: peopleSection({ id: share.root_id, name: share.name }), ok: 'Done', cancel: null });
}
