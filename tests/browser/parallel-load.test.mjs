// The engine and the first model download together (issue 8: "fetch the engine and the model in
// parallel"). The server holds each of the two answers until the other file has been asked for:
// if the page asked for the model only once the engine had arrived, neither hold would end on its
// own (each gives up after HOLD_MS, and the test fails). No timings are compared: only which
// requests had started while the other was still unanswered.
//
//   node --test tests/browser/parallel-load.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, assertClean } from '../support/browser.mjs';

const HOLD_MS = 20_000;
const ENGINE = /\/pkg\/fgsm_wasm_bg\.wasm$/;
const MODEL = /\/models\/[^/]+\/model\.onnx$/;

/** A promise that each request kind's arrival resolves, and what each hold saw. */
const arrived = { engine: null, model: null };
const signal = {};
for (const kind of Object.keys(arrived)) arrived[kind] = new Promise((resolve) => (signal[kind] = resolve));
const seenWhileHeld = { engine: null, model: null };

async function hold(path) {
  const kind = ENGINE.test(path) ? 'engine' : MODEL.test(path) ? 'model' : null;
  if (!kind) return;
  signal[kind](path);
  const other = kind === 'engine' ? 'model' : 'engine';
  // Answer only once the other file has been asked for (or give up after HOLD_MS).
  let timer;
  const giveUp = new Promise((resolve) => (timer = setTimeout(() => resolve(false), HOLD_MS)));
  seenWhileHeld[kind] ??= await Promise.race([arrived[other], giveUp]);
  clearTimeout(timer);
}

let env;
before(async () => {
  env = await start({ hold });
});
after(async () => {
  await env?.close();
});

test('the first model downloads while the engine downloads', async () => {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await page.goto(env.url);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  await page.waitForFunction(() => !!document.querySelector('fgsm-demo').shadowRoot.querySelector('#results').dataset.for, null, { timeout: 60_000 });
  console.log(`# engine answered after ${seenWhileHeld.engine || '(never)'} was asked for; model answered after ${seenWhileHeld.model || '(never)'} was asked for`);
  assert.ok(seenWhileHeld.engine, 'the model was asked for while the engine was still unanswered');
  assert.ok(seenWhileHeld.model, 'the engine was asked for while the model was still unanswered');
  assertClean(page);
  await page.close();
});
