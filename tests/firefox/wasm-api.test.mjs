// The wasm API contract in Debian's firefox-esr (headless, through WebDriver): the same checks as
// Chromium's run (tests/support/wasm-api-checks.mjs), on the SIMD128 engine, the one build every
// browser gets (the relaxed-SIMD build is only offered where WebAssembly.validate accepts it).
import { describe, test, before, after } from 'node:test';
import { startFirefox, runInPage } from '../support/firefox.mjs';
import * as checks from '../support/wasm-api-checks.mjs';

describe('wasm API in Firefox', () => {
  let env;
  const variant = 'fgsm_wasm_bg.wasm';
  const run = (check, arg) => runInPage(env.driver, checks.inPageScript(check, variant, arg));

  before(async () => {
    env = await startFirefox();
    await env.driver.get(env.url);
  });

  after(async () => env?.close());

  test('shape and class count', async () => checks.assertShape(await run(checks.inPageShape)));

  test('predict and inputGradient agree with PyTorch autograd', async () => {
    checks.assertGoldenCases(await run(checks.inPageGoldenCases, checks.mnistGolden.cases));
  });

  test('fgsm obeys its definition and fools the model at ε = 0.25', async () => {
    checks.assertFgsmDefinition(await run(checks.inPageFgsmDefinition), 'Firefox');
  });

  test('bad input throws Errors with messages, and the model keeps working', async () => {
    checks.assertBadInput(await run(checks.inPageBadInput));
  });

  test('EfficientNet-Lite0 matches PyTorch autograd on the fixture photo', async () => {
    const r = await run(checks.inPageEfficientNet, { png: checks.effPngBase64(), label: checks.effGolden.label });
    checks.assertEfficientNet(r, 'Firefox, SIMD128');
  });
});
