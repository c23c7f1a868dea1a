// The shared folders the user owns, belongs to or is invited to (GET /api/v1/shares), and the
// role that follows from them where the user is browsing. The list is read at sign-in and again
// whenever the change feed carries a membership change (live.js), so an invitation, a new role
// or a removal shows without a reload; it is kept in IndexedDB for an offline start. Screens
// subscribe with `onShares` and redraw.
import { app } from './state.js';
import * as store from './store.js';

/** The change kinds that speak of membership (`wire::shares::kinds::ALL`). */
export const MEMBERSHIP_KINDS = ['shared', 'unshared', 'invited', 'joined', 'left', 'role', 'members'];

let list = [];
let loaded = false;
let running = null;
let again = false;
const listeners = new Set();

/** Calls `fn(list)` after every re-read. */
export function onShares(fn) { listeners.add(fn); }

export function shares() { return list; }

/** The share with namespace id `id`, if the user still has it (an invitation included). */
export function shareById(id) { return list.find((s) => s.id === id) || null; }

/** The accepted share whose folder is `nodeId`, or null. */
export function shareAt(nodeId) { return list.find((s) => s.root_id === nodeId && s.accepted) || null; }

/** The share whose folder is `nodeId` when the user is a member of it, not its owner: in the
 * user's own tree that folder is their mount of it, placed and named by them (rename and move
 * change only their tree), never theirs to share or delete: they leave it instead. */
export function mountAt(nodeId) {
  const s = shareAt(nodeId);
  return s && s.role !== 'owner' ? s : null;
}

/** Leaves share `s` (the user's own membership ends; the folder stays its owner's), calls
 * `left()` once the server has taken it out, then re-reads the list. */
export async function leaveFolder(s, left = () => {}) {
  await app.client.removeMember(s.id, app.session.user_id);
  left();
  await loadShares();
}

/** Re-reads the list; concurrent calls share one run, and a call during a run reads once more
 * after it (the change that prompted it may have landed after that run's answer). */
export function loadShares() {
  if (running) { again = true; return running; }
  running = (async () => {
    do {
      again = false;
      await readOnce();
    } while (again);
  })().finally(() => { running = null; });
  return running;
}

async function readOnce() {
  if (!app.session) return;
  try {
    ({ shares: list } = await app.client.shares());
    loaded = true;
    store.put('meta', 'shares', list).catch(() => {});
  } catch (e) {
    // Offline (or a server without shared folders): the last known list, if any.
    if (!loaded) list = (await store.get('meta', 'shares').catch(() => null)) || [];
    if (e.status === 401) return;
  }
  for (const fn of listeners) fn(list);
}

/** Forgets the list (sign-out). */
export function forgetShares() { list = []; loaded = false; }

/** The share the open folder lies in: the nearest entry of `app.path` that names one. */
export function shareHere() {
  for (let i = app.path.length - 1; i >= 0; i -= 1) {
    if (app.path[i].share != null) return shareById(app.path[i].share) || { id: app.path[i].share, gone: true };
  }
  return null;
}

/** `owner`, `editor` or `viewer` where the user is browsing (their own tree: `owner`); null
 * when the share they were in is no longer theirs. */
export function roleHere() {
  const s = shareHere();
  if (!s) return 'owner';
  if (s.gone || !s.accepted) return null;
  return s.role;
}

export function canWriteHere() { return ['owner', 'editor'].includes(roleHere()); }

/** The ids of folders that are shared roots: those the user owns, and every accepted one. */
export function sharedRoots() { return new Set(list.filter((s) => s.accepted).map((s) => s.root_id)); }
