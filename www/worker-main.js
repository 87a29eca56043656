// The worker that owns the WebAssembly engine and the models, so that no model work ever runs on
// the page's thread; worker.js starts it. Protocol: the page posts {id, op, args}; the worker answers
// {id, ok: true, result} or {id, ok: false, error}, and may post {id, progress} before that.
// Requests run one at a time, in order: the wasm exports stay synchronous and never overlap.
// A trap in the engine (a WebAssembly RuntimeError: a Rust panic or an out-of-bounds access)
// leaves its state undefined, so the answer says {fatal: true} and this worker takes no more
// requests: the page's client ends it and starts another (ui/worker-client.js).
import init, { Model, NnefLoader, rgbaToPixels, pixelsToRgba, perturbationToRgba, centreDigit, inspectOnnx, buildGradientGraph } from './pkg/fgsm_wasm.js';
// Every export by name, for one that only the test engine has (testTrap).
import * as glue from './pkg/fgsm_wasm.js';
import { sniffImage } from './ui/image-sniff.js';
import { cropOf } from './ui/crop.js';
import { fetchWithProgress, download, downloadChunks, abortError } from './ui/download.js';
import { argmax } from './ui/format.js';
import { ENGINE, DEFAULT_PKG, engineUrl, firstModelFile } from './ui/engine-files.js';
import { takeStartedDownload } from './worker.js';
import { shouldWarmUp, warmUp } from './engine-warmup.js';

/** The smallest module that uses a SIMD128 instruction (as in the wasm-feature-detect package). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** @type {Promise<{memory: WebAssembly.Memory, bytes: number, name: string, file: string}> | null} */
let engine = null;
/** Resolves once the engine has loaded. Never starts it: `init` does, from the folder the page names. */
let engineLoaded;
const engineReady = new Promise((resolve) => (engineLoaded = resolve));
/** Where the engine comes from: the folder `init` named (a later retry uses the same). */
let enginePkg = DEFAULT_PKG;
/** Prepared models by the page's key ("builtin:mnist", "custom"), so switching back is instant. */
const models = new Map();

/** Pictures larger than this are refused before decoding (a 50 MP image is 200 MB as RGBA). */
const MAX_PIXELS = 50e6;
const MAX_FILE_BYTES = 200e6;

const handlers = {
  /**
   * Loads the engine once, from `pkg` (the URL of the folder with the .wasm file; default: the
   * pkg/ beside this worker); reports download progress. → {name, file, bytes, ms}
   */
  async init({ pkg } = {}, progress) {
    const started = performance.now();
    const loading = loadEngine(progress, pkg ?? enginePkg);
    markEngineAsked();
    const { bytes, name, file } = await loading;
    return { name, file, bytes, ms: performance.now() - started };
  },

  /**
   * Downloads (from `url`, reporting progress against `expectedBytes` when the server compresses)
   * or reads (from a `file`) an ONNX model, parses and
   * prepares it, and keeps it under `key` (replacing what was there). The bytes never pass through
   * the page's thread. Fails with a message when the model's input is not an image this page can
   * show. With `build` ({mean, std}, see buildGradientGraph), a forward-only model gets its
   * gradient graph first, and `built` says what the builder did and how long it took.
   * With `nnef` ({url}, beside a shipped model's ONNX file), the model's NNEF file is fetched and
   * loaded instead (a faster load: the engine reads it while it downloads, see readWhileDownloading),
   * and the ONNX file on any error; `format` says which was used, `nnefProblem` why not the NNEF file.
   * Progress: {loaded, total} while downloading, then {phase: 'build'} if building, then {phase: 'prepare', format}.
   * → {inputShape, numClasses, ms (preparation once the file was there: for an NNEF file, the work
   * left after its last byte), downloadMs, bytes, built, format, nnefProblem,
   * readWhileDownloadingBytes (how much of the NNEF file the engine read before its last byte came),
   * warmUp ({steps, ms} when the engine warmed up while the file downloaded, ms null if it still
   * runs; see engine-warmup.js)}
   */
  async load({ key, url, file, build = null }, progress, signal, early) {
    let data = null;
    let nnef = null;
    let downloadMs = null;
    let format = 'onnx';
    let nnefProblem = null;
    let fetchOnnx = null;
    if (url) {
      // Started when the request arrived (see `starters`), while the engine may still download.
      ({ data, nnef, downloadMs, format, nnefProblem, fetchOnnx } = await early);
    } else if (file instanceof Blob) {
      data = new Uint8Array(await file.arrayBuffer());
    } else {
      throw new Error('no model was given (a URL or a file)');
    }
    try {
      await loadEngine();
      if (signal.aborted) throw abortError();
      let built = null;
      if (build) {
        progress({ phase: 'build', bytes: data.length });
        const started = performance.now();
        const { onnx, report } = buildGradientGraph(data, build);
        built = { ...report, ms: performance.now() - started, bytes: data.length };
        data = onnx;
      }
      let candidate = null;
      let ms = null;
      if (format === 'nnef') {
        // The decluttered graph the build derived from the ONNX file (a faster load). On any error
        // (a damaged file, another build's), the ONNX file; a trap stays fatal, as everywhere.
        progress({ phase: 'prepare', bytes: nnef.bytes, format });
        try {
          ({ model: candidate, ms } = nnef.finish());
        } catch (e) {
          if (e instanceof WebAssembly.RuntimeError) throw e;
          nnefProblem = e instanceof Error ? e.message : String(e);
          console.warn(`could not load ${key} from its NNEF file (${nnefProblem}); loading its ONNX file instead`);
          const fetching = performance.now();
          ({ data } = await fetchOnnx(nnefProblem));
          downloadMs += performance.now() - fetching;
          format = 'onnx';
          if (signal.aborted) throw abortError();
        }
      }
      if (!candidate) {
        progress({ phase: 'prepare', bytes: data.length, format });
        const started = performance.now();
        candidate = new Model(data);
        ms = performance.now() - started;
      }
      const info = describe(candidate);
      const [, c, h, w] = info.inputShape;
      const problem =
        info.inputShape.length !== 4 || info.inputShape[0] !== 1
          ? `its input is [${info.inputShape.join(', ')}], not an image batch [1, C, H, W]`
          : c !== 1 && c !== 3
            ? `it expects ${c}-channel images (input [${info.inputShape.join(', ')}]); this page shows grey-scale (1) or colour (3) images`
            : h < 8 || w < 8 || h > 2048 || w > 2048
              ? `it expects ${w}×${h} images; this page handles 8 to 2048 pixels a side`
              : null;
      if (problem) {
        candidate.free();
        throw new Error(problem);
      }
      const previous = models.get(key);
      if (previous) {
        freeImages((held) => held.key === key, `its model ${key} was loaded again`);
        previous.free();
      }
      models.set(key, candidate);
      const bytes = format === 'nnef' ? nnef.bytes : data.length;
      return { ...info, ms, downloadMs, bytes, built, format, nnefProblem, readWhileDownloadingBytes: format === 'nnef' ? nnef.readWhileDownloadingBytes : 0, warmUp: nnef?.warmUp ? { ...nnef.warmUp } : null };
    } finally {
      nnef?.discard(); // a loader that was not finished (the engine failed, the load was stopped)
    }
  },

  /**
   * A reader's ONNX file (a File or Blob), read without loading it: → {gradientGraph, inputShape,
   * blockers} (see inspectOnnx): whether it already has a gradient graph, else whether one can be built.
   */
  async inspect({ file }) {
    if (!(file instanceof Blob)) throw new Error('no model file was given');
    const data = new Uint8Array(await file.arrayBuffer());
    await loadEngine();
    return inspectOnnx(data);
  },

  /** Frees the model kept under `key` (and the images set on it), if there is one. → {freed} */
  unload({ key }) {
    const m = models.get(key);
    if (!m) return { freed: false };
    freeImages((held) => held.key === key, `its model ${key} was unloaded`);
    m.free();
    models.delete(key);
    return { freed: true };
  },

  /**
   * The engine's memory: → {bytes (the wasm memory's size, which never shrinks; freed blocks are
   * reused), models (how many are kept), images (how many set images are held)}. For the test
   * that memory stays flat.
   */
  async memory() {
    const { memory } = await loadEngine();
    return { bytes: memory.buffer.byteLength, models: models.size, images: images.size };
  },

  /**
   * Only in the test engine (tests/trap-engine, never shipped): makes the engine panic, which
   * traps, so that the tests can check that the page survives a trap.
   */
  async testTrap() {
    await loadEngine();
    if (typeof glue.testTrap !== 'function') throw new Error('unknown operation "testTrap"');
    glue.testTrap();
  },

  /** A hand drawing (canvas RGBA) → the model's input, prepared as MNIST digits were. → {pixels} */
  centre({ rgba, width, height }) {
    const ink = rgbaToPixels(asBytes(rgba, 'the drawing'), 1);
    return { pixels: centreDigit(ink, width, height) };
  },

  /**
   * A picture (a File or Blob) → the model's input as CHW floats in [0, 1], prepared as the model's
   * training images were: scaled so that it covers width × height divided by `cropFraction`, then
   * the centred width × height crop (ImageNet models: short side 256, centre 224, fraction 0.875;
   * fraction 1 takes the largest centred crop). A picture of exactly width × height is used as it
   * is, so that a saved adversarial image reads back unchanged. Also a preview of the whole picture
   * (longest side at most `preview` pixels) and where the crop lies in it.
   * → {pixels, width, height, source: {width, height, type}, crop: {x, y, width, height}, preview, ms}
   */
  async decode({ file, width, height, channels, cropFraction = 1 }) {
    const previewMax = 640;
    const started = performance.now();
    if (!(file instanceof Blob)) throw new Error('no picture was given');
    if (typeof OffscreenCanvas === 'undefined' || typeof createImageBitmap === 'undefined') {
      throw new Error('this browser cannot read pictures in the background (it lacks OffscreenCanvas); try a current Chrome, Firefox or Safari');
    }
    if (file.size === 0) throw new Error('the file is empty');
    await loadEngine(); // for rgbaToPixels (this request may run beside the queue, before init ends)
    if (file.size > MAX_FILE_BYTES) {
      throw new Error(`the file is ${megabytes(file.size)}; pictures up to ${megabytes(MAX_FILE_BYTES)} are accepted`);
    }
    // The header says what the file is and how large the picture is, before anything is decoded.
    const head = new Uint8Array(await file.slice(0, 1 << 16).arrayBuffer());
    const sniffed = sniffImage(head);
    if (sniffed?.type === 'svg') throw new Error('SVG drawings cannot be read here; use a PNG, JPEG, WebP or GIF picture');
    if (sniffed?.width && sniffed.width * sniffed.height > MAX_PIXELS) throw tooLarge(sniffed.width, sniffed.height);
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      throw new Error(
        sniffed
          ? `this ${sniffed.type.toUpperCase()} file could not be decoded (it may be damaged or use a variant this browser does not read)`
          : 'this is not a picture the browser can read (it does not start like a PNG, JPEG, WebP, GIF, BMP or AVIF file)',
      );
    }
    try {
      if (bitmap.width * bitmap.height > MAX_PIXELS) throw tooLarge(bitmap.width, bitmap.height);
      const crop = cropOf(bitmap.width, bitmap.height, width, height, cropFraction);
      const rgba = resample(bitmap, crop, width, height).getContext('2d').getImageData(0, 0, width, height).data;
      const pixels = rgbaToPixels(rgba, channels);
      const fit = Math.min(1, previewMax / Math.max(bitmap.width, bitmap.height));
      const whole = { x: 0, y: 0, width: bitmap.width, height: bitmap.height };
      const preview = resample(bitmap, whole, Math.max(1, Math.round(bitmap.width * fit)), Math.max(1, Math.round(bitmap.height * fit))).transferToImageBitmap();
      return {
        pixels,
        width,
        height,
        source: { width: bitmap.width, height: bitmap.height, type: sniffed?.type ?? (file.type || 'unknown') },
        crop,
        preview,
        ms: performance.now() - started,
      };
    } finally {
      bitmap.close();
    }
  },

  /**
   * Sets an image on model `model` for the requests that follow: its session (pixels, clean
   * prediction, the gradients taken) stays in the worker, and `attack` and `sweep` name it by the
   * returned id instead of sending the pixels again. `slot` names who holds it (one widget): the
   * slot's previous image is freed, as is every image of a model that is unloaded or replaced.
   * `withGradient`: the next request attacks the model's own prediction, so one gradient pass
   * learns the prediction and takes that gradient (a forward pass, then a gradient pass otherwise).
   * → {image (the id), probs, prediction, width, height}
   */
  setImage({ model: key, slot, pixels, withGradient = false }) {
    const m = get(key);
    if (typeof slot !== 'string' || !slot) throw new Error('setImage needs a slot (a name for who holds the image)');
    const x = asPixels(pixels);
    freeImages((held) => held.slot === slot, 'a newer image replaced it');
    const started = performance.now();
    const session = withGradient ? m.sessionWithGradient(x) : m.session(x);
    const id = `${WORKER_TAG}.${++imagesSet}`;
    // `gradientAtSet`: the gradient pass made here, which the first attack reports as its own.
    images.set(id, { key, model: m, slot, session, pixels: x, gradients: new Set(), gradientAtSet: withGradient ? performance.now() - started : null });
    const [, , height, width] = m.inputShape;
    return { image: id, probs: session.predict(), prediction: session.prediction, width, height };
  },

  /** Frees image `image` (see setImage) now rather than when its slot gets another. → {freed} */
  releaseImage({ image }) {
    if (!images.has(image)) return { freed: false };
    freeImages((held, id) => id === image, 'it was released');
    return { freed: true };
  },

  /**
   * One FGSM step on image `image` (an id from setImage) and everything the page shows about it.
   * `label` null = untargeted against the model's own prediction; `gain` is perturbationToRgba's.
   * The adversarial image stays here (the image's latest only) under the returned `attackId`, for
   * `checkSaved`: the 8-bit check is a request of its own, so that a slider step costs one forward
   * pass and the check runs once the slider rests. With `noise`, the
   * same ε of random ±ε noise instead (a fixed pattern for each image, so that only ε changes it):
   * its picture and the model's reading of it. With `terms`, the gradient and its sign as pictures.
   * `method` (with its `alpha`, `steps`, `norm`, `momentum`, `seed`) runs another attack of the
   * session instead of FGSM: an iterative one a step at a time, reporting {step, steps, loss} and
   * returning to the event loop between steps, so that an abort stops it; the result is then the
   * last step's, with `cancelled: true`.
   */
  async attack({ image, eps, label = null, targeted = false, gain = 1, noise = false, terms = false, method = null }, progress, signal) {
    const held = heldImage(image);
    const { model: m, session, pixels: x } = held;
    const [, channels, height, width] = m.inputShape;
    const started = performance.now();
    // The session keeps the image's clean prediction and its gradient for each label: the next
    // ε on the same image costs forward passes only.
    // A gradient taken when the image was set (setImage's `withGradient`) counts as this attack's:
    // its time is added, so that the page says what a new image cost.
    const fresh = !method && !held.gradients.has(label ?? 'predicted');
    const earlier = fresh && label === null && held.gradientAtSet !== null ? held.gradientAtSet : 0;
    const step = method ? await runMethod(session, { ...attackOptions(method.method, eps, label, targeted), ...method }, progress, signal) : session.attack(attackOptions('fgsm', eps, label, targeted));
    if (!method) held.gradients.add(label ?? 'predicted');
    const fgsmMs = performance.now() - started + earlier;
    let linf = 0;
    for (const d of step.perturbation) linf = Math.max(linf, Math.abs(d));
    held.latest = { attackId: ++attacksRun, adversarial: step.adversarial };
    const result = {
      attackId: held.latest.attackId,
      width,
      height,
      probs: session.predict(),
      adversarialProbs: step.probs,
      label: step.label,
      loss: step.loss,
      linf,
      // fgsm: the step alone (with a new gradient when `gradient`, else one forward pass).
      ms: { fgsm: fgsmMs, total: 0, gradient: fresh },
      images: {
        original: pixelsToRgba(x, channels),
        perturbation: perturbationToRgba(step.perturbation, channels, eps, gain),
        adversarial: pixelsToRgba(step.adversarial, channels),
      },
    };
    if (noise) {
      // A fixed pattern for each image, so that only ε changes it.
      const noisy = session.attack({ method: 'noise', eps, seed: seedOf(x) });
      result.noise = {
        probs: noisy.probs,
        perturbation: perturbationToRgba(noisy.perturbation, channels, eps, gain),
        image: pixelsToRgba(noisy.adversarial, channels),
      };
    }
    if (terms) {
      // The gradient the step used (the session's: no new backward pass).
      const { grad } = session.inputGradient(step.label);
      let largest = 0;
      for (const g of grad) largest = Math.max(largest, Math.abs(g));
      result.terms = {
        gradient: perturbationToRgba(grad, channels, largest, 1),
        sign: perturbationToRgba(grad.map(Math.sign), channels, 1, 1),
        largest,
      };
    }
    if (method) Object.assign(result, { losses: step.losses, steps: step.steps, params: step.params, cancelled: step.cancelled ?? false, l2: Math.sqrt(step.perturbation.reduce((a, d) => a + d * d, 0)) });
    result.ms.total = performance.now() - started + earlier;
    return result;
  },

  /**
   * Whether the adversarial image of attack `attackId` on image `image` (see `attack`) still does
   * what it did once saved: a PNG stores 8 bits a channel, so x′ is rounded to multiples of 1/255
   * and classified again, one forward pass. Only the image's latest attack is kept; naming an
   * earlier one fails. → {probs, prediction}
   */
  checkSaved({ image, attackId }) {
    const { model: m, latest } = heldImage(image);
    if (latest?.attackId !== attackId) throw new Error(`the attack ${attackId} on image ${image} is no longer held: a later attack on it replaced it`);
    const probs = m.predict(latest.adversarial.map((v) => Math.round(v * 255) / 255));
    return { probs, prediction: argmax(probs) };
  },

  /**
   * FGSM on image `image` (an id from setImage) at each ε of `eps`, for the chart of prediction
   * against ε. One gradient for all of them (the image's session keeps it), then one forward pass
   * each. → {eps, predicted, reference, referenceProbs}: for each ε the predicted class and the
   * probability of `reference` (the target when targeted, else the clean prediction).
   */
  sweep({ image, eps: list, label = null, targeted = false }) {
    const held = heldImage(image);
    const { session } = held;
    held.gradients.add(label ?? 'predicted');
    const eps = Float32Array.from(list);
    const predicted = new Uint16Array(eps.length);
    const referenceProbs = new Float32Array(eps.length);
    const reference = label ?? session.prediction;
    eps.forEach((e, i) => {
      const { probs } = session.attack(attackOptions('fgsm', e, label, targeted));
      predicted[i] = argmax(probs);
      referenceProbs[i] = probs[reference];
    });
    return { eps, predicted, reference, referenceProbs };
  },

  /**
   * One attack on many images (concatenated CHW) at each of `epsilons`. FGSM (the default) takes
   * one gradient per image, then one forward pass per ε; `method` with its `steps` (and `alpha`,
   * `momentum`; absent ones take the core's defaults, as the CLI's do) runs another attack of the
   * core instead. → {clean, adversarial}: the clean prediction of each image, and the adversarial
   * prediction of image i at epsilons[j] in adversarial[i · epsilons.length + j]. With `noise`,
   * also `noisy`, laid out the same: the prediction after random ±ε noise instead. Image i's random
   * draws (PGD's start, the noise) are seeded with `seed` + i, so a run is repeatable and equals
   * `fgsm eval`'s, which seeds digit n (counting from 1) with n.
   */
  attackMany({ model: key, images, epsilons, label = null, targeted = false, noise = false, seed = 1, method = 'fgsm', steps, alpha, momentum }) {
    const m = get(key);
    const size = m.inputShape.reduce((a, b) => a * b, 1);
    const all = asPixels(images);
    if (all.length % size) throw new Error(`${all.length} values do not split into images of ${size}`);
    const n = all.length / size;
    const clean = new Uint16Array(n);
    const adversarial = new Uint16Array(n * epsilons.length);
    const noisy = noise ? new Uint16Array(n * epsilons.length) : null;
    const extra = Object.fromEntries(Object.entries({ steps, alpha, momentum }).filter(([, v]) => v !== undefined && v !== null));
    for (let i = 0; i < n; i++) {
      // A session of its own for each image, freed at once: the images the page set stay as they are.
      const session = m.session(all.subarray(i * size, (i + 1) * size));
      try {
        clean[i] = session.prediction;
        epsilons.forEach((eps, j) => {
          adversarial[i * epsilons.length + j] = argmax(session.attack({ ...attackOptions(method, eps, label, targeted), ...extra, seed: seed + i }).probs);
          if (noisy) noisy[i * epsilons.length + j] = argmax(session.attack({ method: 'noise', eps, seed: seed + i }).probs);
        });
      } finally {
        session.free();
      }
    }
    return noisy ? { clean, adversarial, noisy } : { clean, adversarial };
  },
};

/**
 * Runs `options`' attack on `session` a step at a time, yielding to the event loop after each
 * step (where an abort message is heard) and reporting it. → the session's attack result, plus
 * `cancelled` when `signal` stopped it early.
 */
async function runMethod(session, options, progress, signal) {
  const run = session.attackSteps(options);
  try {
    let cancelled = false;
    for (let p = run.step(); p !== undefined; p = run.step()) {
      progress({ step: p.step, steps: p.steps, loss: p.loss });
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (signal.aborted) {
        cancelled = !run.done;
        break;
      }
    }
    return Object.assign(run.result(), { cancelled });
  } finally {
    run.free();
  }
}

/** A seed from an image's pixels (FNV-1a over a sample of them), so each image has its own noise. */
function seedOf(x) {
  let h = 0x811c9dc5;
  const stride = Math.max(1, Math.floor(x.length / 4096));
  for (let i = 0; i < x.length; i += stride) h = Math.imul(h ^ Math.round(x[i] * 255), 0x01000193) >>> 0;
  return h;
}

/**
 * The options of a session's attack: untargeted against the model's own prediction when `label`
 * is null, else against `label`, or towards it when `targeted`.
 */
function attackOptions(method, eps, label, targeted) {
  if (label === null) return { method, eps };
  return targeted ? { method, eps, target: label } : { method, eps, label };
}

/**
 * The images the page has set (setImage), by id: {key, model, slot, session, pixels, gradients,
 * latest ({attackId, adversarial}: its latest attack's x′, for checkSaved)}.
 */
const images = new Map();
let imagesSet = 0;
/** Attacks run, for the ids that checkSaved names one by. */
let attacksRun = 0;
/** Why recent images were freed, by id, so that a request naming one says why (the last 100). */
const freedImages = new Map();
/** Part of every image id: an id from a worker that has since been replaced is unknown here. */
const WORKER_TAG = Math.random().toString(36).slice(2, 8);

/** Frees every image for which `which(held, id)` holds, remembering `why` for its id. */
function freeImages(which, why) {
  for (const [id, held] of images) {
    if (!which(held, id)) continue;
    held.session.free();
    images.delete(id);
    freedImages.set(id, why);
    if (freedImages.size > 100) freedImages.delete(freedImages.keys().next().value);
  }
}

/** The image set under `id`, or an error that says why there is none. */
function heldImage(id) {
  const held = images.get(id);
  if (held) return held;
  if (id === undefined || id === null) throw new Error('no image was named: set one first (setImage) and pass its id as `image`');
  const why = freedImages.get(id);
  throw new Error(why ? `the image ${id} is no longer held by the engine: ${why}` : `the engine holds no image ${id} (it was never set here, or was set in an engine that has since been restarted)`);
}

/**
 * Scales `crop` of `source` to width × height on an OffscreenCanvas: halving first while the
 * picture is more than twice too large (one bilinear step from far away would alias), then one
 * last step. A crop of exactly the target size is copied pixel for pixel. Transparent pixels
 * become white.
 */
function resample(source, crop, width, height) {
  let { x, y, width: w, height: h } = crop;
  let from = source;
  const draw = (cw, chh) => {
    const canvas = new OffscreenCanvas(cw, chh);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, cw, chh);
    ctx.imageSmoothingEnabled = !(cw === w && chh === h);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(from, x, y, w, h, 0, 0, cw, chh);
    from = canvas;
    [x, y, w, h] = [0, 0, cw, chh];
    return canvas;
  };
  while (w >= 2 * width && h >= 2 * height) draw(Math.round(w / 2), Math.round(h / 2));
  return draw(width, height);
}

function tooLarge(w, h) {
  return new Error(
    `the picture is ${w.toLocaleString('en')} × ${h.toLocaleString('en')} pixels (${(w * h / 1e6).toFixed(0)} megapixels); ` +
      `pictures up to ${MAX_PIXELS / 1e6} megapixels are accepted — scale it down first`,
  );
}

const megabytes = (n) => `${(n / 1e6).toFixed(n < 10e6 ? 1 : 0)} MB`;

function describe(m) {
  return { inputShape: Array.from(m.inputShape, Number), numClasses: m.numClasses };
}

/**
 * Loads the engine once, from `pkg` (the folder of the .wasm file; default: pkg/ beside this
 * worker), compiling while it downloads where the server labels it application/wasm.
 */
function loadEngine(progress = () => {}, pkg = enginePkg) {
  enginePkg = pkg;
  if (!engine) {
    engine = (async () => {
      if (!WebAssembly.validate(SIMD_PROBE)) {
        throw new Error('this browser does not support WebAssembly SIMD, which the engine needs (Chrome 91+, Firefox 89+, Safari 16.4+ have it)');
      }
      let loaded = 0;
      let response;
      try {
        response = await fetchWithProgress(engineUrl(pkg), {
          started: takeStartedDownload(engineUrl(pkg)),
          onProgress: (p) => {
            loaded = p.loaded;
            progress(p);
          },
        });
      } catch (e) {
        throw new Error(`could not download the engine: ${e.message}`);
      }
      // Compile while downloading when the server labels the file correctly; otherwise (some
      // static servers do not know .wasm) compile from the downloaded bytes.
      const streaming = response.headers.get('Content-Type')?.startsWith('application/wasm');
      const source = streaming ? response : new Uint8Array(await response.arrayBuffer());
      const exports = await init({ module_or_path: source });
      engineLoaded();
      return { memory: exports.memory, bytes: loaded, name: ENGINE.name, file: ENGINE.file };
    })();
    engine.catch(() => (engine = null)); // a failed load can be retried
  }
  return engine;
}

function get(key) {
  const m = models.get(key);
  if (!m) throw new Error(key ? `the model ${key} is not loaded` : 'no model is loaded yet');
  return m;
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

/** Every ArrayBuffer and ImageBitmap under `value` that can be moved instead of copied (never the wasm memory). */
async function transferables(value) {
  const memory = engine ? (await engine.catch(() => null))?.memory.buffer : null;
  const found = new Set();
  const walk = (v) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer !== memory && v.buffer instanceof ArrayBuffer) found.add(v.buffer);
    } else if (typeof ImageBitmap !== 'undefined' && v instanceof ImageBitmap) {
      found.add(v);
    } else if (v && typeof v === 'object' && !(v instanceof Blob)) {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return [...found];
}

/** The message of the trap that ended this engine, once one has. */
let trapped = null;

/** Keeps `e` as the trap that ended this engine, if it is one (for errors caught outside a request). */
function noteTrap(e) {
  if (e instanceof WebAssembly.RuntimeError) trapped ??= e.message;
}

/** The AbortController of each request that has not finished, by id. */
const controllers = new Map();

/**
 * The part of an operation that may start as soon as its request arrives, before the requests
 * ahead of it have finished: a model's download, so that it travels alongside the engine's
 * instead of after it. Its promise is handed to the handler when the request's turn comes.
 */
const starters = {
  load(args, progress, signal) {
    const { url, expectedBytes = 0, nnef = null } = args;
    const first = firstModelFile(args);
    if (!first) return null;
    const started = performance.now();
    // Either file's download may have started when the request arrived (worker.js).
    const fileOptions = (file, options = {}) => ({ ...options, onProgress: progress, signal, started: takeStartedDownload(file, signal) });
    const onnx = (nnefProblem = null) =>
      download(url, fileOptions(url, { expectedBytes })).then((data) => ({ data, downloadMs: performance.now() - started, format: 'onnx', nnefProblem }));
    // `nnef` ({url}, beside a shipped model's ONNX file): the same model's decluttered graph, fetched
    // instead of the ONNX file when the model needs no gradient graph built, and read by the engine
    // as it arrives; the ONNX file if it cannot be fetched.
    if (first === url) return onnx();
    const reading = readWhileDownloading(signal);
    return downloadChunks(nnef.url, reading.push, fileOptions(nnef.url)).then(
      // With the ONNX download, for the handler to fall back on if the NNEF file does not load.
      (bytes) => {
        reading.end(bytes);
        return { nnef: reading, downloadMs: performance.now() - started, format: 'nnef', nnefProblem: null, fetchOnnx: onnx };
      },
      (e) => {
        reading.discard();
        if (signal.aborted || e?.name === 'AbortError') throw e;
        console.warn(`could not fetch ${nnef.url} (${e?.message}); fetching ${url} instead`);
        return onnx(e?.message ?? String(e));
      },
    );
  },
};

/**
 * A model's NNEF file read by the engine while it downloads (an NnefLoader), so that at its last
 * byte only tract's building of the graph and the plans remain. Each piece is pushed as it arrives;
 * those that arrive before the engine has loaded wait here until it has. This runs outside the
 * queue of requests, between them, which is safe: a push touches nothing but its own loader. The
 * load handler then calls finish() (or discard(), which also an abort does, so that no loader is
 * left unfreed). What push throws is kept for finish: a refused file falls back to the ONNX file
 * there, and a trap ends this engine as it would anywhere.
 */
function readWhileDownloading(signal) {
  let loader = null;
  let waiting = [];
  let failed = null;
  let discarded = false;
  let ended = false;
  let lastPushMs = 0;
  // The engine's work on the file after its last byte came: the last piece's, and those that came
  // before the engine had loaded, if it loaded after the last byte.
  let pushedAfterEndMs = 0;
  const begun = performance.now();
  const reading = {
    /** Bytes of the file, once it has all come. */
    bytes: 0,
    /** Bytes the engine read before the last one came (the rest, if it loaded later, once it had). */
    readWhileDownloadingBytes: 0,
    /** The engine's warm-up while this file downloaded (engine-warmup.js): {steps, ms}, or null if none ran. */
    warmUp: null,
    push(chunk) {
      if (discarded || failed) return;
      if (!loader) {
        waiting.push(chunk);
        return;
      }
      const started = performance.now();
      try {
        loader.push(chunk);
      } catch (e) {
        failed = e;
        noteTrap(e);
      }
      lastPushMs = performance.now() - started;
      if (ended) pushedAfterEndMs += lastPushMs;
      else if (!failed) reading.readWhileDownloadingBytes += chunk.byteLength;
    },
    end(bytes) {
      reading.bytes = bytes;
      ended = true;
      if (loader) pushedAfterEndMs = lastPushMs;
    },
    /** → {model, ms: the engine's work after the last byte}; throws what the engine found wrong. */
    finish() {
      start();
      if (failed) throw failed;
      if (!loader) throw abortError(); // discarded: the load was stopped
      const started = performance.now();
      const finishing = loader;
      loader = null; // finish() takes it, whatever the outcome
      discarded = true;
      const model = finishing.finish();
      return { model, ms: pushedAfterEndMs + performance.now() - started };
    },
    discard() {
      discarded = true;
      waiting = [];
      loader?.free();
      loader = null;
    },
  };
  // Once the engine is there: a loader, and the pieces that came before it.
  const start = () => {
    if (loader || discarded || failed) return;
    try {
      loader = new NnefLoader();
    } catch (e) {
      failed = e;
      noteTrap(e);
      return;
    }
    for (const chunk of waiting.splice(0)) reading.push(chunk);
    if (!ended && shouldWarmUp(performance.now() - begun)) {
      const warming = warmUp(enginePkg, () => !ended && !discarded);
      reading.warmUp = warming.state;
      warming.ended.catch((e) => {
        noteTrap(e);
        // Only a loss of time: the model loads as it would have.
        console.warn(`the engine's warm-up failed (${e?.message ?? e})`);
      });
    }
  };
  engineReady.then(start);
  signal.addEventListener('abort', reading.discard, { once: true });
  return reading;
}

async function handle({ id, op, args } = {}, early) {
  const progress = (p) => self.postMessage({ id, progress: p });
  const signal = controllers.get(id).signal;
  try {
    // After a trap nothing runs here any more (the page ends this worker).
    if (trapped) throw new WebAssembly.RuntimeError(trapped);
    const handler = Object.hasOwn(handlers, op) ? handlers[op] : null;
    if (!handler) throw new Error(`unknown operation "${op}"`);
    if (signal.aborted) throw abortError();
    const result = await handler(args ?? {}, progress, signal, early);
    self.postMessage({ id, ok: true, result }, await transferables(result));
  } catch (e) {
    // Also catches a result that cannot be posted, so the page's promise always settles.
    const fatal = e instanceof WebAssembly.RuntimeError;
    if (fatal) trapped ??= e.message;
    self.postMessage({
      id,
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      name: e?.name === 'AbortError' ? 'AbortError' : undefined,
      fatal: fatal || undefined,
    });
  } finally {
    controllers.delete(id);
  }
}

// One request at a time, in arrival order (handle never rejects, so the chain never breaks).
// A request to stop one ({abort: id}) is handled at once, even while another request runs.
let queue = Promise.resolve();
let initReceived = false;
/** `load` requests received and not yet answered. */
let loadsUnderWay = 0;
/** Resolves once `init` has asked for the engine (from the folder it names), for the requests beside the queue. */
let markEngineAsked;
const engineAsked = new Promise((resolve) => (markEngineAsked = resolve));
/** Takes one message from the page (worker.js passes each on, in order). */
export function receive(message) {
  if (message && 'abort' in message) {
    controllers.get(message.abort)?.abort();
    return;
  }
  const controller = new AbortController();
  controllers.set(message?.id, controller);
  const op = message?.op;
  // Decoding a picture touches no model. While a model's load holds the queue (its download takes
  // seconds on a first visit), a decode runs beside it once init has asked for the engine, so that
  // the lead photo is ready when the model is. Otherwise it takes its turn: run beside the sweeps
  // that follow a result, a new photo's verdict measured 1.2 s instead of 0.77 s.
  if (op === 'init') initReceived = true;
  if (op === 'decode' && initReceived && loadsUnderWay > 0) {
    engineAsked.then(() => handle(message, null));
    return;
  }
  const starter = Object.hasOwn(starters, op) ? starters[op] : null;
  const early = starter?.(message.args ?? {}, (p) => self.postMessage({ id: message.id, progress: p }), controller.signal) ?? null;
  early?.catch(() => {}); // its failure is reported when the handler awaits it
  if (op === 'load') loadsUnderWay++;
  queue = queue.then(() => handle(message, early)).then(() => op === 'load' && loadsUnderWay--);
}
