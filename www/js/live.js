// Live sync: the server's SSE stream (/api/v1/events) only says "namespace N is at seq S"; the
// WASM `SyncFeed` decides when to pull /api/v1/changes, which cached folders went stale, and
// how to wait after an error. The open folder re-lists at once, so another device's change
// shows within a second. The stream is opened with a one-minute ticket (POST
// /api/v1/events/ticket), never the device token, so every (re)connect fetches a fresh one:
// on an error we close the EventSource ourselves (its own retry would reuse a stale ticket)
// and reconnect with backoff, or at once when the network comes back, then pull to catch up.
// A page that carries a membership change (shared, invited, joined, left, role, …) also
// re-reads the shared folders (shares.js), so invitations and removals show live; screens that
// follow one namespace (a shared folder's activity) subscribe to every page with `onChanges`.
import { SyncFeed } from '../pkg/web_client.js';
import * as store from './store.js';
import { app, folder, codeOf } from './state.js';
import { forgetListings, forgetAllListings } from './offline.js';
import { MEMBERSHIP_KINDS, loadShares } from './shares.js';

let feed = null;
let source = null;
let retry = 1000;
let reconnectTimer = null;
let running = false;
let queued = null;
let stopped = true;
let unsupported = false;
let wake = null; // cuts the current backoff sleep short (the stream reopened)
let attempt = 0; // the newest connect(); an older one still awaiting its ticket gives up
const pageListeners = new Set();

/** Calls `fn(changes)` with the changes of every page pulled from the feed. */
export function onChanges(fn) { pageListeners.add(fn); }

export async function startLive() {
  stopLive();
  stopped = false;
  unsupported = false;
  feed = new SyncFeed((await store.get('meta', 'cursor')) ?? undefined);
  connect();
  drive(feed.hint(undefined, undefined));
}

export function stopLive() {
  stopped = true;
  attempt += 1;
  source?.close();
  source = null;
  clearTimeout(reconnectTimer);
}

/** Tells the planner where the nodes of a listing live (so a move refreshes both folders). */
export function sawListing(l) {
  if (!feed) return;
  for (const n of l.children) feed.saw(n.id, n.parent_id ?? undefined);
}

async function connect() {
  if (stopped || !app.session) return;
  source?.close();
  source = null;
  clearTimeout(reconnectTimer);
  const mine = ++attempt;
  document.body.dataset.live = 'connecting';
  let ticket;
  try {
    ({ ticket } = await app.client.streamTicket());
    // Something between here and the server answering 200 with other JSON: retry later
    // (and never hand the core a non-string, which would corrupt its memory).
    if (typeof ticket !== 'string') throw new Error('the event stream ticket was not a string');
  } catch (e) {
    if (mine !== attempt || stopped) return;
    document.body.dataset.live = 'down';
    // A token the server no longer knows: let a refresh meet the 401 that signs out.
    if (e.status === 401) { stopLive(); app.refresh(); return; }
    scheduleReconnect();
    return;
  }
  if (mine !== attempt || stopped) return;
  const es = new EventSource(app.client.eventsUrl(ticket));
  source = es;
  es.onopen = () => {
    retry = 1000;
    document.body.dataset.live = 'open';
    // Catch up on what happened while disconnected; a pull waiting out the backoff of
    // earlier failures goes now (the server answers again).
    const action = feed.reconnected();
    if (action.action === 'pull' && wake) wake();
    else drive(action);
  };
  es.onmessage = (ev) => {
    // "namespace N is at seq S": the user's own tree or a shared one, each with its own log.
    let hint;
    try { hint = JSON.parse(ev.data); } catch { hint = {}; }
    const num = (v) => (typeof v === 'number' ? v : undefined);
    // A hint while a pull waits out the backoff of earlier failures: the server answers, so
    // the pull goes now (as when the stream reopens; a wait the server asked for still holds).
    if (wake && feed.reconnected().action === 'pull') { wake(); return; }
    drive(feed.hint(num(hint.namespace_id), num(hint.seq)));
  };
  // This device was revoked elsewhere: stop, and let a refresh meet the 401 that signs out.
  es.addEventListener('revoked', () => {
    stopLive();
    app.refresh();
  });
  es.onerror = () => {
    if (source !== es) return;
    document.body.dataset.live = 'down';
    es.close();
    source = null;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, retry);
  retry = Math.min(retry * 2, 30_000);
}

window.addEventListener('online', () => {
  if (stopped) return;
  if (!source || source.readyState !== EventSource.OPEN) { retry = 1000; connect(); }
  drive(feed.hint(undefined, undefined));
});

const sleep = (ms) => new Promise((resolve) => {
  const done = () => { clearTimeout(timer); wake = null; resolve(); };
  const timer = setTimeout(done, ms);
  wake = done;
});

/** While this device uploads, feed pulls start at most this often: its own commits hint the
 * feed hundreds of times a second in a dropped folder, and each pull (a request, its page, the
 * stale listings forgotten, the cursor kept) took main-thread time from the upload. Other
 * devices' changes then show up to a second later; with nothing uploading, at once. */
const BUSY_PULL_GAP_MS = 1000;
let lastPull = -Infinity;

/** Performs planner actions until it says idle; one loop at a time. */
async function drive(action) {
  if (running) { if (action.action !== 'idle') queued = action; return; }
  running = true;
  try {
    while (action && action.action !== 'idle' && !stopped && !unsupported) {
      if (action.action === 'pull') {
        const gap = app.uploadsBusy ? lastPull + BUSY_PULL_GAP_MS - performance.now() : 0;
        if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
        lastPull = performance.now();
        try {
          const page = await app.client.changes(action.cursor ?? undefined, 500);
          const { folders, next } = feed.page(page);
          // Not awaited: the shares screen redraws when it lands, the feed goes on.
          if (page.changes.some((c) => MEMBERSHIP_KINDS.includes(c.kind))) loadShares();
          if (page.changes.length) for (const fn of pageListeners) fn(page.changes);
          await stale(folders);
          // After the stale listings are forgotten, and relaxed: a cursor lost in a crash
          // only means pulling the page again, never a cached listing left stale. So a write
          // that fails (the origin's storage full) costs the same, and the feed goes on.
          await store.put('meta', 'cursor', feed.cursor, 'relaxed')
            .catch((err) => console.warn('the feed cursor was not kept on this device:', err));
          action = next;
        } catch (e) {
          if (e.status === 404 || e.status === 401) { unsupported = e.status === 404; break; }
          action = feed.error(e.status ?? 0, codeOf(e), e.retryAfter ?? undefined);
        }
      } else if (action.action === 'relist') {
        await store.del('meta', 'cursor');
        await forgetAllListings();
        await app.refresh();
        action = feed.hint(undefined, undefined);
      } else if (action.action === 'wait') {
        await sleep(action.ms);
        action = { action: 'pull', cursor: action.cursor };
      } else break;
      if ((!action || action.action === 'idle') && queued) { action = queued; queued = null; }
    }
  } finally {
    running = false;
  }
}

async function stale(folders) {
  if (!folders.length) return;
  const open = folder()?.id;
  await forgetListings(folders.filter((id) => id !== open));
  if (folders.includes(open)) await app.refresh({ quiet: true });
}
