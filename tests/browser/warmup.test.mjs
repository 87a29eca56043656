// The engine's warm-up (www/engine-warmup.js): while a model still has a while to download when the
// engine is ready, the worker loads and runs the small network of models/engine-warmup. The server
// holds files to make each case happen; what is asserted is which steps ran, never a time.
// - A slow download: the warm-up runs all three steps, and the model then gives exactly the answers
//   of a worker that did not warm up (the warm-up leaves nothing behind in the engine).
// - A download that ends before the warm-up's file has come: the warm-up stops at once.
// - A fast download: no warm-up.
//
//   node --test tests/browser/warmup.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SITE, start, newPage, assertClean } from '../support/browser.mjs';

const ENGINE = /\/pkg\/fgsm_wasm_bg\.wasm$/;
const MODEL = /\/models\/mnist\/model\.nnef\.tar$/;
const WARMUP = /\/pkg\/warmup\.nnef\.tar$/;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** `promise`, or after 30 s anyway (a hold that never ends would hang the test instead of failing it). */
const atMost30s = (promise) => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);

/** How the server answers in the current case: {engine, model, warmup} (path regexp → hold). */
let holds = {};
/** When each held file was asked for, and answered: resolvers by name. */
let asked = {};
let answered = {};
const mark = () => {
  const m = {};
  for (const name of ['engine', 'model', 'warmup']) m[name] = new Promise((resolve) => (m[`${name}Done`] = resolve));
  return m;
};

async function hold(path) {
  const name = ENGINE.test(path) ? 'engine' : MODEL.test(path) ? 'model' : WARMUP.test(path) ? 'warmup' : null;
  if (!name) return;
  asked[`${name}Done`](performance.now());
  await holds[name]?.();
  answered[`${name}Done`](performance.now());
}

let env;
before(async () => {
  env = await start({ hold });
});
after(async () => {
  await env?.close();
});

/**
 * A fresh worker (a fresh engine) that loads MNIST from its NNEF file as the page does (init and
 * load posted together) → {load: the load's answer, probs and adversarialProbs of a fixed digit at
 * ε = 0.1}, or {error}.
 */
async function loadInFreshWorker(page) {
  return page.evaluate(async () => {
    const { WorkerClient } = await import('/ui/worker-client.js');
    const client = new WorkerClient(() => new Worker('/worker.js', { type: 'module' }));
    const url = new URL('/models/mnist/model.onnx', location.href).href;
    const nnef = { url: new URL('/models/mnist/model.nnef.tar', location.href).href };
    try {
      const [, load] = await Promise.all([client.call('init', {}), client.call('load', { key: 'mnist', url, nnef })]);
      const pixels = Array.from({ length: 784 }, (_, i) => ((i * 7) % 17) / 17);
      const set = await client.call('setImage', { model: 'mnist', slot: 'test', pixels, withGradient: true });
      const attack = await client.call('attack', { image: set.image, eps: 0.1 });
      return { load, probs: Array.from(set.probs), adversarialProbs: Array.from(attack.adversarialProbs) };
    } catch (e) {
      return { error: e.message };
    }
  });
}

test('the site ships the warm-up network beside the engine', () => {
  assert.ok(existsSync(join(SITE, 'pkg', 'warmup.nnef.tar')));
});

test('a slow download gets a warm-up, which changes no answer; a fast one gets none', async () => {
  const page = await newPage(env.browser, env.url);
  const missing = [];
  page.on('response', (r) => r.status() === 404 && missing.push(r.url()));
  await page.goto(`${env.url}models/mnist/model.json`);

  // Fast: nothing held.
  holds = {};
  asked = mark();
  answered = mark();
  const fast = await loadInFreshWorker(page);
  assert.equal(fast.error, undefined);
  assert.equal(fast.load.warmUp, null, 'no warm-up for a download that was over when the engine was ready');

  // Slow: the engine comes after 1.5 s, the model 6 s after the warm-up's file was asked for.
  asked = mark();
  answered = mark();
  holds = { engine: () => sleep(1500), model: () => atMost30s(asked.warmup).then(() => sleep(6000)) };
  const slow = await loadInFreshWorker(page);
  assert.equal(slow.error, undefined);
  assert.equal(slow.load.format, 'nnef');
  assert.equal(slow.load.warmUp?.steps, 3, JSON.stringify(slow.load.warmUp));
  assert.ok(slow.load.warmUp.ms > 0);
  assert.ok(fast.adversarialProbs.length === 10);
  assert.deepEqual(slow.probs, fast.probs, 'the same clean probabilities, bit for bit');
  assert.deepEqual(slow.adversarialProbs, fast.adversarialProbs, 'the same adversarial probabilities, bit for bit');

  // The model ends before the warm-up's file comes: the warm-up runs no step.
  asked = mark();
  answered = mark();
  holds = { engine: () => sleep(1500), model: () => atMost30s(asked.warmup).then(() => sleep(200)), warmup: () => atMost30s(answered.model).then(() => sleep(1000)) };
  const cut = await loadInFreshWorker(page);
  assert.equal(cut.error, undefined);
  assert.deepEqual(cut.load.warmUp, { steps: 0, ms: null }, 'started, and no step ran before the load answered');
  assert.deepEqual(cut.probs, fast.probs);

  // No file of the page's or the worker's was missing; the one 404 in the console is Chromium's own
  // request for /favicon.ico, which a JSON document does not name (playwright does not report it).
  assert.deepEqual(missing, []);
  assertClean(page, /status of 404/);
  await page.close();
});
