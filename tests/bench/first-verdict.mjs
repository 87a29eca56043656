// A reader's first visit over a real network (`./build.sh bench`, after bench.mjs): the standalone
// page opened with an empty cache in headless Chromium under the devtools protocol's network
// emulation, 20 Mbit/s down, 40 ms latency, served compressed as a static host would. Prints the time
// from navigation to the first live verdict (the widget's first `fgsm-result` event; a poster does
// not count) and the bytes that crossed the wire before it, file by file; writes them to
// target/bench/first-verdict.json for goals.mjs. Asserts nothing about time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start } from '../support/browser.mjs';

const RUNS = Number(process.env.FIRST_VERDICT_RUNS ?? 3);
const LINK = { label: '20 Mbit/s, 40 ms', downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8, latency: 40 };

/** One visit in a fresh context (an empty cache). → {ms, detail, files: [{url, bytes, start, end}]} (times from navigation, ms) */
async function visit(env, path) {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Recorded from the page's own clock, which starts at navigation.
  await context.addInitScript(() => {
    document.addEventListener('fgsm-result', (event) => {
      window.__firstVerdict ??= { ms: performance.now(), detail: event.detail };
    });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, ...LINK });
  // Through playwright rather than this CDP session, which does not see the worker's requests.
  const files = [];
  context.on('requestfinished', async (request) => {
    const at = Date.now();
    const sizes = await request.sizes().catch(() => null);
    // timing(): startTime in epoch ms, the rest in ms after it.
    const { startTime, responseEnd } = request.timing();
    if (sizes) files.push({ url: request.url(), bytes: sizes.responseBodySize + sizes.responseHeadersSize, at, startTime, responseEnd });
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${env.url}${path}`);
  await page.waitForFunction(() => window.__firstVerdict, null, { timeout: 120_000 });
  const first = await page.evaluate(() => ({
    ms: window.__firstVerdict.ms,
    origin: performance.timeOrigin,
    // What the worker measured: the model's preparation in wasm.
    prepareMs: Number(document.querySelector('fgsm-demo').shadowRoot.querySelector('#status').dataset.prepareMs),
    detail: { ...window.__firstVerdict.detail, image: undefined },
  }));
  const doneAt = Date.now();
  await context.close();
  if (errors.length) console.error(`page errors: ${errors.join('; ')}`);
  const timed = files.filter((f) => f.at <= doneAt).map(({ url, bytes, startTime, responseEnd }) => ({
    url,
    bytes,
    start: startTime - first.origin,
    end: startTime - first.origin + responseEnd,
  }));
  return { ms: first.ms, prepareMs: first.prepareMs, detail: first.detail, files: timed };
}

// FIRST_VERDICT_SITE: another built site to serve (to compare two builds back to back).
const env = await start({ root: process.env.FIRST_VERDICT_SITE });
const path = process.env.FIRST_VERDICT_PATH ?? '';
console.log(`\n## First visit: time to the first live verdict at ${LINK.label}, empty cache, served compressed (${RUNS} runs)`);
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await visit(env, path));
runs.sort((a, b) => a.ms - b.ms);
const median = runs[RUNS >> 1];
const d = median.detail;
console.log(`first live verdict: median ${(median.ms / 1000).toFixed(2)} s (runs: ${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')} s); goal ≤ 4.00 s`);
console.log(`it showed: ${d.model}, ${d.labelName} → ${d.adversarialName} at ε = ${d.eps}, ${d.fooled ? 'fooled' : 'not fooled'}`);
const total = median.files.reduce((s, f) => s + f.bytes, 0);
console.log(`bytes on the wire before it: ${(total / 1e6).toFixed(2)} MB in ${median.files.length} responses; the largest:`);
for (const f of [...median.files].sort((a, b) => b.bytes - a.bytes).slice(0, 5)) {
  console.log(`  ${(f.bytes / 1e6).toFixed(3).padStart(7)} MB  ${new URL(f.url).pathname}`);
}
const model = median.files.find((f) => /\/models\/[^/]+\/model\.(onnx|nnef\.tar)$/.test(f.url));
if (model) {
  console.log(`its model: asked for at ${(model.start / 1000).toFixed(2)} s, last byte at ${(model.end / 1000).toFixed(2)} s, prepared in ${(median.prepareMs / 1000).toFixed(2)} s; then ${((median.ms - model.end - median.prepareMs) / 1000).toFixed(2)} s to the verdict`);
}
// The median run's requests in the order they started: what waited for what.
console.log('its requests (s from navigation: start → end, kB on the wire):');
for (const f of [...median.files].sort((a, b) => a.start - b.start)) {
  console.log(`  ${(f.start / 1000).toFixed(2).padStart(5)} → ${(f.end / 1000).toFixed(2).padStart(5)}  ${(f.bytes / 1e3).toFixed(1).padStart(7)}  ${new URL(f.url).pathname}`);
}
await env.close();
mkdirSync(join(REPO, 'target', 'bench'), { recursive: true });
writeFileSync(join(REPO, 'target', 'bench', 'first-verdict.json'), JSON.stringify({ link: LINK, ms: median.ms, runs: runs.map((r) => r.ms), shown: d, bytes: total }, null, 2));
