// The offline copy of the site: a service worker with one cache per build. `./build.sh site`
// writes VERSION (a hash of every file it built) and FILES (their paths) into site/sw.js, so any
// change to any file makes a new service worker, whose cache replaces the old one.
//   - On install: the page, the engine (glue and wasm), the worker, the widget and the MNIST model,
//     so that a second visit attacks digits with no network.
//   - On use: whatever else the reader opens (the article, the photo model and its samples) is
//     kept once it has been fetched; and what the page fetched before this worker took over is
//     added when the page lists it (sw-register.js).
// Registered by the page and the article (sw-register.js), never by the embeddable widget, which
// lives inside other people's pages.
const VERSION = 'dev';
const FILES = [];

const PREFIX = 'fgsm-';
const CACHE = `${PREFIX}${VERSION}`;

/** What a first visit stores: the page and everything it needs to attack a digit. */
const PRECACHE = /^(index\.html|[^/]+\.(js|css)|ui\/[^/]+|embed\/[^/]+\.js|pkg\/[^/]+\.(js|wasm)|models\/mnist\/[^/]+)$/;

const scope = new URL('./', self.location.href);
const precached = FILES.filter((file) => PRECACHE.test(file)).map((file) => new URL(file === 'index.html' ? './' : file, scope).href);

// A new version asks to take over at once (skipWaiting), which it usually does. But a request
// that restarts the old worker while Chromium is stopping it for the switch puts the switch off
// until the old worker has been idle for 30 s (5 minutes at most) or the reader's last page of
// this site closes (tests/browser/offline.test.mjs makes that happen).
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(precached))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// The page lists what it fetched before this worker took over ({type: 'keep', urls}).
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep' || !Array.isArray(event.data.urls)) return;
  event.waitUntil(
    ourCache().then((cache) =>
      Promise.all(
        event.data.urls
          .filter((url) => cache && typeof url === 'string' && ours(new URL(url, scope)))
          .map(async (url) => (await cache.match(url)) ?? keep(cache, new Request(url))),
      ),
    ),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !ours(new URL(request.url))) return;
  event.respondWith(answer(request));
});

/** This site's files: same origin, under the scope, and not this worker itself. */
function ours(url) {
  return url.origin === scope.origin && url.href.startsWith(scope.href) && url.pathname !== new URL(self.location.href).pathname;
}

/**
 * From the cache when it is there (a page's address matches whatever its query says), else from
 * the network, keeping a copy. A build's files never change, so the cache is never stale: the
 * next build comes with a new service worker and a new cache.
 */
async function answer(request) {
  const cache = await ourCache();
  if (!cache) return fetch(request);
  const cached = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
  if (cached) return cached;
  return keep(cache, request);
}

/**
 * This version's cache, or null once a newer version has deleted it: a worker that still runs for
 * a page opened before the update must not bring its cache back.
 */
async function ourCache() {
  if (superseded()) return null;
  // Opened once per run of this worker, and only while it exists: once a newer version's
  // activation has deleted it, this object is orphaned and writes to it vanish, whereas a later
  // caches.open() would bring the old cache back.
  opened ??= caches.has(CACHE).then((has) => (has ? caches.open(CACHE) : null));
  return opened;
}
let opened = null;

/** A newer version of this worker has taken over (or is taking over) this registration. */
function superseded() {
  const active = self.registration?.active;
  return self.serviceWorker?.state === 'redundant' || (!!active && !!self.serviceWorker && active !== self.serviceWorker);
}

/** Fetches `request` and keeps a copy of a whole, successful answer. */
async function keep(cache, request) {
  const response = await fetch(request);
  if (response.ok && response.status === 200 && response.type === 'basic' && !request.headers.has('range')) {
    // A page is kept under its address without the query (which only sets the view).
    const key = new URL(request.url);
    if (request.mode === 'navigate') key.search = '';
    cache.put(request.mode === 'navigate' ? key.href : request, response.clone()).catch(() => {});
  }
  return response;
}
