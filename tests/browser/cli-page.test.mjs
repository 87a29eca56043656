// The CLI and the browser give the same figures: `fgsm eval --json` (the native binary that
// `cargo test --features cli` builds, run here) against the wasm API's session attacks in headless
// Chromium on the same digits, model, method, ε and seeds. And every shipped MNIST model loads in
// the page from its card: the card's files resolve against its folder (the shallow and the
// adversarially trained model share the CNN's test digits), and the wasm engine reproduces the
// model's PyTorch golden file.
//
//   node --test tests/browser/cli-page.test.mjs   (after ./build.sh site and cargo test --features cli)
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start, newPage, assertClean } from '../support/browser.mjs';

const MODELS = ['mnist', 'mnist-softmax', 'mnist-adversarial'];
const FGSM_BIN = join(REPO, 'target', 'debug', 'fgsm');

/** `fgsm eval … --json` for one model. */
function cliEval(model, { methods, eps, limit, steps }) {
  assert.ok(existsSync(FGSM_BIN), `${FGSM_BIN} is missing: build it with cargo test --features cli (./build.sh test does)`);
  const args = ['eval', '--model', `models/${model}/model.onnx`, '--method', methods.join(','), '--eps', eps.join(','), '--limit', String(limit), '--json'];
  if (steps) args.push('--steps', String(steps));
  return JSON.parse(execFileSync(FGSM_BIN, args, { cwd: REPO, encoding: 'utf8' }));
}

/**
 * In the page: the robustness chart's own run (ui/robustness-run.js through the worker's
 * attackMany, as the widget calls it) over the first `limit` digits for FGSM and noise and the
 * first `pgdDigits` for PGD with the chart's PGD settings. → its figures.
 */
async function inPageRobustness({ folder, limit, eps, pgdDigits, pgdEps }) {
  const { WorkerClient } = await import('/ui/worker-client.js');
  const { TestDigits } = await import('/ui/test-digits.js');
  const { measureRobustness, PGD_RUN } = await import('/ui/robustness-run.js');
  const base = new URL(folder, location.href);
  const card = await (await fetch(new URL('model.json', base))).json();
  const bytes = new Uint8Array(await (await fetch(new URL(card.test_digits.file, base))).arrayBuffer());
  const all = new TestDigits(bytes, card.test_digits.count);
  const digits = { side: all.side, count: limit, pixels: (i) => all.pixels(i), label: (i) => all.label(i) };
  const client = new WorkerClient(() => new Worker('/worker.js', { type: 'module' }));
  try {
    await client.call('init', { pkg: new URL('/pkg/', location.href).href });
    await client.call('load', { key: 'm', url: new URL(card.file ?? 'model.onnx', base).href });
    const call = (op, args, options) => client.call(op, { ...args, model: 'm' }, options);
    const r = await measureRobustness(call, digits, eps, { pgd: { ...PGD_RUN, digits: pgdDigits, epsilons: pgdEps } });
    return { ...r, PGD_RUN };
  } finally {
    client.call('unload', { key: 'm' }).catch(() => {});
  }
}

/**
 * In the page: loads the engine, the model's card, its ONNX file and the digits the card names
 * (resolved against the model's folder, as the page does). With `run`, attacks the first
 * `run.limit` digits with each method and ε (digit n, counting from 1, seeded with n, as the CLI
 * and the page's robustness run do) and returns the error rates in the CLI's JSON layout; with
 * `cases`, returns the model's predictions and gradients on those golden digits.
 */
async function inPageModel({ folder, run, cases }) {
  const wasm = await import('/pkg/fgsm_wasm.js');
  await wasm.default({ module_or_path: '/pkg/fgsm_wasm_bg.wasm' });
  const base = new URL(folder, location.href);
  const card = await (await fetch(new URL('model.json', base))).json();
  const get = async (file) => new Uint8Array(await (await fetch(new URL(file, base))).arrayBuffer());
  const [onnx, bytes] = await Promise.all([get(card.file ?? 'model.onnx'), get(card.test_digits.file)]);
  const count = card.test_digits.count;
  if (bytes.length !== count * 785) throw new Error(`${card.test_digits.file}: ${bytes.length} bytes for ${count} digits`);
  const digit = (i) => Float32Array.from(bytes.subarray(i * 784, (i + 1) * 784), (b) => b / 255);
  const truth = (i) => bytes[count * 784 + i];
  const model = new wasm.Model(onnx);
  try {
    if (cases) {
      return cases.map(({ index, label }) => {
        const { loss, grad } = model.inputGradient(digit(index), label);
        return { probs: [...model.predict(digit(index))], loss, grad: [...grad] };
      });
    }
    const sessions = [];
    let correct = 0;
    for (let i = 0; i < run.limit; i++) {
      const s = model.session(digit(i));
      if (s.prediction === truth(i)) correct++;
      sessions.push(s);
    }
    const error = {};
    for (const method of run.methods) {
      error[method] = run.eps.map((eps) => {
        let wrong = 0;
        sessions.forEach((s, i) => {
          const { probs } = s.attack({ method, eps, seed: i + 1 });
          if (probs.indexOf(Math.max(...probs)) !== truth(i)) wrong++;
        });
        return wrong / run.limit;
      });
    }
    sessions.forEach((s) => s.free());
    return { name: card.name, clean_accuracy: correct / run.limit, error, inputShape: [...model.inputShape] };
  } finally {
    model.free();
  }
}

describe('CLI and browser agree; every MNIST model loads from its card', () => {
  let env, page;
  before(async () => {
    env = await start();
    page = await newPage(env.browser, env.url);
    await page.goto(env.url);
  });
  after(async () => {
    if (page) assertClean(page);
    await env?.close();
  });

  for (const model of MODELS) {
    test(`${model}: fgsm eval --json equals the wasm session attacks (FGSM, noise on 200 digits; PGD on 10)`, async () => {
      for (const run of [{ methods: ['fgsm', 'noise'], eps: [0.1, 0.25], limit: 200 }, { methods: ['pgd'], eps: [0.1, 0.25], limit: 10 }]) {
        const cli = cliEval(model, run);
        const browser = await page.evaluate(inPageModel, { folder: `/models/${model}/`, run });
        assert.deepEqual(browser.inputShape, [1, 1, 28, 28]);
        const card = JSON.parse(readFileSync(join(REPO, 'models', model, 'model.json'), 'utf8'));
        assert.equal(browser.name, card.name, 'the page read this model\'s card');
        assert.equal(cli.digits, run.limit);
        assert.equal(browser.clean_accuracy, cli.clean_accuracy, `${model}: clean accuracy`);
        for (const method of run.methods) {
          assert.deepEqual(browser.error[method], cli.error[method], `${model} ${method} at ε ${run.eps}: browser vs CLI`);
        }
        console.log(`# ${model}: ${run.methods.map((m) => `${m} ${cli.error[m].map((e) => (100 * e).toFixed(1)).join('/')} %`).join(', ')} at ε ${run.eps.join('/')} on ${run.limit} digits, CLI = browser`);
      }
    });
  }

  for (const model of MODELS) {
    test(`${model}: the robustness chart's own run (FGSM, noise on 100 digits; PGD as the chart runs it, on 10) equals fgsm eval --json`, async () => {
      const eps = [0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5];
      const pgdEps = eps.slice(1);
      const r = await page.evaluate(inPageRobustness, { folder: `/models/${model}/`, limit: 100, eps, pgdDigits: 10, pgdEps });
      const cli = cliEval(model, { methods: ['fgsm', 'noise'], eps, limit: 100 });
      assert.equal(r.accuracy, cli.clean_accuracy, `${model}: clean accuracy`);
      assert.deepEqual(r.error, cli.error.fgsm, `${model}: FGSM, page vs CLI`);
      assert.deepEqual(r.noiseError, cli.error.noise, `${model}: noise, page vs CLI`);
      // The chart's PGD: its steps and seed, α left to the core's default, as the CLI's.
      const pgdCli = cliEval(model, { methods: ['pgd'], eps: pgdEps, limit: 10, steps: r.PGD_RUN.steps });
      assert.equal(pgdCli.params[0].steps, r.pgd.steps);
      assert.equal(pgdCli.params[0].seed, r.PGD_RUN.seed);
      assert.equal(r.pgd.accuracy, pgdCli.clean_accuracy, `${model}: clean accuracy of PGD's digits`);
      assert.deepEqual(r.pgd.error, pgdCli.error.pgd, `${model}: PGD, page vs CLI`);
      // Not a comparison of 0s and 1s only: at some ε the run's seeds and steps decide digits.
      assert.ok(r.pgd.error.some((e) => e > 0 && e < 1), `PGD error strictly between 0 and 1 at some ε: ${r.pgd.error}`);
      console.log(
        `# ${model}: the page's robustness run = fgsm eval: FGSM ${cli.error.fgsm.map((e) => (100 * e).toFixed(0)).join('/')} %, ` +
          `noise ${cli.error.noise.map((e) => (100 * e).toFixed(0)).join('/')} % (100 digits), PGD ${r.PGD_RUN.steps} steps ${pgdCli.error.pgd.map((e) => (100 * e).toFixed(0)).join('/')} % (10 digits) at ε ${eps.join('/')}`,
      );
    });
  }

  for (const model of MODELS.slice(1)) {
    test(`${model}: predictions and gradients in the browser match its PyTorch golden file`, async () => {
      const golden = JSON.parse(readFileSync(join(REPO, 'tests', 'fixtures', `${model}-golden.json`), 'utf8'));
      const results = await page.evaluate(inPageModel, { folder: `/models/${model}/`, cases: golden.cases });
      golden.cases.forEach((c, n) => {
        const r = results[n];
        const max = Math.max(...c.logits);
        const exp = c.logits.map((z) => Math.exp(z - max));
        const sum = exp.reduce((a, b) => a + b);
        exp.forEach((e, k) => assert.ok(Math.abs(e / sum - r.probs[k]) < 1e-4, `digit ${c.index}: p[${k}]`));
        assert.ok(Math.abs(r.loss - c.loss) <= 1e-4 * (1 + Math.abs(c.loss)), `digit ${c.index}: loss ${r.loss} vs ${c.loss}`);
        const scale = Math.max(...c.input_grad.map(Math.abs));
        const diff = Math.max(...c.input_grad.map((g, i) => Math.abs(g - r.grad[i])));
        assert.ok(diff <= 1e-3 * scale, `digit ${c.index}: max |Δgrad| ${diff} vs max |grad| ${scale}`);
      });
    });
  }
});
