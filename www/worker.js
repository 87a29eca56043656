// The engine's worker starts here. The files that a request will download (the engine, a shipped
// model) are usually already on their way: the page started them and hands them over as streams
// (ui/engine.js). Where a browser cannot hand over a stream, this script starts them the moment the
// request arrives; it imports only that list of files, so that it runs as soon as it can, not once
// the engine's glue and the worker's modules have loaded. worker-main.js does all the rest; it takes
// over the requests that arrived meanwhile, in their order.

import { engineUrl, firstModelFile } from './ui/engine-files.js';

/** Downloads under way, by URL, until worker-main.js takes them: {response, controller}. */
const started = new Map();

/**
 * Registers the download of `url`: the page's (`stream`, a ReadableStream it handed over, of
 * `type`) or, without one, a fetch started now.
 */
function startDownload(url, stream = null, type = null) {
  if (!url) return;
  started.get(url)?.controller.abort(); // an older one that nobody took
  const controller = new AbortController();
  // Through a pipe that the controller can cut, so that stopping works as for a fetch.
  const response = stream
    ? Promise.resolve(new Response(stream.pipeThrough(new TransformStream(), { signal: controller.signal }), { headers: type ? { 'Content-Type': type } : {} }))
    : fetch(url, { signal: controller.signal });
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

// Every request: start (or take over) what it will download, then hand it to worker-main.js, or
// keep it until that module has loaded.
const waiting = [];
let receive = null;
self.onmessage = (event) => {
  const message = event.data;
  const stream = message?.args?.started instanceof ReadableStream ? message.args.started : null;
  if (message?.op === 'init') startDownload(engineUrl(message.args?.pkg), stream, 'application/wasm');
  if (message?.op === 'load') startDownload(firstModelFile(message.args ?? {}), stream);
  if (receive) receive(message);
  else waiting.push(message);
};

import('./worker-main.js').then(
  (main) => {
    receive = main.receive;
    for (const message of waiting.splice(0)) receive(message);
  },
  (e) => {
    // Thrown outside the promise, so that the page's Worker gets an error event and says so.
    setTimeout(() => {
      throw new Error(`the engine's worker could not load its modules (${e?.message ?? e})`);
    });
  },
);
