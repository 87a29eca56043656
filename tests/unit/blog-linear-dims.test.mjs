// The article's linear-unit figure (www/blog/figures/linear-dims-model.js): the sign of w moves a
// linear unit by exactly ε‖w‖₁ ≈ ε·m·n (the paper's argument); random signs by about ε‖w‖₂ ∝ √n.
//
//   node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_INPUTS, makeWeights, randomSigns, prefixSums, signChange, paperEstimate, randomChange, randomTypical,
  meanMagnitude, inputsFromSlider, sliderFromInputs,
} from '../../www/blog/figures/linear-dims-model.js';

const close = (a, b, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test('wᵀη with η = ε·sign(w) on the first n inputs is ε·Σ|wᵢ|, computed directly', () => {
  const w = makeWeights(5000);
  const sums = prefixSums(w, randomSigns(5000));
  const eps = 3 / 255;
  for (const n of [0, 1, 7, 784, 5000]) {
    let direct = 0;
    for (let i = 0; i < n; i++) direct += w[i] * eps * Math.sign(w[i]);
    assert.ok(n === 0 ? signChange(sums, n, eps) === 0 : close(signChange(sums, n, eps), direct), `n=${n}`);
    // No other η with |ηᵢ| ≤ ε does better: ε·sign(w) is the maximiser.
    let other = 0;
    for (let i = 0; i < n; i++) other += w[i] * eps * Math.cos(i);
    assert.ok(other <= signChange(sums, n, eps) + 1e-12);
  }
});

test('the change grows linearly in n, as the paper’s ε·m·n says', () => {
  const w = makeWeights(MAX_INPUTS);
  const sums = prefixSums(w, randomSigns(MAX_INPUTS));
  const m = meanMagnitude(w);
  const eps = 1 / 255;
  assert.ok(close(signChange(sums, MAX_INPUTS, eps), paperEstimate(m, MAX_INPUTS, eps)), 'equal over all the inputs, by definition of m');
  for (const n of [1000, 10_000, 100_000]) {
    const ratio = signChange(sums, n, eps) / paperEstimate(m, n, eps);
    assert.ok(Math.abs(ratio - 1) < 0.05, `n=${n}: ε‖w‖₁ / ε·m·n = ${ratio}`);
  }
  const tenfold = signChange(sums, 100_000, eps) / signChange(sums, 10_000, eps);
  assert.ok(tenfold > 9.5 && tenfold < 10.5, `10× the inputs, ${tenfold}× the change`);
  assert.ok(close(signChange(sums, 784, 2 * eps), 2 * signChange(sums, 784, eps)), 'and linearly in ε');
});

test('random signs grow only like √n', () => {
  const w = makeWeights(MAX_INPUTS);
  const eps = 1 / 255;
  // The typical size ε‖w‖₂ grows by √10 for 10× the inputs.
  const sums = prefixSums(w, randomSigns(MAX_INPUTS));
  const tenfold = randomTypical(sums, 100_000, eps) / randomTypical(sums, 10_000, eps);
  assert.ok(Math.abs(tenfold - Math.sqrt(10)) < 0.1, `${tenfold}`);
  // Over many draws, the root-mean-square of wᵀη is ε‖w‖₂.
  const n = 784;
  let squares = 0;
  const draws = 400;
  for (let d = 0; d < draws; d++) squares += randomChange(prefixSums(w.subarray(0, n), randomSigns(n, 100 + d)), n, eps) ** 2;
  const rms = Math.sqrt(squares / draws);
  const expected = randomTypical(sums, n, eps);
  assert.ok(Math.abs(rms / expected - 1) < 0.1, `rms ${rms} vs ε‖w‖₂ ${expected}`);
  // At a photo's size the sign beats random signs by a factor of about √(2n/π).
  const ratio = signChange(sums, MAX_INPUTS, eps) / randomTypical(sums, MAX_INPUTS, eps);
  assert.ok(Math.abs(ratio / Math.sqrt((2 * MAX_INPUTS) / Math.PI) - 1) < 0.02, `${ratio}`);
});

test('the n slider is logarithmic and covers 1 … 150,528', () => {
  assert.equal(inputsFromSlider(0, 1000), 1);
  assert.equal(inputsFromSlider(1000, 1000), MAX_INPUTS);
  for (const n of [1, 10, 784, 10_000, MAX_INPUTS]) {
    const back = inputsFromSlider(sliderFromInputs(n, 1000), 1000);
    assert.ok(Math.abs(back - n) / n < 0.01, `${n} → ${back}`);
  }
});
