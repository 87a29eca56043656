// Robust accuracy measured in the browser: FGSM and random ±ε noise on every shipped test digit at
// a list of ε, then PGD on the first digits (it costs `steps` gradient passes where FGSM costs one),
// in small batches so that the worker answers the slider between them.

/**
 * The PGD run of the robustness chart: the first `digits` test digits, `steps` steps of the core's
 * default α = (4/3)·ε/steps from a random start within ε, digit n (counting from 1) seeded with
 * `seed` + n. `fgsm eval --method pgd --steps 10 --limit 100` gives the same figures.
 */
export const PGD_RUN = { digits: 100, steps: 10, seed: 0 };

/**
 * @param {(op: string, args: object, options?: object) => Promise<any>} call the worker client's call
 * @param {import('./test-digits.js').TestDigits} digits
 * @param {number[]} epsilons
 * @param {{batch?: number, pgd?: {digits: number, steps: number, seed: number, epsilons: number[]} | null,
 *          onProgress?: (partial: object) => void, cancelled?: () => boolean,
 *          pause?: () => Promise<void>}} options
 *   `pgd`: also PGD on the first `pgd.digits` digits at `pgd.epsilons` (each one of `epsilons`),
 *   one digit per request, after FGSM and noise are done. onProgress gets the figures so far after
 *   every batch; before each batch the run awaits `pause()`, which the widget resolves only while
 *   the reader is not using it, so that the reader's own requests go first.
 * @returns {Promise<object | null>} null when cancelled, else {count, accuracy, error, noiseError,
 *   pgd}. accuracy: share of clean digits read correctly; error[j] (noiseError[j]): share misread
 *   after FGSM (noise) at epsilons[j], with y = the model's own prediction (model.json's definition
 *   of `fgsm_error`); pgd: {count, steps, seed, epsilons, accuracy (on those digits), error[j] at
 *   pgd.epsilons[j], done}.
 */
export async function measureRobustness(call, digits, epsilons, { batch = 10, pgd = null, onProgress = () => {}, cancelled = () => false, pause = async () => {} } = {}) {
  const size = digits.side * digits.side;
  const seed = pgd?.seed ?? PGD_RUN.seed;
  let correct = 0;
  const wrong = epsilons.map(() => 0);
  const wrongNoisy = epsilons.map(() => 0);
  const figures = (done) => ({ done, count: digits.count, accuracy: correct / done, error: wrong.map((w) => w / done), noiseError: wrongNoisy.map((w) => w / done) });
  const imagesOf = (start, count) => {
    const images = new Float32Array(count * size);
    for (let k = 0; k < count; k++) images.set(digits.pixels(start + k), k * size);
    return images;
  };
  for (let start = 0; start < digits.count; start += batch) {
    await pause();
    if (cancelled()) return null;
    const count = Math.min(batch, digits.count - start);
    const images = imagesOf(start, count);
    // Each digit's noise pattern is seeded by its number, so a run is repeatable.
    const r = await call('attackMany', { images, epsilons, noise: true, seed: seed + start + 1 }, { transfer: [images.buffer] });
    for (let k = 0; k < count; k++) {
      const truth = digits.label(start + k);
      if (r.clean[k] === truth) correct++;
      epsilons.forEach((_, j) => {
        if (r.adversarial[k * epsilons.length + j] !== truth) wrong[j]++;
        if (r.noisy[k * epsilons.length + j] !== truth) wrongNoisy[j]++;
      });
    }
    onProgress(figures(start + count));
  }
  const result = figures(digits.count);
  if (!pgd) return result;

  const n = Math.min(pgd.digits, digits.count);
  const pgdWrong = pgd.epsilons.map(() => 0);
  let pgdCorrect = 0;
  const pgdFigures = (done) => ({
    count: n,
    done,
    steps: pgd.steps,
    seed,
    epsilons: pgd.epsilons,
    accuracy: done ? pgdCorrect / done : null,
    error: pgdWrong.map((w) => (done ? w / done : null)),
  });
  for (let i = 0; i < n; i++) {
    await pause();
    if (cancelled()) return null;
    const images = imagesOf(i, 1);
    const r = await call('attackMany', { images, epsilons: pgd.epsilons, method: 'pgd', steps: pgd.steps, seed: seed + i + 1 }, { transfer: [images.buffer] });
    const truth = digits.label(i);
    if (r.clean[0] === truth) pgdCorrect++;
    pgd.epsilons.forEach((_, j) => r.adversarial[j] !== truth && pgdWrong[j]++);
    onProgress({ ...result, pgd: pgdFigures(i + 1) });
  }
  return { ...result, pgd: pgdFigures(n) };
}
