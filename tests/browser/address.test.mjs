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

test('the method and its parameters travel in the address: a copied link reproduces the view', async () => {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  // A link to digit 4 attacked by PGD, 5 steps from seed 7.
  await page.goto(`${env.url}?model=mnist#digit=4&eps=0.2&method=pgd&steps=5&seed=7`);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for="test:3@0.200"][data-method="pgd"]', { timeout: 60_000 });
  await page.waitForSelector('#method-run[data-state="done"]', { timeout: 60_000 });
  assert.equal(await page.inputValue('#method'), 'pgd');
  assert.equal(await page.inputValue('#steps'), '5');
  assert.equal(await page.inputValue('#seed'), '7');
  assert.equal(await page.getAttribute('#method-run', 'data-step'), '5', 'the run took the 5 steps the link asked for');
  const losses = await page.getAttribute('#loss-chart', 'data-losses');
  await page.waitForFunction(() => /method=pgd/.test(location.hash));
  assert.equal(new URL(page.url()).hash, '#digit=4&eps=0.2&method=pgd&steps=5&seed=7', 'written back as it came');

  // The reader changes the method and a parameter: the address follows (α, once set, too).
  await page.selectOption('#method', 'mi-fgsm');
  await page.fill('#momentum', '0.5');
  await page.dispatchEvent('#momentum', 'change');
  await page.fill('#alpha', '0.01');
  await page.dispatchEvent('#alpha', 'change');
  await page.waitForSelector('#results[data-method="mi-fgsm"]');
  await page.waitForSelector('#method-run[data-state="done"]', { timeout: 60_000 });
  await page.waitForFunction(() => /alpha=0\.01/.test(location.hash));
  const link = page.url();
  assert.equal(new URL(link).hash, '#digit=4&eps=0.2&method=mi-fgsm&steps=5&alpha=0.01&momentum=0.5');

  // The link opened afresh gives the same view, and PGD's link the same losses step for step.
  const copy = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await copy.goto(`${env.url}?model=mnist#digit=4&eps=0.2&method=pgd&steps=5&seed=7`);
  await copy.waitForSelector('#method-run[data-state="done"]', { timeout: 120_000 });
  assert.equal(await copy.getAttribute('#loss-chart', 'data-losses'), losses, 'the same PGD run, loss for loss');
  const second = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await second.goto(link);
  await second.waitForSelector('#results[data-method="mi-fgsm"]', { timeout: 120_000 });
  await second.waitForSelector('#method-run[data-state="done"]', { timeout: 60_000 });
  assert.equal(await second.inputValue('#momentum'), '0.5');
  assert.equal(await second.inputValue('#alpha'), '0.01');
  assert.equal(await second.textContent('#verdict'), await page.textContent('#verdict'));
  assert.equal(await second.getAttribute('#loss-chart', 'data-losses'), await page.getAttribute('#loss-chart', 'data-losses'));
  for (const p of [page, copy, second]) {
    await assertClean(p);
    await p.close();
  }
});
