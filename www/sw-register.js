// Makes the site work offline on the next visit: registers the service worker (sw.js) once the
// page has shown its first result (so that its downloads never compete with the first view), or
// ten seconds after the page has loaded. Then tells it what the page downloaded before it took
// over, and after each result what has been added since (a model the reader switched to), so
// that those are kept too. Loaded by the page and the article; never by the embeddable widget,
// which lives inside other people's pages.
import { usedFiles } from './ui/engine.js';

const SCRIPT = new URL('sw.js', import.meta.url);
const told = new Set();

if ('serviceWorker' in navigator && /^https?:$/.test(location.protocol)) {
  let registering = null;
  const register = () => {
    registering ??= navigator.serviceWorker
      .register(SCRIPT, { scope: new URL('./', SCRIPT).pathname })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        tell(registration);
        // After each result: what the page and its engine have fetched since.
        document.addEventListener('fgsm-result', () => tell(registration));
        return registration;
      })
      .catch(() => null); // no offline copy (a private window, a browser setting): the page works as before
    return registering;
  };
  document.addEventListener('fgsm-result', register, { once: true });
  const later = () => setTimeout(register, 10_000);
  if (document.readyState === 'complete') later();
  else addEventListener('load', later, { once: true });
}

/** Sends the service worker this site's files that the page has fetched and not yet named. */
function tell(registration) {
  const site = new URL('./', SCRIPT).href;
  // The page itself (its address without the query, which only sets the view), then its files.
  const fetched = [location.origin + location.pathname, ...performance.getEntriesByType('resource').map((entry) => entry.name.split('#')[0])];
  const fresh = [...fetched, ...usedFiles()].filter((url) => url.startsWith(site) && !told.has(url));
  if (!fresh.length || !registration.active) return;
  for (const url of fresh) told.add(url);
  registration.active.postMessage({ type: 'keep', urls: fresh });
}
