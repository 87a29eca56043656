// One worker, one wasm instance and one copy of each model for every widget on a page: the first
// widget to start creates them; the others share them.
import { WorkerClient } from './worker-client.js';
import { downloadJson, download, downloadBlob, abortError } from './download.js';
import { MODELS, kindOf } from './models.js';
import { engineUrl, firstModelFile } from './engine-files.js';
import { cropFraction } from './crop.js';

let shared = null;

/** A shipped model's NNEF file, beside its model.onnx (`./build.sh site` writes it, src/nnef.rs). */
const NNEF_FILE = 'model.nnef.tar';

/** The page's one engine, started on first use with the wasm from `pkg` (a folder URL). */
export function sharedEngine(pkg) {
  shared ??= new Engine(pkg);
  return shared;
}

/**
 * Starts what a first view needs before the widget's own modules have loaded, so that the
 * downloads begin at once: the worker and its engine, the shipped model `model` (its card, and
 * its NNEF file, or ONNX file, in the worker) and, for a photo model, the sample photo `image`. The widget that
 * asks for them later gets these downloads instead of starting its own. `assets`: the folder
 * holding pkg/ and models/.
 */
export function startEarly({ assets, model, image = null }) {
  const engine = sharedEngine(new URL('pkg/', assets).href);
  const shipped = MODELS.find((m) => m.name === model);
  if (!shipped) return;
  const folder = new URL(shipped.folder, assets).href;
  // Every shipped model's file is model.onnx (its card says so too), so its download need not wait for the card.
  const card = engine.card(new URL('model.json', folder).href);
  engine.prefetch({ url: new URL('model.onnx', folder).href, card, folder, preferNnef: true });
  // A sample's name is its file's stem (see fgsm-demo.js).
  if (shipped.kind === 'photo' && image && /^[a-z][\w-]*$/i.test(image)) engine.prefetchPicture(new URL(`samples/${image}.png`, folder).href, card);
}

/** Whether this browser can hand a stream to a worker (Chrome 87 and Firefox 100 on; not every Safari). */
const STREAMS_MOVE = (() => {
  try {
    const { readable } = new TransformStream();
    new MessageChannel().port1.postMessage(readable, [readable]);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Starts downloading `url` here, on the page's thread, to hand to the worker as a stream: the
 * download then begins before the worker and its modules have loaded (a round trip or two on a
 * slow link). → {args: {started: the stream}, transfer: [it]} for the request that names the file;
 * empty where a stream cannot be handed over (the worker then downloads the file itself). An HTTP
 * error or a failed download errors the stream, and the worker reports it as its own would be.
 */
function downloadHere(url) {
  if (!STREAMS_MOVE) return { args: {}, transfer: [] };
  const { readable, writable } = new TransformStream();
  fetch(url)
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
      return response.body.pipeTo(writable);
    })
    .catch((e) => writable.abort(e).catch(() => {}));
  return { args: { started: readable }, transfer: [readable] };
}

/**
 * The files the page's engine has downloaded in its worker (each model's ONNX file), which the
 * page's own resource timing does not list: the service worker keeps them for offline visits.
 */
export function usedFiles() {
  return shared ? shared.usedFiles() : [];
}

class Engine {
  /** The worker's protocol client; widgets make their own lanes on it. */
  client;
  /** Resolves to {name, file, bytes, ms} once the wasm is compiled. */
  ready;
  /** The latest engine download progress {loaded, total}, and who wants to hear of it. */
  progress = { loaded: 0, total: 0 };
  #listeners = new Set();
  /** Shipped or linked models by URL: {promise, waiters, controller, listeners}. */
  #models = new Map();
  /** Model cards by URL (a promise each), fetched once. */
  #cards = new Map();
  /** Pictures started early by URL (see startEarly), each handed out once. */
  #pictures = new Map();
  /** Early decodes of those pictures by Blob (see prefetchPicture), each handed out once. */
  #decoded = new Map();

  constructor(pkg) {
    // A factory, not a worker: after a trap the client starts a fresh one (see worker-client.js).
    this.client = new WorkerClient(() => new Worker(new URL('../worker.js', import.meta.url), { type: 'module' }));
    const engineFile = downloadHere(engineUrl(pkg));
    this.ready = this.client.call('init', { pkg, ...engineFile.args }, {
      transfer: engineFile.transfer,
      onProgress: (p) => {
        this.progress = p;
        for (const listener of this.#listeners) listener(p);
      },
    });
    this.ready.catch(() => {});
  }

  /**
   * Calls `listener({reason, restarts})` when the engine trapped and was restarted with the same
   * models (the requests under way then fail with the message RESTARTED); returns a function that
   * stops it.
   */
  onRestart(listener) {
    return this.client.onRestart(listener);
  }

  /** Calls `listener(progress)` while the engine downloads; returns a function that stops it. */
  onProgress(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A model in the model format, downloaded and prepared once for the whole page. `url`: the ONNX
   * file; `card`: its model.json (null when it has none); `folder`: where its other files are.
   * `preferNnef` (a shipped model, picked by name): load its NNEF file instead (the ONNX file on
   * any error). `onProgress` gets {loaded, total} while it downloads and {phase: 'prepare', bytes} after.
   * Aborting `signal` stops waiting; the download stops when no widget waits for it any more.
   * → {key, info, card, digits, kind, timing}
   */
  loadModel({ url, card, folder, preferNnef = false }, { onProgress = () => {}, signal } = {}) {
    const entry = this.#entry({ url, card, folder, preferNnef });
    entry.waiters++;
    entry.listeners.add(onProgress);
    const done = () => {
      entry.listeners.delete(onProgress);
      entry.waiters--;
    };
    return new Promise((resolve, reject) => {
      const abort = () => {
        done();
        if (entry.waiters === 0) {
          entry.controller.abort();
          this.#models.delete(url);
        }
        reject(abortError());
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      entry.promise.then(
        (model) => {
          signal?.removeEventListener('abort', abort);
          done();
          entry.users++;
          resolve(model);
        },
        (e) => {
          signal?.removeEventListener('abort', abort);
          done();
          reject(e);
        },
      );
    });
  }

  /** Starts downloading and preparing a model (as loadModel does) without waiting for it. */
  prefetch({ url, card, folder, preferNnef = false }) {
    this.#entry({ url, card, folder, preferNnef });
  }

  /**
   * The one download and preparation of the model at `url`, started by its first asker. `card` may
   * still be on its way (a promise): the model's download does not wait for it.
   */
  #entry({ url, card, folder, preferNnef }) {
    let entry = this.#models.get(url);
    if (entry) return entry;
    const controller = new AbortController();
    const listeners = new Set();
    const key = `url:${url}`;
    // A shipped model's NNEF file (its graph already simplified: a faster load) sits beside its ONNX
    // file under one name, so asking for it need not wait for the card either; the worker falls
    // back to the ONNX file on any error.
    const nnef = preferNnef && folder ? { url: new URL(NNEF_FILE, folder).href } : null;
    // The decoded size, for the progress of a download through a compressing server (which does
    // not tell it), once the card has told it.
    let expectedBytes = 0;
    const cardReady = Promise.resolve(card).then((c) => {
      expectedBytes = (nnef && c?.nnef?.bytes) || c?.onnx?.bytes || 0;
      return c;
    });
    cardReady.catch(() => {});
    const promise = (async () => {
      // Asked at once: the worker starts the model's download while the engine's is under way,
      // and prepares the model once the engine is ready. An engine that fails fails this too.
      const onProgress = (p) => {
        const known = p.total || p.phase ? p : { ...p, total: expectedBytes };
        listeners.forEach((l) => l(known));
      };
      const file = downloadHere(firstModelFile({ url, nnef }));
      const loading = this.client.call('load', { key, url, nnef, ...file.args }, { signal: controller.signal, onProgress, transfer: file.transfer });
      const [info, card] = await Promise.all([loading, cardReady, this.ready]);
      const digits = card?.test_digits
        ? new (await import('./test-digits.js')).TestDigits(await download(new URL(card.test_digits.file, folder).href), card.test_digits.count)
        : null;
      // The file the worker used, for the service worker to keep (sw-register.js).
      entry.files = [info.format === 'nnef' ? nnef.url : url];
      return { key, info, card, digits, kind: kindOf(info.inputShape), timing: { bytes: info.bytes, downloadMs: info.downloadMs, prepareMs: info.ms, format: info.format, warmUp: info.warmUp ?? null } };
    })();
    entry = { promise, waiters: 0, users: 0, controller, listeners, url, nnef: Boolean(nnef), files: null };
    this.#models.set(url, entry);
    promise.catch(() => this.#models.get(url) === entry && this.#models.delete(url));
    return entry;
  }

  /**
   * Says that one user of `model` (what one loadModel resolved to, or anything with its `key`) no
   * longer needs it; once none does, the worker frees it (a later loadModel fetches and prepares
   * it again). A widget calls it for the model it leaves, so that switching models does not keep
   * every model ever shown in memory. → {freed}
   */
  release({ key }) {
    const url = key.replace(/^url:/, '');
    const entry = this.#models.get(url);
    if (!entry || --entry.users > 0 || entry.waiters > 0) return Promise.resolve({ freed: false });
    this.#models.delete(url);
    return entry.promise.then(({ key }) => this.unload(key)).catch(() => ({ freed: false }));
  }

  /** Frees the model kept under `key` in the worker (the reader's own, say). → {freed} */
  unload(key) {
    return this.client.call('unload', { key });
  }

  /** The URLs of the model files this engine has been asked to load. */
  usedFiles() {
    // A model still loading counts once its file is known: with an NNEF file, the ONNX file is
    // fetched only if the NNEF file fails.
    return [...this.#models.values()].flatMap((entry) => entry.files ?? (entry.nnef ? [] : [entry.url]));
  }

  /** A model.json (fetched once), or null when `optional` and it cannot be had. */
  async card(url, { optional = false } = {}) {
    let card = this.#cards.get(url);
    if (!card) {
      card = downloadJson(url);
      this.#cards.set(url, card);
      card.catch(() => this.#cards.get(url) === card && this.#cards.delete(url));
    }
    try {
      return await card;
    } catch (e) {
      if (optional) return null;
      throw e;
    }
  }

  /**
   * Starts downloading the picture at `url` for a later `picture(url)`. With `card` (a promise of
   * the model's card, which gives its input), also decodes it for that input in the worker, beside
   * the model's download rather than after its preparation: see `takeDecoded`.
   */
  prefetchPicture(url, card = null) {
    const blob = downloadBlob(url);
    blob.catch(() => {});
    this.#pictures.set(url, blob);
    if (!card) return;
    Promise.all([blob, card])
      .then(([file, c]) => {
        const shape = c?.input?.shape;
        if (!Array.isArray(shape) || shape.length !== 4) return;
        const [, channels, height, width] = shape;
        const args = { file, width, height, channels, cropFraction: cropFraction(c, shape) };
        const result = this.client.call('decode', args);
        result.catch(() => {}); // whoever takes it hears of a failure
        this.#decoded.set(file, { args, result });
      })
      .catch(() => {});
  }

  /**
   * The decode that `prefetchPicture` started for `file` (that Blob), when it was made with the
   * same `args` ({width, height, channels, cropFraction}, as for the worker's decode); handed out once. → a
   * Promise of the decode's result, or null.
   */
  takeDecoded(file, args) {
    const early = this.#decoded.get(file);
    this.#decoded.delete(file);
    const same = early && ['width', 'height', 'channels', 'cropFraction'].every((k) => early.args[k] === args[k]);
    if (early && !same) early.result.then((r) => r.preview.close(), () => {});
    return same ? early.result : null;
  }

  /** The picture at `url` as a Blob: the early download when one was started, else a new one. */
  picture(url) {
    const early = this.#pictures.get(url);
    this.#pictures.delete(url);
    return early ?? downloadBlob(url);
  }
}
