// Cairn's service worker: keeps the app shell (HTML, CSS, JS, the WASM core, icons) so the app
// opens and works offline, and serves streamed downloads (/__download/<id>) whose bytes the page
// feeds through a MessageChannel, so a large file goes to disk without becoming one Blob.
// API calls and chunk URLs are never cached here: the page keeps its data in IndexedDB.
// Only the app's own pages get the shell: a tab opened on /metrics, /openapi.json, an API URL
// or a share page goes to the network untouched, so it can never be stored as the shell.
const CACHE = 'cairn-shell-v25';
const SHELL = [
  '/', '/index.html', '/style.css', '/manifest.webmanifest', '/icon.svg',
  '/icons/icon-192.png', '/icons/icon-512.png',
  '/js/app.js', '/js/state.js', '/js/store.js', '/js/offline.js', '/js/pins.js', '/js/live.js', '/js/uploads.js', '/js/upload-run.js', '/js/batched.js', '/js/slots.js',
  '/js/screens.js', '/js/export.js', '/js/download.js', '/js/zip.js', '/js/format.js', '/js/share-dialog.js', '/js/links.js', '/js/picked.js',
  '/js/shares.js', '/js/share-people.js', '/js/shared-with-me.js', '/js/share-activity.js',
  '/js/chunk-pool.js', '/js/chunk-worker.js', '/js/chunk-feed.js',
  '/js/viewer.js', '/js/viewer-types.js', '/js/thumbs.js',
  '/pkg/web_client.js', '/pkg/web_client_bg.wasm', '/pkg/error_codes.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

/** Paths the server answers itself, never with the app: the worker leaves them alone. */
const SERVER_PATHS = ['/api/', '/blobs/', '/s/', '/metrics', '/openapi.json', '/healthz', '/readyz'];
const isServerPath = (p) => SERVER_PATHS.some((s) => (s.endsWith('/') ? p.startsWith(s) : p === s || p.startsWith(`${s}/`)));
/** The app's own pages: what a navigation may be answered with the shell for. */
const APP_PAGES = ['/', '/index.html'];

const downloads = new Map();

self.addEventListener('message', (event) => {
  const { data } = event;
  if (data?.type === 'download' && event.ports[0]) {
    downloads.set(data.id, { port: event.ports[0], name: data.name, size: data.size });
    event.ports[0].postMessage({ type: 'ready' });
  }
});

function streamed(id) {
  const d = downloads.get(id);
  if (!d) return new Response('This download has expired.', { status: 404 });
  downloads.delete(id);
  const { port } = d;
  const body = new ReadableStream({
    start(ctrl) {
      port.onmessage = ({ data }) => {
        if (data.type === 'chunk') ctrl.enqueue(new Uint8Array(data.chunk.buffer ?? data.chunk));
        else if (data.type === 'end') ctrl.close();
        else if (data.type === 'abort') ctrl.error(new Error('the download failed'));
      };
    },
    pull() { port.postMessage({ type: 'pull' }); },
    cancel() { port.postMessage({ type: 'cancel' }); },
  }, new CountQueuingStrategy({ highWaterMark: 4 }));
  const headers = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(d.name)}`,
    'x-content-type-options': 'nosniff',
  };
  if (Number.isFinite(d.size)) headers['content-length'] = String(d.size);
  return new Response(body, { headers });
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== 'GET') return;
  if (url.pathname.startsWith('/__download/')) {
    event.respondWith(streamed(url.pathname.slice('/__download/'.length)));
    return;
  }
  if (isServerPath(url.pathname)) return;
  const navigate = event.request.mode === 'navigate';
  const appPage = navigate && APP_PAGES.includes(url.pathname);
  // Another page of ours (bench.html, say) is not the shell: the network alone.
  if (navigate && !appPage) return;
  // The shell: the network first (always fresh online), the cache when offline.
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const fresh = await fetch(event.request);
      const html = (fresh.headers.get('content-type') || '').startsWith('text/html');
      if (fresh.ok && (appPage ? html : SHELL.includes(url.pathname))) {
        await cache.put(appPage ? '/index.html' : event.request, fresh.clone());
      }
      return fresh;
    } catch (e) {
      const hit = await cache.match(appPage ? '/index.html' : event.request, { ignoreSearch: true });
      if (hit) return hit;
      throw e;
    }
  })());
});
