// The article's 2-D toy classifier (www/blog/figures/toy-2d-model.js): its gradients against
// finite differences, training going down the loss, and FGSM's step going up it.
//
//   node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  makeMoons, createNetwork, forward, loss, logitGradient, inputGradient, weightGradient, meanLoss, train,
  attack, lossAlongSign, sign, trainedToy, TOY_START, TOY_EPS,
} from '../../www/blog/figures/toy-2d-model.js';

const H = 1e-6;

/** Central finite difference of f along coordinate k of a copy of v. */
function finiteDifference(f, v, k) {
  const plus = [...v];
  const minus = [...v];
  plus[k] += H;
  minus[k] -= H;
  return (f(plus) - f(minus)) / (2 * H);
}

test('∇ₓJ matches finite differences of the loss, for both labels, at many points', () => {
  const net = createNetwork(8, 3);
  train(net, makeMoons(80), 50);
  for (const x of [[0, 0], [0.35, 0.7], [1.2, -0.4], [-1, 1.2], [2, 0.3]]) {
    for (const y of [0, 1]) {
      const g = inputGradient(net, x, y);
      for (const k of [0, 1]) {
        const fd = finiteDifference((p) => loss(net, p, y), x, k);
        assert.ok(Math.abs(g[k] - fd) <= 1e-6 * Math.max(1, Math.abs(fd)), `∂J/∂x${k} at ${x} for y=${y}: ${g[k]} vs ${fd}`);
      }
    }
  }
});

test('∇ₓz matches finite differences of the logit', () => {
  const net = createNetwork(8, 4);
  const x = [0.3, -0.2];
  const g = logitGradient(net, x);
  for (const k of [0, 1]) {
    const fd = finiteDifference((p) => forward(net, p).z, x, k);
    assert.ok(Math.abs(g[k] - fd) < 1e-6, `${g[k]} vs ${fd}`);
  }
});

test('∇θ of the mean loss matches finite differences in every weight', () => {
  const data = makeMoons(24);
  const net = createNetwork(5, 9);
  const { grad, loss: value } = weightGradient(net, data);
  assert.ok(Math.abs(value - meanLoss(net, data)) < 1e-12);
  for (let k = 0; k < net.params.length; k++) {
    const keep = net.params[k];
    net.params[k] = keep + H;
    const up = meanLoss(net, data);
    net.params[k] = keep - H;
    const down = meanLoss(net, data);
    net.params[k] = keep;
    const fd = (up - down) / (2 * H);
    assert.ok(Math.abs(grad[k] - fd) < 1e-6, `weight ${k}: ${grad[k]} vs ${fd}`);
  }
});

test('training goes down the loss and learns the moons', () => {
  const { data, net, curve } = trainedToy();
  assert.equal(curve.length, 301);
  assert.ok(curve.at(-1) < curve[0] / 5, `mean loss ${curve[0]} → ${curve.at(-1)}`);
  let correct = 0;
  data.points.forEach((p, i) => (correct += (forward(net, p).p >= 0.5 ? 1 : 0) === data.labels[i]));
  assert.ok(correct / data.points.length >= 0.97, `training accuracy ${correct / data.points.length}`);
});

test('the FGSM step lands on a corner of the L∞ square and goes up the loss', () => {
  const { net } = trainedToy();
  for (const x of [[0.35, 0.7], [0, 0.2], [1.2, -0.3], [0.5, 0.25]]) {
    const eps = 0.15;
    const r = attack(net, x, eps);
    assert.deepEqual(r.label, forward(net, x).p >= 0.5 ? 1 : 0, 'the label is the model’s own prediction');
    const s = sign(r.gradient);
    assert.deepEqual(r.signStep, [x[0] + eps * s[0], x[1] + eps * s[1]]);
    assert.ok(Math.max(Math.abs(r.signStep[0] - x[0]), Math.abs(r.signStep[1] - x[1])) <= eps + 1e-12, 'L∞ ≤ ε');
    assert.ok(Math.abs(Math.hypot(r.gradientStep[0] - x[0], r.gradientStep[1] - x[1]) - eps) < 1e-9, 'the gradient step has L2 length ε');
    assert.ok(r.lossSignStep > r.lossBefore, `loss goes up: ${r.lossBefore} → ${r.lossSignStep}`);
  }
});

test('the figure starts on a confident point that the sign step fools and the gradient step does not', () => {
  const { net } = trainedToy();
  const r = attack(net, TOY_START, TOY_EPS);
  assert.ok(Math.max(r.pBefore, 1 - r.pBefore) > 0.95, 'confident at the start');
  assert.equal(r.fooled, true);
  assert.equal(r.gradientStepFooled, false);
  assert.ok(r.lossSignStep > r.lossGradientStep, 'the corner of the square is further up the loss');
});

test('the loss along the sign direction starts at the clean loss and rises', () => {
  const { net } = trainedToy();
  const x = TOY_START;
  const r = attack(net, x, TOY_EPS);
  const along = lossAlongSign(net, x, r.label, 0.5, 11);
  assert.equal(along.length, 11);
  assert.equal(along[0][0], 0);
  assert.ok(Math.abs(along[0][1] - r.lossBefore) < 1e-12);
  assert.ok(along[3][1] > along[0][1] && along[10][1] > along[3][1]);
});
