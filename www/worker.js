// The module worker that owns the WebAssembly engine and the one Model, so that no model work ever
// runs on the page's thread. Protocol: the page posts {id, op, args}; the worker answers
// {id, ok: true, result} or {id, ok: false, error}, and may post {id, progress} before that.
// Requests run one at a time, in order: the wasm exports stay synchronous and never overlap.
import init, { Model, rgbaToPixels, pixelsToRgba, perturbationToRgba, centreDigit } from './pkg/fgsm_wasm.js';

const WASM_URL = new URL('./pkg/fgsm_wasm_bg.wasm', import.meta.url);

/** The smallest module that uses a SIMD128 instruction (as in the wasm-feature-detect package). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** @type {Promise<{memory: WebAssembly.Memory}> | null} the engine, loaded by the first request. */
let engine = null;
/** @type {Model | null} */
let model = null;

const handlers = {
  /** Loads the engine once; reports download progress. → {bytes, ms} */
  async init(_args, progress) {
    const started = performance.now();
    const { bytes } = await loadEngine(progress);
    return { bytes, ms: performance.now() - started };
  },

  /**
   * Parses and prepares an ONNX model. The previous model stays in use when the new one fails,
   * including when its input is not `expectShape`. → {inputShape, numClasses, ms}
   */
  async load({ bytes, expectShape }) {
    await loadEngine();
    const started = performance.now();
    const candidate = new Model(asBytes(bytes, 'the model file'));
    const ms = performance.now() - started;
    const inputShape = Array.from(candidate.inputShape, Number);
    const numClasses = candidate.numClasses;
    if (expectShape && !sameShape(inputShape, expectShape)) {
      candidate.free();
      const [, c, h, w] = inputShape;
      throw new Error(
        `this page works with ${expectShape[3]}×${expectShape[2]} grey-scale digits (input [${expectShape.join(', ')}]) ` +
          `for now, and this model expects ${c === 3 ? 'colour' : `${c}-channel`} images of ${w}×${h} ` +
          `(input [${inputShape.join(', ')}]). Support for photos is planned.`,
      );
    }
    model?.free();
    model = candidate;
    return { inputShape, numClasses, ms };
  },

  /** A hand drawing (canvas RGBA) → the model's input, prepared as MNIST digits were. → {pixels} */
  centre({ rgba, width, height }) {
    const ink = rgbaToPixels(asBytes(rgba, 'the drawing'), 1);
    return { pixels: centreDigit(ink, width, height) };
  },

  /**
   * One FGSM step and everything the page shows about it. `label` null = untargeted against the
   * model's own prediction; `gain` is perturbationToRgba's. Also checks whether the adversarial
   * image keeps its prediction once rounded to 8 bits, as a PNG would store it.
   */
  attack({ pixels, eps, label = null, targeted = false, gain = 1 }) {
    const m = current();
    const [, channels, height, width] = m.inputShape;
    const x = asPixels(pixels);
    const probs = m.predict(x);
    const step = m.fgsm(x, eps, label === null ? undefined : { label, targeted });
    let linf = 0;
    for (const d of step.perturbation) linf = Math.max(linf, Math.abs(d));
    // Predicting other images leaves the model's memo of x's gradient in place, so the next slider
    // move on x still costs one forward pass.
    const roundedProbs = m.predict(step.adversarial.map((v) => Math.round(v * 255) / 255));
    return {
      width,
      height,
      probs,
      adversarialProbs: step.probs,
      roundedProbs,
      label: step.label,
      loss: step.loss,
      linf,
      images: {
        original: pixelsToRgba(x, channels),
        perturbation: perturbationToRgba(step.perturbation, channels, eps, gain),
        adversarial: pixelsToRgba(step.adversarial, channels),
      },
    };
  },

  /**
   * FGSM at `steps` + 1 evenly spaced ε from 0 to `max`, for the chart of prediction against ε.
   * One gradient for all of them (the Model memoises it), then one forward pass each.
   * → {eps, predicted, reference, referenceProbs}: for each ε the predicted class and the
   * probability of `reference` (the target when targeted, else the clean prediction).
   */
  sweep({ pixels, steps = 100, max = 0.5, label = null, targeted = false }) {
    const m = current();
    const x = asPixels(pixels);
    const clean = m.predict(x);
    const reference = label ?? argmax(clean);
    const options = label === null ? undefined : { label, targeted };
    const eps = new Float32Array(steps + 1);
    const predicted = new Uint16Array(steps + 1);
    const referenceProbs = new Float32Array(steps + 1);
    for (let i = 0; i <= steps; i++) {
      eps[i] = (max * i) / steps;
      const { probs } = m.fgsm(x, eps[i], options);
      predicted[i] = argmax(probs);
      referenceProbs[i] = probs[reference];
    }
    return { eps, predicted, reference, referenceProbs };
  },

  /**
   * FGSM on many images (concatenated CHW) at each of `epsilons`: one gradient per image, then one
   * forward pass per ε. → {clean, adversarial}: the clean prediction of each image, and the
   * adversarial prediction of image i at epsilons[j] in adversarial[i · epsilons.length + j].
   */
  attackMany({ images, epsilons, label = null, targeted = false }) {
    const m = current();
    const size = m.inputShape.reduce((a, b) => a * b, 1);
    const all = asPixels(images);
    if (all.length % size) throw new Error(`${all.length} values do not split into images of ${size}`);
    const n = all.length / size;
    const options = label === null ? undefined : { label, targeted };
    const clean = new Uint16Array(n);
    const adversarial = new Uint16Array(n * epsilons.length);
    for (let i = 0; i < n; i++) {
      const x = all.subarray(i * size, (i + 1) * size);
      clean[i] = argmax(m.predict(x));
      epsilons.forEach((eps, j) => {
        adversarial[i * epsilons.length + j] = argmax(m.fgsm(x, eps, options).probs);
      });
    }
    return { clean, adversarial };
  },
};

function loadEngine(progress = () => {}) {
  if (!engine) {
    engine = (async () => {
      const response = await fetch(WASM_URL);
      if (!response.ok) {
        throw new Error(`could not download the engine (${WASM_URL.pathname}): HTTP ${response.status}`);
      }
      const total = Number(response.headers.get('Content-Length')) || 0;
      let loaded = 0;
      const counted = countBytes(response, (n) => progress({ loaded: (loaded += n), total }));
      // Compile while downloading when the server labels the file correctly; otherwise (some
      // static servers do not know .wasm) compile from the downloaded bytes.
      const streaming = response.headers.get('Content-Type')?.startsWith('application/wasm');
      const source = streaming ? counted : new Uint8Array(await counted.arrayBuffer());
      let exports;
      try {
        exports = await init({ module_or_path: source });
      } catch (e) {
        // The engine is built with SIMD128; say so rather than show a compile error.
        if (!WebAssembly.validate(SIMD_PROBE)) {
          throw new Error('this browser does not support WebAssembly SIMD, which the engine needs (Chrome 91+, Firefox 89+, Safari 16.4+ have it)');
        }
        throw e;
      }
      return { memory: exports.memory, bytes: loaded };
    })();
    engine.catch(() => (engine = null)); // a failed load can be retried
  }
  return engine;
}

/** The response again, with a callback for every chunk of the body as it arrives. */
function countBytes(response, onChunk) {
  if (!response.body) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      onChunk(value.byteLength);
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function current() {
  if (!model) throw new Error('no model is loaded yet');
  return model;
}

function asBytes(data, what) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`${what} must be bytes (an ArrayBuffer or a typed array)`);
}

function asPixels(pixels) {
  if (pixels instanceof Float32Array) return pixels;
  if (Array.isArray(pixels) || ArrayBuffer.isView(pixels)) return Float32Array.from(pixels);
  throw new Error('pixels must be a Float32Array');
}

function sameShape(a, b) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Every ArrayBuffer under `value` that can be moved instead of copied (never the wasm memory). */
async function transferables(value) {
  const memory = engine ? (await engine.catch(() => null))?.memory.buffer : null;
  const found = new Set();
  const walk = (v) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer !== memory && v.buffer instanceof ArrayBuffer) found.add(v.buffer);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return [...found];
}

async function handle({ id, op, args } = {}) {
  const progress = (p) => self.postMessage({ id, progress: p });
  try {
    const handler = Object.hasOwn(handlers, op) ? handlers[op] : null;
    if (!handler) throw new Error(`unknown operation "${op}"`);
    const result = await handler(args ?? {}, progress);
    self.postMessage({ id, ok: true, result }, await transferables(result));
  } catch (e) {
    // Also catches a result that cannot be posted, so the page's promise always settles.
    self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}

// One request at a time, in arrival order (handle never rejects, so the chain never breaks).
let queue = Promise.resolve();
self.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};
