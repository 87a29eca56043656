// A trap in the engine is survived (issue 9, item 1). The ONNX checks removed every trap that
// fuzzing found, so the page is served with a test-only engine (tests/trap-engine: the shipped API
// plus testTrap(), a Rust panic on demand, built into target/trap-engine/pkg/ and never into
// site/) under /pkg/. The test makes the engine trap in the middle of a session, with an attack
// of the widget's queued behind the trap, and checks that the reader is told in plain words, that
// a new worker took over with the same model, and that the next ε gives a verdict again; then the
// same with the reader's own model file.
//
//   node --test tests/browser/trap.test.mjs      (after ./build.sh site; builds the test engine)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SITE, start, newPage, assertClean } from '../support/browser.mjs';
import { buildTrapEngine } from '../support/trap-engine.mjs';

let env;
before(async () => {
  const { pkg, ms } = buildTrapEngine();
  console.log(`# test engine (tests/trap-engine) built or checked in ${(ms / 1000).toFixed(1)} s`);
  env = await start({ mounts: { '/pkg/': pkg } });
});
after(async () => {
  await env?.close();
});

const text = async (page, selector) => (await page.textContent(selector)).trim();
const resultKey = (page) => page.getAttribute('#results', 'data-for');

/**
 * Traps the engine and, in the same task, moves the ε slider to `slider`: the widget's attack is
 * posted behind the trap, so it is one of the requests the trap cuts short. → the trap call's
 * rejection: its message (cause).
 */
function trapWhileAttacking(page, slider) {
  return page.evaluate(async (value) => {
    const { sharedEngine } = await import('/ui/engine.js');
    const trapped = sharedEngine().client.call('testTrap').then(
      () => 'no error',
      (e) => `${e.message} (${e.cause})`,
    );
    const eps = document.querySelector('fgsm-demo').shadowRoot.querySelector('#eps');
    eps.value = String(value);
    eps.dispatchEvent(new Event('input', { bubbles: true }));
    return trapped;
  }, slider);
}

/** Moves the slider to `value` and waits until a result for the new ε is shown. */
async function verdictAfterMoving(page, value) {
  const before = await resultKey(page);
  await page.locator('#eps').fill(String(value));
  await page.waitForFunction(
    (key) => {
      const results = document.querySelector('fgsm-demo').shadowRoot.querySelector('#results');
      return results.dataset.for && results.dataset.for !== key;
    },
    before,
    { timeout: 60_000 },
  );
  return text(page, '#verdict');
}

test('a trap in the engine is survived: a plain message, a new worker, the same model, verdicts again', async () => {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  assert.equal(workers.length, 1);

  // Slider positions as fractions of its range, on its steps.
  const [max, step] = await Promise.all(['max', 'step'].map(async (a) => Number(await page.getAttribute('#eps', a))));
  const at = (fraction) => Number((Math.round((max * fraction) / step) * step).toFixed(6));
  const rejected = await trapWhileAttacking(page, at(0.3));
  assert.match(rejected, /^the engine stopped and was restarted.*\(.*unreachable.*\)$/, `the call that trapped says why: ${rejected}`);
  await page.waitForSelector('#alert:not([hidden])');
  const message = await text(page, '#alert-text');
  assert.match(message, /engine stopped and was restarted/, `the reader is told: ${message}`);
  console.log(`# after the trap the page said: "${message}"`);

  const verdict = await verdictAfterMoving(page, at(0.7));
  assert.ok(verdict.length > 0, 'a verdict after the restart');
  assert.match(await text(page, '#original-pred'), /^\d$/);
  assert.equal(workers.length, 2, 'a second worker took over');
  assert.match(await text(page, '.panel-model'), /mnist-cnn/, 'with the same model');

  // The reader's own model: reloaded into the new worker from the same file.
  const own = readFileSync(join(REPO, 'models', 'mnist', 'model.onnx'));
  await page.click('#alert-close');
  await page.setInputFiles('#model-file', { name: 'my-model.onnx', mimeType: 'application/octet-stream', buffer: own });
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]');
  await page.waitForSelector('#results[data-for^="test:"]');
  const again = await trapWhileAttacking(page, at(0.25));
  assert.match(again, /^the engine stopped and was restarted.*unreachable/);
  await page.waitForSelector('#alert:not([hidden])');
  assert.match(await text(page, '#alert-text'), /engine stopped and was restarted/);
  assert.ok((await verdictAfterMoving(page, at(0.9))).length > 0, 'a verdict with the reader’s model after the restart');
  assert.match(await text(page, '.panel-model'), /my-model\.onnx/);
  assert.equal(workers.length, 3);

  // The panic's own report (console_error_panic_hook) is the only error logged.
  await assertClean(page, /panicked at|testTrap: a panic on demand|RuntimeError: unreachable/);
  await page.close();
});

test('the site’s own engine has no test switch', async () => {
  assert.doesNotMatch(readFileSync(join(SITE, 'pkg', 'fgsm_wasm.js'), 'utf8'), /testTrap/, 'the shipped glue has no testTrap');
  const mounted = await (await fetch(`${env.url}pkg/fgsm_wasm.js`)).text();
  assert.match(mounted, /testTrap/, 'the test engine has it');
});
