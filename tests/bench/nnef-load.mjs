// Load time of each shipped model in the wasm engine from its ONNX file and from its NNEF tar
// (`fgsm nnef`), A and B in turns, each load in a fresh browser context, in headless Chromium.
// Checks that both give the same logits and input gradient. Needs site/ built and the tars in
// target/nnef/<model>.nnef.tar, or site/models/<model>/model.nnef.tar once the site ships them.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { REPO, start } from '../support/browser.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MODELS = (process.env.BENCH_MODELS ?? 'efficientnet-lite0,mnist').split(',');
const tarOf = (name) => (existsSync(join(REPO, 'site', 'models', name, 'model.nnef.tar'))
  ? `/site/models/${name}/model.nnef.tar` : `/target/nnef/${name}.nnef.tar`);

async function load({ name, way, file, compare }) {
  const wasm = await import('/site/pkg/fgsm_wasm.js');
  await wasm.default({ module_or_path: '/site/pkg/fgsm_wasm_bg.wasm' });
  const bytes = new Uint8Array(await (await fetch(file)).arrayBuffer());
  const t = performance.now();
  const model = way === 'onnx' ? new wasm.Model(bytes) : wasm.Model.fromNnef(bytes);
  const ms = performance.now() - t;
  const stages = model.loadStages.map(({ stage, ms }) => [stage, ms]);
  let answers = null;
  if (compare) {
    const n = model.inputShape.reduce((a, b) => a * b);
    const image = Float32Array.from({ length: n }, (_, i) => ((i * 7) % 17) / 17);
    const probs = model.predict(image);
    const { grad, loss } = model.inputGradient(image, 1);
    answers = { probs: [...probs], grad: [...grad], loss };
  }
  return { ms, stages, memoryBytes: wasm.memoryBytes(), answers };
}

const env = await start({ root: REPO, isolated: true });
const url = `${env.url}tests/bench/bench.html`;
console.log(`Chromium ${env.browser.version()}; ${RUNS} loads each way, in turns; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const summary = {};
for (const name of MODELS) {
  const files = { onnx: `/models/${name}/model.onnx`, nnef: tarOf(name) };
  const times = { onnx: [], nnef: [] };
  const stageTimes = { onnx: {}, nnef: {} };
  const answers = {};
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 ? ['nnef', 'onnx'] : ['onnx', 'nnef'];
    for (const way of order) {
      const context = await env.browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await page.goto(url);
      const r = await page.evaluate(load, { name, way, file: files[way], compare: run === 0 });
      await context.close();
      times[way].push(r.ms);
      for (const [stage, ms] of r.stages) (stageTimes[way][stage] ??= []).push(ms);
      if (r.answers) answers[way] = r.answers;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  const same = {
    probs: maxDiff(answers.onnx.probs, answers.nnef.probs),
    grad: maxDiff(answers.onnx.grad, answers.nnef.grad),
    loss: Math.abs(answers.onnx.loss - answers.nnef.loss),
  };
  summary[name] = { times, stageTimes, same };
  console.log(`${name} (${files.nnef}):`);
  for (const way of ['onnx', 'nnef']) {
    const stages = Object.entries(stageTimes[way]).map(([s, ms]) => `${s} ${median(ms).toFixed(0)}`).join(', ');
    console.log(`  ${way}: median ${median(times[way]).toFixed(0)} ms [${times[way].map((t) => t.toFixed(0)).join(' ')}] (${stages})`);
  }
  console.log(`  nnef/onnx: ${(median(times.nnef) / median(times.onnx)).toFixed(2)}; same answers: max |Δ| probs ${same.probs}, grad ${same.grad}, loss ${same.loss}`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
mkdirSync(join(REPO, 'target', 'bench'), { recursive: true });
writeFileSync(join(REPO, 'target', 'bench', 'nnef-load.json'), JSON.stringify(summary, null, 1));
await env.close();
