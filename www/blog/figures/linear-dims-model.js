// The maths of the article's "why high dimensions" figure: a linear unit a = wᵀx with n inputs,
// each input moved by at most ε. The paper's worst case η = ε·sign(w) moves it by wᵀη = ε‖w‖₁,
// about ε·m·n for weights of mean magnitude m; random signs of the same size move it by only about
// ε‖w‖₂ ≈ ε·rms(w)·√n. Pure functions: linear-dims.js draws them, tests/unit checks them.
import { seededNormal, seededRandom } from './common.js';

/** Inputs of a 224×224 colour photo, the largest n the figure shows. */
export const MAX_INPUTS = 224 * 224 * 3;

/** `count` weights drawn from N(0, σ²), the same every time for a given seed. */
export function makeWeights(count, { sigma = 0.0125, seed = 11 } = {}) {
  const normal = seededNormal(seed);
  const w = new Float64Array(count);
  for (let i = 0; i < count; i++) w[i] = sigma * normal();
  return w;
}

/** `count` random signs ±1. */
export function randomSigns(count, seed = 5) {
  const uniform = seededRandom(seed);
  const s = new Int8Array(count);
  for (let i = 0; i < count; i++) s[i] = uniform() < 0.5 ? -1 : 1;
  return s;
}

/**
 * Running sums over the first n inputs, n = 0 … count: ‖w‖₁ (`l1`), ‖w‖₂² (`l2sq`) and, for the
 * given random signs, Σ sᵢwᵢ (`randomDot`). Each is a Float64Array of length count + 1.
 */
export function prefixSums(w, signs) {
  const n = w.length;
  const l1 = new Float64Array(n + 1);
  const l2sq = new Float64Array(n + 1);
  const randomDot = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    l1[i + 1] = l1[i] + Math.abs(w[i]);
    l2sq[i + 1] = l2sq[i] + w[i] * w[i];
    randomDot[i + 1] = randomDot[i] + signs[i] * w[i];
  }
  return { l1, l2sq, randomDot };
}

/** wᵀη for η = ε·sign(w) on the first n inputs (and 0 elsewhere): exactly ε·Σ|wᵢ|. */
export const signChange = (sums, n, eps) => eps * sums.l1[n];

/** The paper's estimate of the same change: ε·m·n, with m the mean |wᵢ| over all the weights. */
export const paperEstimate = (m, n, eps) => eps * m * n;

/** |wᵀη| for one draw of random signs η = ε·s on the first n inputs. */
export const randomChange = (sums, n, eps) => eps * Math.abs(sums.randomDot[n]);

/** The typical size (standard deviation) of wᵀη over random signs: ε·‖w‖₂ on the first n inputs. */
export const randomTypical = (sums, n, eps) => eps * Math.sqrt(sums.l2sq[n]);

/** Mean |wᵢ|. */
export function meanMagnitude(w) {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += Math.abs(w[i]);
  return total / w.length;
}

/** The slider's position (0 … steps) to a count of inputs 1 … max, evenly on a log scale. */
export function inputsFromSlider(position, steps, max = MAX_INPUTS) {
  return Math.max(1, Math.min(max, Math.round(10 ** ((position / steps) * Math.log10(max)))));
}

/** The inverse of `inputsFromSlider` (nearest position). */
export function sliderFromInputs(n, steps, max = MAX_INPUTS) {
  return Math.round((Math.log10(n) / Math.log10(max)) * steps);
}
