// The standalone page: the <fgsm-demo> widget with every panel, plus the address. The address
// (?model=…#digit=12&eps=0.25&method=pgd&steps=20&seed=3) sets the widget's attributes when the page opens, and every result
// the widget shows is written back to it, so that a view can be shared.
import { parseAddress, formatAddress } from './ui/url-state.js';
import { LEAD } from './ui/models.js';
import { startEarly } from './ui/engine.js';

const demo = document.querySelector('fgsm-demo');
const asked = parseAddress(location.search, location.hash);
for (const name of ['model', 'image', 'eps', 'target', 'method', 'steps', 'alpha', 'momentum', 'seed']) if (asked[name] !== undefined) demo.setAttribute(name, asked[name]);

// The engine, the model and the photo the widget will show start downloading now, while the
// widget's own modules load (this module imports only the few it needs for that). Without a
// model and an image, the widget shows the lead.
const lead = asked.model === undefined && asked.image === undefined;
startEarly({ assets: new URL('./', import.meta.url).href, model: asked.model ?? LEAD.model, image: lead ? LEAD.image : asked.image });
// Only now: over HTTP/1.1 a browser opens six connections to a host, and the worker's requests
// should not queue behind modules that can wait (the offline copy registers after the first result).
import('./sw-register.js');

// A dragged slider gives a result every few milliseconds, and Safari refuses more than 100
// replaceState calls in 30 s: the address is written once the results pause.
const ADDRESS_PAUSE_MS = 300;
let latest = null;
let pending = null;
const addressOf = (detail) => {
  const { search, hash } = formatAddress(location.search, { ...detail, defaultModel: LEAD.model });
  return `${location.pathname}${search}${hash}`;
};
demo.addEventListener('fgsm-result', ({ detail }) => {
  latest = detail;
  clearTimeout(pending);
  pending = setTimeout(() => history.replaceState(null, '', addressOf(latest)), ADDRESS_PAUSE_MS);
});

// The element is defined only now, so that it starts with the address's attributes.
await import('./embed/fgsm-demo.js');
// The view now, even if the address has not caught up with it yet.
demo.shareLink = () => (latest ? new URL(addressOf(latest), location.href).href : location.href);
