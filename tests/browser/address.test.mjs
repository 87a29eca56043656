// The page's address follows the view without flooding the history API: Safari refuses more than
// 100 replaceState calls in 30 s, and a dragged slider gives a result every few milliseconds, so
// page.js writes the address only once the results pause.
//
//   node --test tests/browser/address.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, assertClean } from '../support/browser.mjs';

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

test('dragging the slider writes the address a few times, and it ends on the last ε', async () => {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await page.addInitScript(() => {
    window.__addressWrites = 0;
    const replaceState = history.replaceState.bind(history);
    history.replaceState = (...args) => {
      window.__addressWrites++;
      return replaceState(...args);
    };
    window.__results = 0;
    document.addEventListener('fgsm-result', () => window.__results++);
  });
  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  await page.waitForTimeout(500);
  const before = await page.evaluate(() => ({ writes: window.__addressWrites, results: window.__results }));

  // 40 slider steps, 20 ms apart, in the page, as a dragging hand gives them.
  await page.evaluate(async () => {
    const slider = document.querySelector('fgsm-demo').shadowRoot.getElementById('eps');
    for (let i = 1; i <= 40; i++) {
      slider.value = String(0.005 * i);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  await page.waitForSelector('#results[data-for$="@0.200"]');
  await page.waitForTimeout(600);
  const afterDrag = await page.evaluate(() => ({ writes: window.__addressWrites, results: window.__results }));
  const results = afterDrag.results - before.results;
  const writes = afterDrag.writes - before.writes;
  assert.ok(results >= 5, `the drag gave results (${results})`);
  assert.ok(writes >= 1 && writes <= 3, `${writes} address writes for ${results} results`);
  assert.match(new URL(page.url()).hash, /eps=0\.2(&|$)/, 'the address ends on the last ε');
  await assertClean(page);
  await page.close();
});
