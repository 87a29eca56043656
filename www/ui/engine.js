// One worker, one wasm instance and one copy of each model for every widget on a page: the first
// widget to start creates them; the others share them.
import { WorkerClient } from './worker-client.js';
import { downloadJson, download, abortError } from './download.js';
import { TestDigits } from './test-digits.js';
import { kindOf } from './models.js';

let shared = null;

/** The page's one engine, started on first use with the wasm from `pkg` (a folder URL). */
export function sharedEngine(pkg) {
  shared ??= new Engine(pkg);
  return shared;
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

  constructor(pkg) {
    // A factory, not a worker: after a trap the client starts a fresh one (see worker-client.js).
    this.client = new WorkerClient(() => new Worker(new URL('../worker.js', import.meta.url), { type: 'module' }));
    this.ready = this.client.call('init', { pkg }, {
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
   * file; `card`: its model.json (null when it has none); `folder`: where its other files are;
   * `preferNnef`: load the NNEF file the card names instead, if it does (the ONNX file on error).
   * `onProgress` gets {loaded, total} while it downloads and {phase: 'prepare', bytes} after.
   * Aborting `signal` stops waiting; the download stops when no widget waits for it any more.
   * → {key, info, card, digits, kind, timing}
   */
  loadModel({ url, card, folder, preferNnef = false }, { onProgress = () => {}, signal } = {}) {
    let entry = this.#models.get(url);
    if (!entry) {
      const nnef = preferNnef ? nnefOf(card, folder) : null;
      const controller = new AbortController();
      const listeners = new Set();
      const key = `url:${url}`;
      const promise = (async () => {
        const expectedBytes = card?.onnx?.bytes ?? 0; // the decoded size, for progress through a compressing server
        // Asked at once: the worker starts the model's download while the engine's is under way,
        // and prepares the model once the engine is ready. An engine that fails fails this too.
        const [info] = await Promise.all([
          // The card names the model's NNEF file when the build made one (a faster load; the
          // worker falls back to the ONNX file on any error).
          this.client.call('load', { key, url, expectedBytes, nnef }, { signal: controller.signal, onProgress: (p) => listeners.forEach((l) => l(p)) }),
          this.ready,
        ]);
        const digits = card?.test_digits
          ? new TestDigits(await download(new URL(card.test_digits.file, folder).href), card.test_digits.count)
          : null;
        // The file the worker used, for the service worker to keep (sw-register.js).
        entry.files = [info.format === 'nnef' ? nnef.url : url];
        return { key, info, card, digits, kind: kindOf(info.inputShape), timing: { bytes: info.bytes, downloadMs: info.downloadMs, prepareMs: info.ms, format: info.format } };
      })();
      entry = { promise, waiters: 0, users: 0, controller, listeners, url, nnef: Boolean(nnef), files: null };
      this.#models.set(url, entry);
      promise.catch(() => this.#models.get(url) === entry && this.#models.delete(url));
    }
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

  /** A model.json, or null when `optional` and it cannot be had. */
  async card(url, { optional = false } = {}) {
    try {
      return await downloadJson(url);
    } catch (e) {
      if (optional) return null;
      throw e;
    }
  }
}

/** `{url, bytes}` of the NNEF file a model's card names (`./build.sh site` adds it), or null. */
function nnefOf(card, folder) {
  const file = card?.nnef?.file;
  if (typeof file !== 'string' || !folder) return null;
  return { url: new URL(file, folder).href, bytes: Number(card.nnef.bytes) || 0 };
}
