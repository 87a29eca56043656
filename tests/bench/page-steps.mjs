// What a reader waits for once the page is up (`./build.sh bench`): the standalone page on
// EfficientNet-Lite0 in headless Chromium, local files, no network emulation.
// - new photo → verdict: from setting the widget's `image` attribute to a sample photo it has not
//   shown yet (distinct inputs, so no session or cache answers) to its `fgsm-result` event;
// - slider step: the passes through the model one ε change costs in the worker, counted by the
//   engine's own plan-run counters (`planRuns()`), and those spent after the slider rests.
// Prints the figures and writes them to target/bench/page-steps.json for goals.mjs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start } from '../support/browser.mjs';

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

// Slider: the engine's counters are read in the worker, through the same glue module it imported.
const worker = page.workers()[0];
const planRuns = () => worker.evaluate(async (glue) => (await import(glue)).planRuns(), `${env.url}pkg/fgsm_wasm.js`);
const steps = [];
for (const k of [1, 2, 3, 4, 5, 6]) {
  const before = await planRuns();
  const ms = await timedChange('eps', String(k / 255), { key: 'eps', value: k / 255 });
  const after = await planRuns();
  steps.push({ ms, forward: after.forward - before.forward, gradient: after.gradient - before.gradient });
}
const resting = await planRuns();
await page.waitForTimeout(2000);
const rested = await planRuns();
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
console.log(`slider step: median ${result.sliderStepMs.toFixed(0)} ms, ${result.sliderForwardPasses} forward and ${result.sliderGradientPasses} gradient passes per step; ${result.afterRestForward} forward passes once the slider rests`);
mkdirSync(join(REPO, 'target', 'bench'), { recursive: true });
writeFileSync(join(REPO, 'target', 'bench', 'page-steps.json'), JSON.stringify(result, null, 2));
