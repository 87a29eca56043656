// What a first visit downloads, and in which order (issue 8: a live verdict on the photo within
// 4 s at 20 Mbit/s). Three facts, each enforced by the server holding an answer, so that a page
// that did things in the wrong order would wait for a hold that never ends (each gives up after
// HOLD_MS, and the test fails). No timings are compared: only which requests had started.
// - The engine and the first model download together: each of the two answers is held until the
//   other file has been asked for.
// - Both start before the widget's modules have loaded: the widget's module (embed/fgsm-demo.js)
//   is held until both have been asked for.
// - Nothing the first verdict does not need comes before it: no sample photo but the lead's, no
//   digit model and no test digits are asked for until the widget has shown its first result.
//
//   node --test tests/browser/parallel-load.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, assertClean } from '../support/browser.mjs';

const HOLD_MS = 20_000;
const ENGINE = /\/pkg\/fgsm_wasm_bg\.wasm$/;
// A shipped model comes as its NNEF file (model.nnef.tar), or as its ONNX file.
const MODEL = /\/models\/[^/]+\/model\.(onnx|nnef\.tar)$/;
const WIDGET = /\/embed\/fgsm-demo\.js$/;
const LEAD_SAMPLE = /\/models\/efficientnet-lite0\/samples\/camera\.png$/;
/** What the first verdict on the lead photo does not need. */
const LATER = [/\/models\/efficientnet-lite0\/samples\/(?!camera\.png$)[^/]+$/, /\/models\/mnist[^/]*\//];

/** A promise that each request kind's arrival resolves, and what each hold saw. */
const arrived = { engine: null, model: null };
const signal = {};
for (const kind of Object.keys(arrived)) arrived[kind] = new Promise((resolve) => (signal[kind] = resolve));
const seenWhileHeld = { engine: null, model: null, widget: null };
/** Paths asked for, and whether the page had shown its first result when each was. */
const requests = [];
let page = null;

/** Resolves to `promise`'s value, or to false after HOLD_MS. */
async function within(promise) {
  let timer;
  const giveUp = new Promise((resolve) => (timer = setTimeout(() => resolve(false), HOLD_MS)));
  try {
    return await Promise.race([promise, giveUp]);
  } finally {
    clearTimeout(timer);
  }
}

async function hold(path) {
  // Asked in the page itself, so that a request the page made after its first result always finds
  // the mark the result left (set in the same thread, before the request was made).
  const watched = LEAD_SAMPLE.test(path) || LATER.some((re) => re.test(path));
  requests.push({ path, afterVerdict: watched ? await page.evaluate(() => !!window.__firstResult) : null });
  if (WIDGET.test(path)) {
    seenWhileHeld.widget ??= await within(Promise.all([arrived.engine, arrived.model]));
    return;
  }
  const kind = ENGINE.test(path) ? 'engine' : MODEL.test(path) ? 'model' : null;
  if (!kind) return;
  signal[kind](path);
  const other = kind === 'engine' ? 'model' : 'engine';
  // Answer only once the other file has been asked for (or give up after HOLD_MS).
  seenWhileHeld[kind] ??= await within(arrived[other]);
}

let env;
before(async () => {
  env = await start({ hold });
  // Without the service worker, whose precaching (10 s after the page's load event at the latest)
  // would ask for the engine and a model on its own.
  page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
  await page.addInitScript(() => document.addEventListener('fgsm-result', () => (window.__firstResult = true), { once: true }));
  await page.goto(env.url, { waitUntil: 'commit' });
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  await page.waitForFunction(() => window.__firstResult && !!document.querySelector('fgsm-demo').shadowRoot.querySelector('#results').dataset.for, null, { timeout: 60_000 });
  // The gallery's thumbnails, asked for once the first result is there.
  await page.waitForFunction(() => [...document.querySelector('fgsm-demo').shadowRoot.querySelectorAll('#samples img')].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 60_000 });
});
after(async () => {
  await page?.close();
  await env?.close();
});

test('the first model downloads while the engine downloads', () => {
  console.log(`# engine answered after ${seenWhileHeld.engine || '(never)'} was asked for; model answered after ${seenWhileHeld.model || '(never)'} was asked for`);
  assert.ok(seenWhileHeld.engine, 'the model was asked for while the engine was still unanswered');
  assert.ok(seenWhileHeld.model, 'the engine was asked for while the model was still unanswered');
  assertClean(page);
});

test('the engine and the model are asked for before the widget’s modules have loaded', () => {
  assert.ok(seenWhileHeld.widget, 'both were asked for while embed/fgsm-demo.js was still unanswered');
});

test('nothing but the lead photo, the engine and its model comes before the first result', () => {
  const early = requests.filter((r) => r.afterVerdict === false).map((r) => r.path);
  console.log(`# photos and digit models asked for before the first result: ${early.join(', ') || 'none'}`);
  assert.deepEqual(early.filter((p) => LATER.some((re) => re.test(p))), [], 'no other sample photo, digit model or test digits before the first result');
  assert.equal(early.filter((p) => LEAD_SAMPLE.test(p)).length, 1, 'the lead photo is asked for once before the first result');
  const later = requests.filter((r) => r.afterVerdict).map((r) => r.path);
  assert.ok(later.some((p) => LATER[0].test(p)), 'the other sample photos come after it (as thumbnails)');
});
