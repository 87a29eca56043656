// The wasm API contract (README "wasm API") as checks that run in any browser: each `inPage*`
// function is sent to the page as source (Playwright's page.evaluate in Chromium, WebDriver's
// executeAsyncScript in Firefox), so it must be self-contained; `inPageScript` prefixes it with
// `inPageSetup`, whose context it receives. (No globals between scripts: Firefox runs each
// WebDriver script in a fresh sandbox.) Each `assert*` function checks a result here, in Node.
// One definition of every check, whatever drives the browser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './browser.mjs';

export const mnistGolden = JSON.parse(readFileSync(join(REPO, 'tests/fixtures/mnist-golden.json'), 'utf8'));
export const effGolden = JSON.parse(readFileSync(join(REPO, 'tests/fixtures/efficientnet-golden.json'), 'utf8'));
const gradBytes = readFileSync(join(REPO, 'tests/fixtures/efficientnet-input-grad.bin'));
const effGrad = new Float32Array(gradBytes.buffer.slice(gradBytes.byteOffset, gradBytes.byteOffset + gradBytes.length));
export const effPngBase64 = () => readFileSync(join(REPO, 'tests/fixtures/efficientnet-input.png')).toString('base64');

/** Loads the engine build `variant` (a file under /pkg/) and the MNIST model: the context of every check. */
export async function inPageSetup(variant) {
  const wasm = await import('/pkg/fgsm_wasm.js');
  await wasm.default({ module_or_path: `/pkg/${variant}` });
  const [onnx, digits] = await Promise.all(
    ['/models/mnist/model.onnx', '/models/mnist/test-digits.bin'].map((u) => fetch(u).then((r) => r.arrayBuffer())),
  );
  const bytes = new Uint8Array(digits);
  const model = new wasm.Model(new Uint8Array(onnx));
  return {
    wasm,
    onnx: new Uint8Array(onnx),
    model,
    digit: (i) => Float32Array.from(bytes.subarray(i * 784, (i + 1) * 784), (b) => b / 255),
  };
}

/**
 * The source of an async expression that runs `check(context, arg)` in the page after
 * `inPageSetup(variant)`, and frees the model it made.
 */
export function inPageScript(check, variant, arg = null) {
  return `(async () => {
    const context = await (${inPageSetup})(${JSON.stringify(variant)});
    try {
      return await (${check})(context, ${JSON.stringify(arg)});
    } finally {
      context.model.free();
    }
  })()`;
}

export async function inPageShape({ model }) {
  return { shape: [...model.inputShape], classes: model.numClasses };
}

export function assertShape(r) {
  assert.deepEqual(r.shape, [1, 1, 28, 28]);
  assert.equal(r.classes, 10);
}

/** predict and inputGradient on each golden digit. */
export async function inPageGoldenCases({ model, digit }, cases) {
  return cases.map(({ index, label }) => {
    const x = digit(index);
    const probs = model.predict(x);
    const { loss, grad } = model.inputGradient(x, label);
    return { probs: [...probs], loss, grad: [...grad], isF32: probs instanceof Float32Array && grad instanceof Float32Array };
  });
}

export function assertGoldenCases(results) {
  mnistGolden.cases.forEach((c, n) => {
    const r = results[n];
    assert.ok(r.isF32, 'typed arrays cross the boundary');
    const max = Math.max(...c.logits);
    const exp = c.logits.map((z) => Math.exp(z - max));
    const sum = exp.reduce((a, b) => a + b);
    exp.forEach((e, k) => assert.ok(Math.abs(e / sum - r.probs[k]) < 1e-4, `p[${k}]`));
    assert.ok(Math.abs(r.loss - c.loss) <= 1e-4 * (1 + Math.abs(c.loss)), `loss ${r.loss} vs ${c.loss}`);
    const scale = Math.max(...c.input_grad.map(Math.abs));
    const diff = Math.max(...c.input_grad.map((g, i) => Math.abs(g - r.grad[i])));
    assert.ok(diff <= 1e-3 * scale, `digit ${c.index}: max |Δgrad| ${diff} vs max |grad| ${scale}`);
  });
}

/** FGSM at ε = 0.25 on 50 held-out digits: the worst breach of each part of its definition. */
export async function inPageFgsmDefinition({ model, digit }) {
  const eps = 0.25;
  let flipped = 0;
  const worst = { linf: 0, outside: 0, wrongSign: 0, labelNotPredicted: 0 };
  for (let i = 0; i < 50; i++) {
    const x = digit(i);
    const clean = model.predict(x);
    const predicted = clean.indexOf(Math.max(...clean));
    const { grad } = model.inputGradient(x, predicted);
    const a = model.fgsm(x, eps);
    if (a.label !== predicted) worst.labelNotPredicted++;
    for (let j = 0; j < x.length; j++) {
      worst.linf = Math.max(worst.linf, Math.abs(a.adversarial[j] - x[j]));
      if (a.adversarial[j] < 0 || a.adversarial[j] > 1) worst.outside++;
      if (a.perturbation[j] * grad[j] < 0) worst.wrongSign++;
    }
    const adv = a.probs.indexOf(Math.max(...a.probs));
    if (adv !== predicted) flipped++;
  }
  return { flipped, ...worst };
}

export function assertFgsmDefinition(r, browser) {
  assert.ok(r.linf <= 0.25 + 1e-6, `L∞ ${r.linf}`);
  assert.equal(r.outside, 0);
  assert.equal(r.wrongSign, 0);
  assert.equal(r.labelNotPredicted, 0, 'the default label is the predicted class');
  assert.ok(r.flipped >= 25, `only ${r.flipped}/50 flipped`);
  console.log(`# fgsm ε=0.25 flipped ${r.flipped}/50 predictions in ${browser}`);
}

/** Every kind of bad input, and whether the model still works afterwards. */
export async function inPageBadInput({ wasm, model, onnx, digit }) {
  const attempt = (f) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return e instanceof Error ? e.message : `not an Error: ${e}`;
    }
  };
  const nan = digit(0);
  nan[5] = NaN;
  const withoutGradient = onnx.slice(0, onnx.length / 2);
  return {
    random: attempt(() => new wasm.Model(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))),
    empty: attempt(() => new wasm.Model(new Uint8Array())),
    truncated: attempt(() => new wasm.Model(withoutGradient)),
    count: attempt(() => model.predict(new Float32Array(100))),
    nan: attempt(() => model.predict(nan)),
    label: attempt(() => model.inputGradient(digit(0), 12)),
    fractional: attempt(() => model.inputGradient(digit(0), 1.5)),
    eps: attempt(() => model.fgsm(digit(0), -1)),
    options: attempt(() => model.fgsm(digit(0), 0.1, { label: 'seven' })),
    blank: attempt(() => wasm.centreDigit(new Float32Array(100), 10, 10)),
    stillWorks: model.predict(digit(0)).length,
  };
}

export function assertBadInput(r) {
  assert.match(r.empty, /empty/);
  for (const key of ['random', 'truncated']) assert.ok(r[key].length > 20 && r[key] !== 'no error', `${key}: ${r[key]}`);
  assert.match(r.count, /expected 784 pixel values.*got 100/);
  assert.match(r.nan, /pixel 5 is NaN/);
  assert.match(r.label, /label 12 is out of range/);
  assert.match(r.fractional, /whole number/);
  assert.match(r.eps, /ε must be/);
  assert.match(r.options, /options/);
  assert.match(r.blank, /empty/);
  assert.equal(r.stillWorks, 10);
}

/** EfficientNet-Lite0 on the fixture photo: prediction, gradient, and one targeted step. */
export async function inPageEfficientNet({ wasm }, { png, label }) {
  const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${png}`)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const x = wasm.rgbaToPixels(rgba, 3);
  const bytes = new Uint8Array(await (await fetch('/models/efficientnet-lite0/model.onnx')).arrayBuffer());
  const started = performance.now();
  const eff = new wasm.Model(bytes);
  const loadMs = performance.now() - started;
  const probs = eff.predict(x);
  const { loss, grad } = eff.inputGradient(x, label);
  const target = 793;
  const before = eff.inputGradient(x, target).loss;
  const step = eff.fgsm(x, 8 / 255, { label: target, targeted: true });
  const after = eff.inputGradient(step.adversarial, target).loss;
  eff.free();
  return { shape: [bitmap.width, bitmap.height], loadMs, probs: [...probs], loss, grad: [...grad], before, after };
}

export function assertEfficientNet(r, name) {
  assert.deepEqual(r.shape, [224, 224]);
  const top = r.probs.indexOf(Math.max(...r.probs));
  assert.equal(top, effGolden.label, `top-1 ${top}, expected ${effGolden.label_class}`);
  assert.ok(Math.abs(r.loss - effGolden.loss) <= 1e-4 * Math.max(effGolden.loss, 1e-3), `loss ${r.loss} vs ${effGolden.loss}`);
  // As the golden file advises: a ReLU6 unit within rounding of a kink may switch sides.
  const scale = effGrad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
  let close = 0, worst = 0, sameSign = 0;
  for (let i = 0; i < effGrad.length; i++) {
    const d = Math.abs(r.grad[i] - effGrad[i]) / scale;
    if (d <= 1e-3) close++;
    worst = Math.max(worst, d);
    if (Math.sign(r.grad[i]) === Math.sign(effGrad[i])) sameSign++;
  }
  const n = effGrad.length;
  console.log(`# ${name}: EfficientNet load ${r.loadMs.toFixed(0)} ms; grad within 1e-3·max on ${(100 * close / n).toFixed(3)} %, worst ${worst.toExponential(2)}, same sign ${(100 * sameSign / n).toFixed(3)} %`);
  assert.ok(close / n >= 0.995 && worst <= 5e-2 && sameSign / n >= 0.999);
  assert.ok(r.after < r.before, `targeted step: target loss ${r.before} → ${r.after}`);
}
