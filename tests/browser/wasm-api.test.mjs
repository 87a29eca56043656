// The wasm API contract (README "wasm API"), exercised in headless Chromium against the built
// site/: the same numbers as PyTorch's golden file, FGSM's definition, and errors as JS Errors.
// The checks themselves live in tests/support/wasm-api-checks.mjs, shared with Firefox's run.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage } from '../support/browser.mjs';
import * as checks from '../support/wasm-api-checks.mjs';

// The one engine build the site ships (SIMD128).
const variant = 'fgsm_wasm_bg.wasm';

describe('wasm API in Chromium', () => {
  let env, page;
  const run = (check, arg) => page.evaluate(checks.inPageScript(check, variant, arg));

  before(async () => {
    env = await start();
    page = await newPage(env.browser, env.url);
    // The demo page gives the origin; the test drives the wasm module directly, beside the page's own.
    await page.goto(env.url);
    });

  after(async () => {
    const problems = page?.problems;
    const offsite = page?.offsite();
    await env?.close();
    assert.deepEqual(problems, [], 'no page errors');
    assert.deepEqual(offsite, [], 'no requests leave the local server');
  });

  test('shape and class count', async () => checks.assertShape(await run(checks.inPageShape)));

  test('predict and inputGradient agree with PyTorch autograd', async () => {
    checks.assertGoldenCases(await run(checks.inPageGoldenCases, checks.mnistGolden.cases));
  });

  test('fgsm obeys its definition and fools the model at ε = 0.25', async () => {
    checks.assertFgsmDefinition(await run(checks.inPageFgsmDefinition), 'Chromium');
  });

  test('bad input throws Errors with messages, and the model keeps working', async () => {
    checks.assertBadInput(await run(checks.inPageBadInput));
  });

  test('EfficientNet-Lite0 matches PyTorch autograd on the fixture photo', async () => {
    const r = await run(checks.inPageEfficientNet, { png: checks.effPngBase64(), label: checks.effGolden.label });
    checks.assertEfficientNet(r, variant);
  });
});
