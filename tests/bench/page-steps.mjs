// What a reader waits for once the page is up (`./build.sh bench`): the standalone page on
// EfficientNet-Lite0 in headless Chromium, local files, no network emulation.
// - new photo → verdict: from setting the widget's `image` attribute to a sample photo it has not
//   shown yet (distinct inputs, so no session or cache answers) to its `fgsm-result` event;
// - slider step: ε moved by a hand that holds the slider (tests/support/slider-hand.mjs), the time
//   from the input to the result shown, and the passes through the model it costs in the worker,
//   counted by the engine's own plan-run counters (`planRuns()`); then those spent once the hand
//   lets go and the slider rests (the 8-bit PNG check).
// Prints the figures and writes them to target/bench/page-steps.json for goals.mjs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start } from '../support/browser.mjs';
import { planRuns, passesBetween, holdSlider } from '../support/slider-hand.mjs';

const MODEL = 'efficientnet-lite0';
const samples = JSON.parse(readFileSync(join(REPO, 'models', MODEL, 'model.json'), 'utf8')).samples
  .map((s) => s.file.split('/').pop().replace(/\.[^.]*$/, ''));

const env = await start();
const page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.addInitScript(() => {
  window.__results = [];
  document.addEventListener('fgsm-result', (event) => window.__results.push({ at: performance.now(), detail: event.detail }));
});
await page.goto(`${env.url}?model=${MODEL}`);
await page.waitForFunction(() => window.__results.length > 0, null, { timeout: 120_000 });
const shown = await page.evaluate(() => window.__results[0].detail.image);

/** Sets an attribute of the widget and waits for the result that answers it. → ms */
async function timedChange(name, value, answered) {
  return page.evaluate(async ({ name, value, answered }) => {
    const before = window.__results.length;
    const demo = document.querySelector('fgsm-demo');
    const t = performance.now();
    demo.setAttribute(name, value);
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      const hit = window.__results.slice(before).find((r) => {
        const got = r.detail[answered.key];
        return typeof got === 'number' ? Math.abs(got - answered.value) < 1e-6 : got === answered.value;
      });
      if (hit) return hit.at - t;
    }
  }, { name, value, answered });
}

const newPhoto = [];
for (const sample of samples.filter((s) => s !== shown)) {
  newPhoto.push({ sample, ms: await timedChange('image', sample, { key: 'image', value: sample }) });
}

// Slider: the last photo's own work (its ε sweep, its 8-bit check) done first, then a drag.
await page.waitForFunction(() => {
  const root = document.querySelector('fgsm-demo').shadowRoot;
  return root.querySelector('#sweep-text').dataset.for === root.querySelector('#photo-source').dataset.for &&
    root.querySelector('#fact-png').dataset.state === 'checked';
}, null, { timeout: 120_000 });
const hand = await holdSlider(page);
const steps = [];
for (const k of [1, 2, 3, 5, 6, 7]) {
  const before = await planRuns(page, env.url);
  const { ms } = await hand.step(k);
  steps.push({ ms, ...passesBetween(before, await planRuns(page, env.url)) });
}
const resting = await planRuns(page, env.url);
await hand.release();
await page.waitForTimeout(2000);
const rested = await planRuns(page, env.url);
await env.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const result = {
  newPhotoMs: median(newPhoto.map((r) => r.ms)),
  newPhoto,
  sliderStepMs: median(steps.map((s) => s.ms)),
  sliderForwardPasses: median(steps.map((s) => s.forward)),
  sliderGradientPasses: median(steps.map((s) => s.gradient)),
  afterRestForward: rested.forward - resting.forward,
};
console.log(`\n## The page on ${MODEL} (local files)`);
console.log(`new photo → verdict on screen: median ${result.newPhotoMs.toFixed(0)} ms (${newPhoto.map((r) => `${r.sample} ${r.ms.toFixed(0)}`).join(', ')})`);
console.log(`slider step: median ${result.sliderStepMs.toFixed(0)} ms, ${result.sliderForwardPasses} forward and ${result.sliderGradientPasses} gradient passes per step; ${result.afterRestForward} forward pass${result.afterRestForward === 1 ? '' : 'es'} (the 8-bit check) once the slider rests`);
mkdirSync(join(REPO, 'target', 'bench'), { recursive: true });
writeFileSync(join(REPO, 'target', 'bench', 'page-steps.json'), JSON.stringify(result, null, 2));
