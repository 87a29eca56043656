// The page's side of the worker protocol (see worker.js): one Promise per request, matched by id,
// and "lanes" in which only the newest request runs, so a fast slider never queues stale work.

/** What a lane's promise resolves to when a newer request replaced it before it ran. */
export const STALE = Symbol('stale');

export class WorkerClient {
  #worker;
  #nextId = 1;
  /** @type {Map<number, {resolve: Function, reject: Function, onProgress?: Function}>} */
  #pending = new Map();
  /** Set once the worker is unusable; every later call fails with it. */
  #broken = null;

  /** @param {Worker} worker a module worker running worker.js */
  constructor(worker) {
    this.#worker = worker;
    worker.addEventListener('message', (e) => this.#receive(e.data));
    worker.addEventListener('error', (e) => {
      e.preventDefault(); // reported on the page instead of as an uncaught error
      this.#fail(
        e.message
          ? `the background worker failed: ${e.message}`
          : 'the background worker could not start (its script or the engine glue did not load)',
      );
    });
    worker.addEventListener('messageerror', () => this.#fail('a message from the background worker could not be read'));
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
      this.#pending.set(id, { resolve, reject, onProgress });
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
   * still delivers its result, so a dragged slider shows progress rather than nothing.
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
    return (op, args, options) =>
      new Promise((resolve, reject) => {
        waiting?.resolve(STALE);
        waiting = { op, args, options, resolve, reject };
        pump();
      });
  }

  #receive(message) {
    const entry = this.#pending.get(message?.id);
    if (!entry) return;
    if (message.progress) {
      entry.onProgress?.(message.progress);
      return;
    }
    this.#pending.delete(message.id);
    if (message.ok) entry.resolve(message.result);
    else entry.reject(Object.assign(new Error(message.error ?? 'the worker failed without a message'), message.name ? { name: message.name } : {}));
  }

  #fail(reason) {
    this.#broken ??= reason;
    for (const { reject } of this.#pending.values()) reject(new Error(reason));
    this.#pending.clear();
  }
}
