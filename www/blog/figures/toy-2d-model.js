// The maths of the article's 2-D toy classifier: two interleaved half-moons of points and a tiny
// network (2 inputs → H tanh units → 1 logistic output), trained by gradient descent on its
// weights, and attacked by FGSM on its input. Pure functions, no DOM: the figure (toy-2d.js) draws
// them and tests/unit/blog-toy-2d.test.mjs checks them.
import { seededRandom, seededNormal } from './common.js';

/** Two interleaved half-moons, `count` points, labels 0 and 1, with Gaussian jitter `noise`. */
export function makeMoons(count, { seed = 7, noise = 0.15 } = {}) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(seed + 1);
  const points = [];
  const labels = [];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const angle = Math.PI * uniform();
    const x = label === 0 ? Math.cos(angle) : 1 - Math.cos(angle);
    const y = label === 0 ? Math.sin(angle) : 0.5 - Math.sin(angle);
    points.push([x + noise * normal(), y + noise * normal()]);
    labels.push(label);
  }
  return { points, labels };
}

/**
 * A network with `hidden` tanh units. Its weights live in one flat vector:
 * W1 (hidden × 2, row-major), b1 (hidden), w2 (hidden), b2 (1).
 */
export function createNetwork(hidden, seed = 3) {
  const normal = seededNormal(seed);
  const params = new Float64Array(hidden * 4 + 1);
  for (let j = 0; j < hidden * 2; j++) params[j] = normal() * 1.2;
  for (let j = 0; j < hidden; j++) params[hidden * 2 + j] = normal() * 0.5;
  for (let j = 0; j < hidden; j++) params[hidden * 3 + j] = normal() / Math.sqrt(hidden);
  return { hidden, params };
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));
/** log(1 + e^z) without overflow. */
const softplus = (z) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/** The forward pass at point `x` = [x0, x1]: hidden activations `h`, logit `z`, p(class 1) `p`. */
export function forward(net, x) {
  const { hidden: H, params: P } = net;
  const h = new Float64Array(H);
  let z = P[4 * H];
  for (let j = 0; j < H; j++) {
    h[j] = Math.tanh(P[2 * j] * x[0] + P[2 * j + 1] * x[1] + P[2 * H + j]);
    z += P[3 * H + j] * h[j];
  }
  return { h, z, p: sigmoid(z) };
}

/** The logit alone (the decision boundary is where it is 0). */
export const logit = (net, x) => forward(net, x).z;

/** Cross-entropy J(θ, x, y) of label `y` (0 or 1) at point `x`. */
export function loss(net, x, y) {
  const { z } = forward(net, x);
  return softplus(z) - y * z;
}

/** ∇ₓz: the gradient of the logit with respect to the input point. */
export function logitGradient(net, x) {
  const { hidden: H, params: P } = net;
  const { h } = forward(net, x);
  const g = [0, 0];
  for (let j = 0; j < H; j++) {
    const back = P[3 * H + j] * (1 - h[j] * h[j]);
    g[0] += back * P[2 * j];
    g[1] += back * P[2 * j + 1];
  }
  return g;
}

/** ∇ₓJ(θ, x, y) = (p − y)·∇ₓz: the gradient of the loss with respect to the input point. */
export function inputGradient(net, x, y) {
  const dz = forward(net, x).p - y;
  return logitGradient(net, x).map((g) => dz * g);
}

/** ∇θ of the mean loss over a data set, in the layout of `net.params`, and that mean loss. */
export function weightGradient(net, { points, labels }) {
  const { hidden: H, params: P } = net;
  const grad = new Float64Array(P.length);
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const x = points[i];
    const y = labels[i];
    const { h, z, p } = forward(net, x);
    total += softplus(z) - y * z;
    const dz = p - y;
    grad[4 * H] += dz;
    for (let j = 0; j < H; j++) {
      grad[3 * H + j] += dz * h[j];
      const back = dz * P[3 * H + j] * (1 - h[j] * h[j]);
      grad[2 * j] += back * x[0];
      grad[2 * j + 1] += back * x[1];
      grad[2 * H + j] += back;
    }
  }
  const n = points.length;
  for (let k = 0; k < grad.length; k++) grad[k] /= n;
  return { grad, loss: total / n };
}

/** Mean loss over a data set. */
export function meanLoss(net, data) {
  let total = 0;
  for (let i = 0; i < data.points.length; i++) total += loss(net, data.points[i], data.labels[i]);
  return total / data.points.length;
}

/**
 * A trainer that takes Adam steps *down* the mean loss, changing the weights θ (the data stay put).
 * `step()` returns the mean loss before the step.
 */
export function createTrainer(net, data, { rate = 0.03, beta1 = 0.9, beta2 = 0.999 } = {}) {
  const m = new Float64Array(net.params.length);
  const v = new Float64Array(net.params.length);
  let t = 0;
  return {
    step() {
      const { grad, loss: before } = weightGradient(net, data);
      t += 1;
      for (let k = 0; k < grad.length; k++) {
        m[k] = beta1 * m[k] + (1 - beta1) * grad[k];
        v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k];
        const mHat = m[k] / (1 - beta1 ** t);
        const vHat = v[k] / (1 - beta2 ** t);
        net.params[k] -= (rate * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
      return before;
    },
  };
}

/** Trains for `steps` steps; returns the mean loss before each step and after the last. */
export function train(net, data, steps, options) {
  const trainer = createTrainer(net, data, options);
  const curve = [];
  for (let s = 0; s < steps; s++) curve.push(trainer.step());
  curve.push(meanLoss(net, data));
  return curve;
}

/** sign(v) elementwise, with sign(0) = 0 as in the paper's formula. */
export const sign = (v) => v.map((a) => (a > 0 ? 1 : a < 0 ? -1 : 0));

/**
 * One FGSM step on the toy: the label is the network's own prediction at `x` (as the demo does),
 * the gradient ∇ₓJ, the sign step x + ε·sign(∇ₓJ) (a corner of the L∞ square of half-side ε), and,
 * for comparison, the plain gradient step of the same L2 length ε.
 */
export function attack(net, x, eps) {
  const before = forward(net, x);
  const label = before.p >= 0.5 ? 1 : 0;
  const gradient = inputGradient(net, x, label);
  const norm = Math.hypot(gradient[0], gradient[1]);
  const s = sign(gradient);
  const signStep = [x[0] + eps * s[0], x[1] + eps * s[1]];
  const gradientStep = norm > 0 ? [x[0] + (eps * gradient[0]) / norm, x[1] + (eps * gradient[1]) / norm] : [...x];
  const after = forward(net, signStep);
  const afterGradient = forward(net, gradientStep);
  return {
    label,
    gradient,
    signStep,
    gradientStep,
    pBefore: before.p,
    pAfter: after.p,
    lossBefore: loss(net, x, label),
    lossSignStep: loss(net, signStep, label),
    lossGradientStep: loss(net, gradientStep, label),
    fooled: (after.p >= 0.5 ? 1 : 0) !== label,
    gradientStepFooled: (afterGradient.p >= 0.5 ? 1 : 0) !== label,
  };
}

/** The loss of label `label` along x + t·sign(∇ₓJ) for `count` values of t from 0 to `maxEps`. */
export function lossAlongSign(net, x, label, maxEps, count) {
  const s = sign(inputGradient(net, x, label));
  const out = [];
  for (let i = 0; i < count; i++) {
    const t = (maxEps * i) / (count - 1);
    out.push([t, loss(net, [x[0] + t * s[0], x[1] + t * s[1]], label)]);
  }
  return out;
}

/** Where the figure's point starts, and its ε: a confident blue point that the sign step fools and the gradient step does not. */
export const TOY_START = [0.35, 0.75];
export const TOY_EPS = 0.2;

/** The trained toy the figure shows: always the same, so the article reads the same each visit. */
export function trainedToy({ points = 160, hidden = 8, steps = 300, seed = 3 } = {}) {
  const data = makeMoons(points);
  const net = createNetwork(hidden, seed);
  const curve = train(net, data, steps);
  return { data, net, curve };
}
