// The demo page in Debian's firefox-esr (headless, through WebDriver), as a smoke test: it opens,
// the worker loads the engine and the model, a digit gets a verdict, and moving the ε slider
// gives a new verdict for the new ε. (Chromium's tests in tests/browser/ go through everything;
// this checks that nothing on the path differs in Firefox.)
//
//   node --test tests/firefox/page.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFirefox, runInPage } from '../support/firefox.mjs';

let env;
before(async () => {
  env = await startFirefox();
});
after(async () => env?.close());

/**
 * What the widget shows, once `ready(state)` holds (polled in the page; `ready` is the source of
 * a function of the state). State: {status, model, result (what the shown result is about), verdict,
 * fooled, eps (the slider's value and max), alerts}.
 */
function waitForState(ready, timeout = 120_000) {
  return runInPage(
    env.driver,
    `new Promise((resolve, reject) => {
      const started = performance.now();
      const read = () => {
        const root = document.querySelector('fgsm-demo')?.shadowRoot;
        if (!root?.querySelector('#status')) return null;
        const $ = (id) => root.querySelector('#' + id);
        return {
          status: $('status').dataset.state,
          model: $('status').dataset.model,
          result: $('results').dataset.for,
          verdict: $('verdict').textContent.trim(),
          fooled: $('verdict').dataset.fooled,
          eps: { value: $('eps').value, max: $('eps').max, step: $('eps').step },
          alerts: ['alert', 'model-alert'].filter((id) => !$(id).hidden).map((id) => $(id + '-text').textContent),
        };
      };
      const poll = () => {
        const state = read();
        if (state && (${ready})(state)) return resolve(state);
        if (performance.now() - started > ${timeout}) return reject(new Error('timed out; last state ' + JSON.stringify(state)));
        setTimeout(poll, 100);
      };
      poll();
    })`,
  );
}

test('the page gives a verdict in Firefox, and a new one when ε moves', async () => {
  await env.driver.get(`${env.url}?model=mnist`);
  const first = await waitForState(String((s) => s.status === 'ready' && /^test:\d+@/.test(s.result ?? '')));
  assert.equal(first.model, 'mnist');
  assert.ok(first.verdict.length > 0, 'a verdict is shown');
  assert.deepEqual(first.alerts, [], 'no alert');

  // Drag the slider: set its value and fire `input`, as the browser does while dragging.
  const step = Number(first.eps.step);
  const value = Number((Math.round((Number(first.eps.max) * 0.6) / step) * step).toFixed(6));
  await env.driver.executeScript(
    `const eps = document.querySelector('fgsm-demo').shadowRoot.querySelector('#eps');
     eps.value = String(arguments[0]);
     eps.dispatchEvent(new Event('input', { bubbles: true }));`,
    value,
  );
  const moved = await waitForState(`(s) => s.result && s.result !== ${JSON.stringify(first.result)}`);
  assert.equal(Number(moved.eps.value), value);
  assert.equal(moved.result.split('@')[0], first.result.split('@')[0], 'the same digit, at the new ε');
  assert.notEqual(moved.result, first.result);
  assert.match(moved.verdict, new RegExp(`ε = ${moved.result.split('@')[1]}`), `the verdict names the new ε: ${moved.verdict}`);
  assert.deepEqual(moved.alerts, [], 'no alert');
});
