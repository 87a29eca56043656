// The page's attack methods (issue 12): the paper's models in the model picker, the method menu
// (FGSM, FGM, BIM, PGD, MI-FGSM, random noise), iterative attacks with progress and Cancel, and
// the chart of loss per step.
//
//   node --test tests/browser/methods.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, screenshotPath, assertClean } from '../support/browser.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

async function openPage(path = '?model=mnist', options = { viewport: DESKTOP }) {
  const page = await newPage(env.browser, env.url, options);
  await page.goto(env.url + path);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  return page;
}

test('the paper’s two digit models are in the picker and attack a test digit', async () => {
  for (const name of ['mnist-softmax', 'mnist-adversarial']) {
    const page = await openPage(`?model=${name}`);
    const options = await page.$$eval('#model-select option', (os) => os.map((o) => o.value));
    assert.ok(options.includes(name), `${name} is offered in the model picker`);
    assert.equal(await page.inputValue('#model-select'), name);
    assert.match((await page.textContent('#original-pred')).trim(), /^\d$/, `${name} reads a test digit`);
    assertClean(page);
    await page.close();
  }
});
