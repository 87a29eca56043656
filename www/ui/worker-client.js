// The page's side of the worker protocol (see worker.js): one Promise per request, matched by id,
// and "lanes" in which only the newest request runs, so a fast slider never queues stale work.
// When the engine traps, the client ends that worker and starts a new one with the same engine
// and models, so the page keeps working.

/** What a lane's promise resolves to when a newer request replaced it before it ran. */
export const STALE = Symbol('stale');

/** The message of every request that a trap in the engine cut short. */
export const RESTARTED = 'the engine stopped and was restarted; try again';

/** Restarts allowed in one page's life: an engine that keeps trapping is given up on. */
const MAX_RESTARTS = 5;

export class WorkerClient {
  #createWorker;
  #worker;
  #nextId = 1;
  /** @type {Map<number, {resolve: Function, reject: Function, onProgress?: Function}>} */
  #pending = new Map();
  /** Set once the worker is unusable; every later call fails with it. */
  #broken = null;
  /**
   * The requests that set the worker up, by what they set: the engine (`init`) and each model
   * (`load`, by key), in the order they succeeded. A new worker gets them again, in that order.
   * @type {Map<string, {op: string, args: object}>}
   */
  #setup = new Map();
  #restarts = 0;
  #restartListeners = new Set();

  /** @param {() => Worker} createWorker makes a module worker running worker.js (again after a trap) */
  constructor(createWorker) {
    this.#createWorker = createWorker;
    this.#start();
  }

  #start() {
    const worker = (this.#worker = this.#createWorker());
    worker.addEventListener('message', (e) => worker === this.#worker && this.#receive(e.data));
    worker.addEventListener('error', (e) => {
      e.preventDefault(); // reported on the page instead of as an uncaught error
      if (worker !== this.#worker) return;
      this.#fail(
        e.message
          ? `the background worker failed: ${e.message}`
          : 'the background worker could not start (its script or the engine glue did not load)',
      );
    });
    worker.addEventListener('messageerror', () => worker === this.#worker && this.#fail('a message from the background worker could not be read'));
  }

  /**
   * Calls `listener({reason, restarts})` each time the engine trapped and was restarted: its
   * worker ended, a new one set up with the same engine and models, and the requests that were
   * under way rejected with RESTARTED. Returns a function that stops it.
   */
  onRestart(listener) {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /**
   * Runs `op` in the worker. `transfer` lists ArrayBuffers to move rather than copy (they become
   * unusable here); `onProgress` receives the worker's progress reports for this request; aborting
   * `signal` asks the worker to stop it (operations that can stop, such as a download, then reject
   * with an AbortError).
   * @returns {Promise<any>} the result, or a rejection with the worker's error message
   */
  call(op, args = {}, { transfer = [], onProgress, signal } = {}) {
    if (this.#broken) return Promise.reject(new Error(this.#broken));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { op, args, resolve, reject, onProgress });
      signal?.addEventListener('abort', () => this.#pending.has(id) && this.#worker.postMessage({ abort: id }), { once: true });
      try {
        this.#worker.postMessage({ id, op, args }, transfer);
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /**
   * A lane: a function like `call` that keeps at most one request in flight and one waiting.
   * A new request replaces the waiting one, whose promise resolves to STALE; the one in flight
   * still delivers its result, so a dragged slider shows progress rather than nothing. Its
   * `drop()` drops the waiting one: a request that names something about to be replaced in the
   * worker (an image) must not reach it after the replacement.
   */
  lane() {
    let busy = false;
    let waiting = null;
    const pump = () => {
      if (busy || !waiting) return;
      const job = waiting;
      waiting = null;
      busy = true;
      this.call(job.op, job.args, job.options)
        .then(job.resolve, job.reject)
        .finally(() => {
          busy = false;
          pump();
        });
    };
    const send = (op, args, options) =>
      new Promise((resolve, reject) => {
        waiting?.resolve(STALE);
        waiting = { op, args, options, resolve, reject };
        pump();
      });
    /** Drops the waiting request (it resolves to STALE); the one in flight still runs. */
    send.drop = () => {
      waiting?.resolve(STALE);
      waiting = null;
    };
    return send;
  }

  #receive(message) {
    const entry = this.#pending.get(message?.id);
    if (!entry) return;
    if (message.progress) {
      entry.onProgress?.(message.progress);
      return;
    }
    this.#pending.delete(message.id);
    if (message.fatal) {
      this.#restart(message.error);
      entry.reject(new Error(RESTARTED, { cause: message.error }));
      return;
    }
    if (message.ok) {
      this.#remember(entry);
      entry.resolve(message.result);
    } else {
      entry.reject(Object.assign(new Error(message.error ?? 'the worker failed without a message'), message.name ? { name: message.name } : {}));
    }
  }

  /** Keeps the requests a new worker must repeat (see #setup). */
  #remember({ op, args }) {
    const what = op === 'init' ? 'init' : op === 'load' || op === 'unload' ? `model:${args.key}` : null;
    if (!what) return;
    this.#setup.delete(what); // a replaced model moves to the end, after the engine
    // Not a download the page handed over (`started`, a stream now used up): a new worker fetches the file itself.
    const { started, ...again } = args;
    if (op !== 'unload') this.#setup.set(what, { op, args: again });
  }

  /**
   * The engine trapped (a wasm RuntimeError: its state is undefined from then on). Ends its
   * worker, starts a new one with the same engine and models (the request that trapped is not
   * repeated), and rejects what was under way; calls made from now on queue behind the setup.
   */
  #restart(reason) {
    const interrupted = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker.terminate();
    if (++this.#restarts > MAX_RESTARTS) {
      this.#fail(`the engine stopped ${MAX_RESTARTS} times (${reason}); reload the page to start it again`);
      for (const { reject } of interrupted) reject(new Error(this.#broken));
      return;
    }
    this.#start();
    for (const { op, args } of this.#setup.values()) {
      this.call(op, args).catch(() => {}); // a model that no longer loads fails the requests that use it
    }
    for (const { reject } of interrupted) reject(new Error(RESTARTED));
    for (const listener of this.#restartListeners) listener({ reason, restarts: this.#restarts });
  }

  #fail(reason) {
    this.#broken ??= reason;
    for (const { reject } of this.#pending.values()) reject(new Error(reason));
    this.#pending.clear();
  }
}
