// Robust accuracy measured in the browser: FGSM (and, for comparison, random ±ε noise) on every
// shipped test digit at a list of ε, in small batches so that the worker answers the slider
// between them.

/**
 * @param {(op: string, args: object, options?: object) => Promise<any>} call the worker client's call
 * @param {import('./test-digits.js').TestDigits} digits
 * @param {number[]} epsilons
 * @param {{batch?: number, onProgress?: (partial: object) => void, cancelled?: () => boolean,
 *          pause?: () => Promise<void>}} options
 *   onProgress gets the figures so far after every batch; before each batch the run awaits
 *   `pause()`, which the widget resolves only while the reader is not using it, so that the reader's
 *   own requests go first.
 * @returns {Promise<{count: number, accuracy: number, error: number[]} | null>} null when cancelled.
 *   accuracy: share of clean digits read correctly; error[j]: share misread after FGSM at
 *   epsilons[j] with y = the model's own prediction (model.json's definition of `fgsm_error`).
 */
export async function measureRobustness(call, digits, epsilons, { batch = 10, onProgress = () => {}, cancelled = () => false, pause = async () => {} } = {}) {
  const size = digits.side * digits.side;
  let correct = 0;
  const wrong = epsilons.map(() => 0);
  const wrongNoisy = epsilons.map(() => 0);
  for (let start = 0; start < digits.count; start += batch) {
    await pause();
    if (cancelled()) return null;
    const count = Math.min(batch, digits.count - start);
    const images = new Float32Array(count * size);
    for (let k = 0; k < count; k++) images.set(digits.pixels(start + k), k * size);
    // Each digit's noise pattern is seeded by its number, so a run is repeatable.
    const r = await call('attackMany', { images, epsilons, noise: true, seed: start + 1 }, { transfer: [images.buffer] });
    for (let k = 0; k < count; k++) {
      const truth = digits.label(start + k);
      if (r.clean[k] === truth) correct++;
      epsilons.forEach((_, j) => {
        if (r.adversarial[k * epsilons.length + j] !== truth) wrong[j]++;
        if (r.noisy[k * epsilons.length + j] !== truth) wrongNoisy[j]++;
      });
    }
    const done = start + count;
    onProgress({ done, count: digits.count, accuracy: correct / done, error: wrong.map((w) => w / done), noiseError: wrongNoisy.map((w) => w / done) });
  }
  const n = digits.count;
  return { done: n, count: n, accuracy: correct / n, error: wrong.map((w) => w / n), noiseError: wrongNoisy.map((w) => w / n) };
}
