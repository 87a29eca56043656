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

const text = async (page, selector) => (await page.textContent(selector)).trim();
const visible = (page, param) => page.isVisible(`#method-params label[data-param="${param}"]`);

/** Picks `method` in the menu and waits for its finished result on the current image. */
async function choose(page, method) {
  await page.selectOption('#method', method);
  await page.waitForSelector(`#results[data-method="${method}"]`);
}

/** Waits until the iterative run has ended ('done' or 'cancelled'). */
const ended = (page, state = 'done') => page.waitForSelector(`#method-run[data-state="${state}"]`, { timeout: 60_000 });

/** Polls `check` (an async function of the page) until it is true. */
async function until(page, check, what, timeout = 60_000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    assert.ok(Date.now() < end, `waited ${timeout / 1000} s for ${what}`);
    await page.waitForTimeout(50);
  }
}
const runState = async (page) => ({
  state: await page.getAttribute('#method-run', 'data-state'),
  step: Number(await page.getAttribute('#method-run', 'data-step')),
  losses: await page.getAttribute('#loss-chart', 'data-losses'),
});

async function setNumber(page, id, value) {
  await page.fill(`#${id}`, String(value));
  await page.dispatchEvent(`#${id}`, 'change');
}

test('PGD shows its parameters, runs step by step to the last step, and draws the loss of each step', async () => {
  const page = await openPage();
  // FGSM: no parameters, no progress.
  assert.equal(await page.isVisible('#method-params'), false);
  assert.equal(await page.isVisible('#method-run'), false);
  await page.selectOption('#method', 'pgd');
  for (const p of ['steps', 'alpha', 'seed']) assert.ok(await visible(page, p), `PGD shows ${p}`);
  assert.equal(await visible(page, 'momentum'), false, 'PGD has no momentum');
  await page.waitForSelector('#results[data-method="pgd"]');
  await ended(page);
  assert.equal(await page.getAttribute('#method-run', 'data-step'), '10');
  assert.equal(await page.inputValue('#steps'), '10');
  assert.match(await text(page, '#method-progress-text'), /^Done: 10 steps of PGD/);
  assert.equal(await page.getAttribute('#method-progress', 'value'), '10');
  // One point per step, plus the start.
  assert.equal(await page.getAttribute('#loss-chart', 'data-points'), '11');
  const losses = (await page.getAttribute('#loss-chart', 'data-losses')).split(' ').map(Number);
  assert.equal(losses.length, 11);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses.at(-1) > losses[0], `untargeted PGD raises the loss of the model's answer (${losses[0]} → ${losses.at(-1)})`);
  assert.match(await text(page, '#verdict'), / by PGD/);
  assert.match(await text(page, '#attack-title'), /^PGD: 10 steps$/);

  // MI-FGSM shows μ and no seed; BIM neither; noise only its seed.
  await page.selectOption('#method', 'mi-fgsm');
  assert.ok(await visible(page, 'momentum'));
  assert.equal(await visible(page, 'seed'), false);
  await page.selectOption('#method', 'noise');
  assert.ok(await visible(page, 'seed'));
  assert.equal(await visible(page, 'steps'), false);
  assert.equal(await page.isVisible('#method-run'), false, 'noise is one draw: no progress bar');
  assertClean(page);
  await page.close();
});

test('PGD with the same seed repeats exactly; another seed starts elsewhere', async () => {
  const page = await openPage();
  await page.locator('#eps').fill('0.1');
  await choose(page, 'pgd');
  await ended(page);
  const first = { losses: await page.getAttribute('#loss-chart', 'data-losses'), adversarial: await page.getAttribute('#results', 'data-adversarial') };
  await setNumber(page, 'seed', 1);
  await until(page, async () => { const r = await runState(page); return r.state === 'done' && r.losses !== first.losses; }, 'the run with seed 1');
  assert.notEqual(await page.getAttribute('#loss-chart', 'data-losses'), first.losses, 'seed 1 starts from another random point');
  await setNumber(page, 'seed', 0);
  await until(page, async () => { const r = await runState(page); return r.state === 'done' && r.losses === first.losses; }, 'seed 0 to give the first run’s losses again');
  assert.equal(await page.getAttribute('#results', 'data-adversarial'), first.adversarial, 'the same seed gives the same adversarial class');
  assertClean(page);
  await page.close();
});

test('Cancel stops an iterative attack, and moving the slider restarts it at the new ε', async () => {
  const page = await openPage();
  await page.selectOption('#method', 'bim');
  await setNumber(page, 'steps', 1000);
  await until(page, async () => { const r = await runState(page); return r.state === 'running' && r.step >= 3; }, 'step 3 of the run');
  // The slider cancels the running attack and starts one at the new ε.
  await page.locator('#eps').fill('0.1');
  await until(page, async () => (await page.getAttribute('#method-progress', 'max')) === '1000' && (await runState(page)).state === 'running' && Number(await page.getAttribute('#method-progress', 'value')) >= 3 && (await page.getAttribute('#method-run', 'data-eps')) === '0.100', 'the new run at ε = 0.1');
  await page.click('#method-cancel');
  await ended(page, 'cancelled');
  const step = Number(await page.getAttribute('#method-run', 'data-step'));
  assert.ok(step >= 3 && step < 1000, `stopped after step ${step} of 1000`);
  assert.match(await text(page, '#method-progress-text'), new RegExp(`^Cancelled after step ${step} of 1000`));
  assert.match(await page.getAttribute('#results', 'data-for'), /@0\.100$/, 'the result shown is the new ε’s');
  assert.equal(await page.getAttribute('#loss-chart', 'data-points'), String(step + 1));
  assert.equal(await page.isVisible('#alert'), false, 'a cancel is no error');
  assertClean(page);
  await page.close();
});

test('targeted BIM lowers the target’s loss; random noise is judged by verdict.js', async () => {
  const { verdict } = await import('../../www/ui/verdict.js');
  const page = await openPage();
  await page.fill('#target', '3');
  await page.press('#target', 'Enter');
  await page.waitForSelector('#results[data-target="3"]');
  await choose(page, 'bim');
  await ended(page);
  const losses = (await page.getAttribute('#loss-chart', 'data-losses')).split(' ').map(Number);
  assert.ok(losses.at(-1) < losses[0], `the target's loss falls (${losses[0]} → ${losses.at(-1)})`);
  assert.match(await text(page, '#loss-caption'), /the target “3”.*wants it to fall/);

  await page.click('#target-chip-clear');
  await page.locator('#eps').fill('0.3');
  await choose(page, 'noise');
  await page.waitForSelector('#results[data-for$="@0.300"][data-method="noise"]');
  const label = Number(await page.getAttribute('#results', 'data-original'));
  const adversarial = Number(await page.getAttribute('#results', 'data-adversarial'));
  const stillProb = (await text(page, '#verdict')).match(/\(([^)]*)\)$/)?.[1] ?? '';
  const expected = verdict({ label, adversarial, target: null, eps: 0.3, name: String, epsText: '0.300', stillProb, how: ' by random noise' });
  assert.equal(await text(page, '#verdict'), expected.text);
  assert.equal(await page.getAttribute('#verdict', 'data-fooled'), String(expected.fooled));
  assertClean(page);
  await page.close();
});

test('screenshots: the method menu and a PGD run on a laptop and a phone', async () => {
  for (const [name, viewport] of [['1280', DESKTOP], ['390', PHONE]]) {
    const page = await openPage('?model=mnist', { viewport });
    await page.locator('#eps').fill('0.1');
    await choose(page, 'pgd');
    await ended(page);
    await page.locator('#method-box').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath(`methods-pgd-${name}.png`), fullPage: false });
    await page.locator('#method-box').screenshot({ path: screenshotPath(`methods-box-${name}.png`) });
    assertClean(page);
    await page.close();
  }
});
