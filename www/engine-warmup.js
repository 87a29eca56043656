// Warms the engine up while a large model downloads. Right after instantiation the browser runs
// the engine's code in a first, quickly compiled tier (and compiles each function on its first
// call); a function reaches the fast tier only after it has run for a while. A model's first load
// and passes therefore run slow: on the lead photo, at 20 Mbit/s, its preparation took 0.38 s and
// its first forward+gradient pass 0.30 s, against 0.20 s each once warm. So while a download still
// has a while to go, the worker loads a small network of the photo model's kind (int8 convolutions,
// depthwise and pointwise, the classifier and the gradient graph: models/engine-warmup) and runs
// one forward+gradient pass and one forward pass; the real model then finds that code compiled.

import { Model } from './pkg/fgsm_wasm.js';
import { download } from './ui/download.js';
import { warmupUrl } from './ui/engine-files.js';

/**
 * A download that has run this long when the engine is ready still has seconds to go: the model
 * came alongside the engine's 1.6 MB and is larger. The warm-up took 0.46 s on this project's
 * 2-core machine during a first visit at 20 Mbit/s, its file's download included; a download that
 * ends during it waits for the step under way, at most the warm-up network's load.
 */
export const WARM_UP_AFTER_DOWNLOADING_MS = 1000;

/** Set when the warm-up starts: once per engine, since a warm engine stays warm. */
let warmUpStarted = false;

/**
 * Whether a download that began `downloadingMs` ago, and has not ended, is worth warming the
 * engine up for now.
 */
export const shouldWarmUp = (downloadingMs) => !warmUpStarted && downloadingMs >= WARM_UP_AFTER_DOWNLOADING_MS;

/**
 * Loads the warm-up network from the engine's folder `pkg` and runs it, step by step, while
 * `wanted()` holds (it is asked before each step; between steps the worker takes the download's
 * pieces). → {steps, ms}, at once: `steps` (of 3) counts those done so far, and `ms` is set when the
 * warm-up has ended (null until then). `ended` resolves then, or rejects with what the engine or the
 * download threw.
 */
export function warmUp(pkg, wanted) {
  warmUpStarted = true;
  const state = { steps: 0, ms: null };
  const started = performance.now();
  const between = () => new Promise((resolve) => setTimeout(resolve, 0));
  const ended = (async () => {
    const bytes = await download(warmupUrl(pkg));
    if (!wanted()) return;
    const model = Model.fromNnef(bytes);
    try {
      state.steps++;
      // Any pixels do: the passes run the same code whatever the values.
      const pixels = new Float32Array(model.inputShape.reduce((a, b) => a * b)).map((_, i) => ((i * 7919) % 256) / 255);
      await between();
      if (!wanted()) return;
      model.sessionWithGradient(pixels).free(); // the gradient plan, the label chosen in the graph
      state.steps++;
      await between();
      if (!wanted()) return;
      model.predict(pixels); // the forward plan
      state.steps++;
    } finally {
      model.free();
    }
  })().finally(() => (state.ms = performance.now() - started));
  return { state, ended };
}
