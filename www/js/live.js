// Live sync: the server's SSE stream (/api/v1/events) only says "namespace N is at seq S"; the
// WASM `SyncFeed` decides when to pull /api/v1/changes, which cached folders went stale, and
// how to wait after an error. The open folder re-lists at once, so another device's change
// shows within a second. EventSource reconnects by itself (with Last-Event-ID); when the
// browser gives up, or the network comes back, we reconnect and pull to catch up.
import { SyncFeed } from '../pkg/web_client.js';
import * as store from './store.js';
import { app, folder } from './state.js';
import { forgetListing, forgetAllListings } from './offline.js';

let feed = null;
let source = null;
let retry = 1000;
let reconnectTimer = null;
let running = false;
let queued = null;
let stopped = true;
let unsupported = false;

export async function startLive() {
  stopLive();
  stopped = false;
  unsupported = false;
  feed = new SyncFeed((await store.get('meta', 'cursor')) ?? undefined);
  connect();
  drive(feed.hint(undefined));
}

export function stopLive() {
  stopped = true;
  source?.close();
  source = null;
  clearTimeout(reconnectTimer);
}

/** Tells the planner where the nodes of a listing live (so a move refreshes both folders). */
export function sawListing(l) {
  if (!feed) return;
  for (const n of l.children) feed.saw(n.id, n.parent_id ?? undefined);
}

function connect() {
  if (stopped || !app.session) return;
  source?.close();
  const es = new EventSource(`/api/v1/events?token=${encodeURIComponent(app.session.token)}`);
  source = es;
  document.body.dataset.live = 'connecting';
  es.onopen = () => {
    retry = 1000;
    document.body.dataset.live = 'open';
    drive(feed.hint(undefined)); // catch up on what happened while disconnected
  };
  es.onmessage = (ev) => {
    let seq;
    try { seq = JSON.parse(ev.data).seq; } catch { seq = undefined; }
    drive(feed.hint(typeof seq === 'number' ? seq : undefined));
  };
  // This device was revoked elsewhere: stop, and let a refresh meet the 401 that signs out.
  es.addEventListener('revoked', () => {
    stopLive();
    app.refresh();
  });
  es.onerror = () => {
    document.body.dataset.live = 'down';
    if (es.readyState === EventSource.CLOSED && source === es) scheduleReconnect();
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
  drive(feed.hint(undefined));
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Performs planner actions until it says idle; one loop at a time. */
async function drive(action) {
  if (running) { if (action.action !== 'idle') queued = action; return; }
  running = true;
  try {
    while (action && action.action !== 'idle' && !stopped && !unsupported) {
      if (action.action === 'pull') {
        try {
          const page = await app.client.changes(action.cursor ?? undefined, 500);
          const { folders, next } = feed.page(page);
          await store.put('meta', 'cursor', feed.cursor);
          await stale(folders);
          action = next;
        } catch (e) {
          if (e.status === 404 || e.status === 401) { unsupported = e.status === 404; break; }
          action = feed.error(e.status ?? 0, e.code || '', e.retryAfter ?? undefined);
        }
      } else if (action.action === 'relist') {
        await store.del('meta', 'cursor');
        await forgetAllListings();
        await app.refresh();
        action = feed.hint(undefined);
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
  for (const id of folders) if (id !== open) await forgetListing(id);
  if (folders.includes(open)) await app.refresh({ quiet: true });
}
