// The engine's worker starts here. This script imports nothing statically, so it runs as soon as it
// arrives: the files that a request will download (the engine, a shipped model) are asked for the
// moment the request comes in, not one round trip later, once the engine's glue and the worker's
// modules have loaded. worker-main.js does all the rest; it takes over the requests that arrived
// meanwhile, in their order.

/** The engine build (SIMD128; a relaxed-SIMD build measured no faster and was dropped). */
export const ENGINE = { name: 'SIMD128', file: 'fgsm_wasm_bg.wasm' };

/** The folder of the engine's files when a request does not name one: the pkg/ beside this worker. */
export const DEFAULT_PKG = new URL('./pkg/', import.meta.url).href;

/** The engine's file in the folder `pkg`. */
export const engineUrl = (pkg) => new URL(ENGINE.file, pkg ?? DEFAULT_PKG).href;

/**
 * The file a `load` request downloads first: a shipped model's NNEF file when it needs no gradient
 * graph built (`nnef`: {url}), else its ONNX file (`url`); null for a reader's own file.
 */
export const firstModelFile = ({ url, nnef = null, build = null }) => (!url ? null : nnef?.url && !build ? nnef.url : url);

/** Downloads started here, by URL, until worker-main.js takes them: {response, controller}. */
const started = new Map();

function startDownload(url) {
  if (!url || started.has(url)) return;
  const controller = new AbortController();
  const response = fetch(url, { signal: controller.signal });
  response.catch(() => {}); // its failure is reported to whoever takes it
  started.set(url, { response, controller });
}

/**
 * The download of `url` started when its request arrived, if there is one, handed out once; it stops
 * when `signal` aborts. → a Promise of its Response, or null.
 */
export function takeStartedDownload(url, signal) {
  const found = started.get(url);
  if (!found) return null;
  started.delete(url);
  signal?.addEventListener('abort', () => found.controller.abort(), { once: true });
  if (signal?.aborted) found.controller.abort();
  return found.response;
}

// Until worker-main.js has loaded: keep each message, and start what it will download.
const waiting = [];
self.onmessage = (event) => {
  const message = event.data;
  waiting.push(message);
  if (message?.op === 'init') startDownload(engineUrl(message.args?.pkg));
  if (message?.op === 'load') startDownload(firstModelFile(message.args ?? {}));
};

import('./worker-main.js').then(
  ({ start }) => start(waiting),
  (e) => {
    // Thrown outside the promise, so that the page's Worker gets an error event and says so.
    setTimeout(() => {
      throw new Error(`the engine's worker could not load its modules (${e?.message ?? e})`);
    });
  },
);
