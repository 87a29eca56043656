// Browser benchmark (`./build.sh bench`): the same ONNX files in our tract wasm
// and in onnxruntime-web (wasm backend, one thread), in one headless Chromium, on a page served
// with cross-origin isolation so performance.now() is precise. Prints medians and ratios; asserts
// nothing about time. Needs site/ built and target/native/fgsm (the CLI) for forward-only copies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { REPO, start } from '../support/browser.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
/** Loads of each model file on a warm engine, for the median load time. */
const LOADS = Number(process.env.BENCH_LOADS ?? 5);
const ORT_DIST = '/node_modules/onnxruntime-web/dist/';
const VARIANTS = [['tract simd128', 'fgsm_wasm_bg.wasm']];

const models = readdirSync(join(REPO, 'models'))
  .filter((name) => existsSync(join(REPO, 'models', name, 'model.json')))
  .filter((name) => !process.env.BENCH_MODELS || process.env.BENCH_MODELS.split(',').includes(name));

// onnxruntime computes every node of the graph it is given, so its forward pass gets a copy of the
// model without the gradient graph, as our forward plan has.
mkdirSync(join(REPO, 'target', 'bench'), { recursive: true });
for (const name of models) {
  execFileSync(join(REPO, 'target', 'native', 'fgsm'), [
    'forward-only', '--model', `models/${name}/model.onnx`, '--out', `target/bench/${name}-forward.onnx`,
  ], { cwd: REPO, stdio: 'ignore' });
}

async function tract({ variant, name, runs, LOADS }) {
  const now = () => performance.now();
  let t = now();
  const wasm = await import('/site/pkg/fgsm_wasm.js');
  await wasm.default({ module_or_path: `/site/pkg/${variant}` });
  const engine = now() - t;
  const bytes = new Uint8Array(await (await fetch(`/models/${name}/model.onnx`)).arrayBuffer());
  const nnef = new Uint8Array(await (await fetch(`/site/models/${name}/model.nnef.tar`)).arrayBuffer());
  // The first load runs on a cold engine: the browser compiles each function on its first call
  // and optimises it only once it has run a while. It is from the NNEF file, as the page loads a
  // shipped model, so the memory after it is what a reader's engine has.
  t = now();
  const first = wasm.Model.fromNnef(nnef);
  const loadColdNnef = now() - t;
  const memoryAfterLoad = first.loadStages.at(-1).memoryBytes;
  const coldStages = first.loadStages;
  first.free();
  // Then the same ONNX file as onnxruntime-web's session, and the NNEF file, on the warm engine:
  // the medians of LOADS loads each (the first ones still run partly in the browser's baseline
  // tier, as onnxruntime-web's do; its figure is measured the same way).
  const loadMedian = (make) => {
    const times = Array.from({ length: LOADS }, () => {
      const s = now();
      const made = make();
      const ms = now() - s;
      made.free(); // not timed, as onnxruntime-web's release() is not
      return ms;
    });
    return times.sort((a, b) => a - b)[LOADS >> 1];
  };
  const load = loadMedian(() => new wasm.Model(bytes));
  const loadNnef = loadMedian(() => wasm.Model.fromNnef(nnef));
  const model = new wasm.Model(bytes);
  const loadStages = model.loadStages;
  const n = model.inputShape.reduce((a, b) => a * b);
  // Four images: the forward pass uses two that never have their gradient taken (the model
  // remembers the last such image and would answer from memory), the gradient two in turn.
  const images = [3, 7, 5, 11].map((k) => Float32Array.from({ length: n }, (_, i) => ((i * k) % 17) / 17));
  const time = (f) => { const s = now(); f(); return now() - s; };
  const median = (f) => {
    // Warm: the browser moves a function to its optimising tier only after it has run a while, in
    // the background; at least 10 calls and half a second, for both engines alike.
    for (let i = 0, s = now(); i < 10 || now() - s < 500; i++) f(i);
    const times = Array.from({ length: runs }, (_, i) => time(() => f(i))).sort((a, b) => a - b);
    return times[runs >> 1];
  };
  const firstForward = time(() => model.predict(images[2]));
  const firstGradient = time(() => model.inputGradient(images[0], 1));
  const forward = median((i) => model.predict(images[2 + (i % 2)]));
  const gradient = median((i) => model.inputGradient(images[i % 2], 1));
  const fgsmNew = median((i) => model.fgsm(images[i % 2], 0.01));
  const fgsmSlider = median((i) => model.fgsm(images[0], 0.001 * (i % 50)));
  const probs = model.predict(images[0]);
  const { grad } = model.inputGradient(images[0], 1);
  return { engine, load, loadColdNnef, loadNnef, loadStages, coldStages, memoryAfterLoad, memoryAfterRuns: wasm.memoryBytes(), firstForward, firstGradient, forward, gradient, fgsmNew, fgsmSlider, probs: [...probs], grad: [...grad] };
}

async function onnxruntime({ name, runs, dist, dims, LOADS }) {
  const now = () => performance.now();
  let t = now();
  const ort = await import(`${dist}ort.wasm.min.mjs`);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = dist;
  const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  // The first session also fetches and compiles ort's wasm: the forward-only copy. Then the file
  // with the gradient graph, the one ours loads, on the warm engine (fetched first, as ours is).
  const forwardOnly = await ort.InferenceSession.create(`/target/bench/${name}-forward.onnx`, options);
  const engineAndLoad = now() - t;
  const bytes = new Uint8Array(await (await fetch(`/models/${name}/model.onnx`)).arrayBuffer());
  const times = [];
  for (let i = 0; i < LOADS; i++) {
    t = now();
    const session = await ort.InferenceSession.create(bytes, options);
    times.push(now() - t);
    await session.release();
  }
  const load = times.sort((a, b) => a - b)[LOADS >> 1];
  const full = await ort.InferenceSession.create(bytes, options);
  const n = dims.reduce((a, b) => a * b);
  const images = [3, 7].map((k) => Float32Array.from({ length: n }, (_, i) => ((i * k) % 17) / 17));
  const image = (i) => new ort.Tensor('float32', images[i % 2], dims);
  const label = new ort.Tensor('int64', BigInt64Array.from([1n]), [1]);
  const time = async (f) => { const s = now(); await f(); return now() - s; };
  const median = async (f) => {
    for (let i = 0, s = now(); i < 10 || now() - s < 500; i++) await f(i);
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await time(() => f(i)));
    return times.sort((a, b) => a - b)[runs >> 1];
  };
  const firstForward = await time(() => forwardOnly.run({ image: image(0) }));
  const firstGradient = await time(() => full.run({ image: image(0), label }));
  const forward = await median((i) => forwardOnly.run({ image: image(i) }));
  const gradient = await median((i) => full.run({ image: image(i), label }));
  const out = await full.run({ image: image(0), label });
  const logits = [...out.logits.data];
  const max = Math.max(...logits);
  const exp = logits.map((z) => Math.exp(z - max));
  const sum = exp.reduce((a, b) => a + b);
  return { engine: NaN, load, engineAndLoad, firstForward, firstGradient, forward, gradient, probs: exp.map((e) => e / sum), grad: [...out.input_grad.data] };
}

function sizes(file) {
  const bytes = readFileSync(file);
  const mb = (n) => (n / 1e6).toFixed(2);
  return {
    raw: bytes.length,
    text: `${mb(bytes.length)} / ${mb(gzipSync(bytes, { level: 9 }).length)} / ${mb(brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length)}`,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const env = await start({ root: REPO, isolated: true });
const url = `${env.url}tests/bench/bench.html`;
const fresh = async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  if (!(await page.evaluate(() => crossOriginIsolated))) console.error('warning: page is not cross-origin isolated; timers are coarse');
  return { page, context };
};

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 1 ? 3 : 1) : '–');
const chromium = env.browser.version();
console.log(`Chromium ${chromium}; ${RUNS} timed runs each after warm-up runs (at least 10 and 0.5 s); medians in ms (single thread)`);
const summary = { chromium, runs: RUNS, models: {} };
for (const name of models) {
  const results = {};
  for (const [label, variant] of VARIANTS) {
    const { page, context } = await fresh();
    results[label] = await page.evaluate(tract, { variant, name, runs: RUNS, LOADS });
    await context.close();
  }
  {
    const { page, context } = await fresh();
    const dims = JSON.parse(readFileSync(join(REPO, 'models', name, 'model.json'), 'utf8')).input.shape;
    results['onnxruntime-web'] = await page.evaluate(onnxruntime, { name, runs: RUNS, dist: ORT_DIST, dims, LOADS });
    await context.close();
  }
  const ort = results['onnxruntime-web'];
  summary.models[name] = Object.fromEntries(Object.entries(results).map(([engine, r]) => [engine, { ...r, probs: undefined, grad: undefined }]));
  const best = 'tract simd128';
  const ours = results[best];
  const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const gradScale = ort.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  console.log(`\n## ${name}  (ONNX ${(readFileSync(join(REPO, 'models', name, 'model.onnx')).length / 1e6).toFixed(2)} MB)`);
  const rows = [
    ['engine fetch + compile', 'engine'],
    ['model load, the ONNX file, warm engine (median)', 'load'],
    ['model load from NNEF, cold engine (the page)', 'loadColdNnef'],
    ['model load from NNEF, warm engine (median)', 'loadNnef'],
    ['first forward', 'firstForward'],
    ['first forward+gradient', 'firstGradient'],
    ['forward', 'forward'],
    ['forward+gradient', 'gradient'],
    ['fgsm, new image', 'fgsmNew'],
    ['fgsm, slider (same image)', 'fgsmSlider'],
  ];
  const cols = [...VARIANTS.map(([l]) => l), 'onnxruntime-web'];
  console.log(`| ${['ms', ...cols, `ratio ${best.replace('tract ', '')} / ort`].join(' | ')} |`);
  console.log(`|${' --- |'.repeat(cols.length + 2)}`);
  for (const [title, key] of rows) {
    const ratio = ours[key] / ort[key];
    console.log(`| ${[title, ...cols.map((c) => fmt(results[c][key])), Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–'].join(' | ')} |`);
  }
  console.log(`cold, the first model on a new engine: onnxruntime-web engine + forward-only session ${fmt(ort.engineAndLoad)} ms; ours engine + the NNEF file, both plans ${fmt(ours.engine + ours.loadColdNnef)} ms`);
  const stages = (list) => list.map((s) => `${s.stage} ${fmt(s.ms)} (${(s.memoryBytes / 1e6).toFixed(0)} MB)`).join(' → ');
  console.log(`load stages, ms (then the wasm memory after each), from NNEF on the new engine: ${stages(ours.coldStages)}`);
  console.log(`  from ONNX, warm (the memory had grown already): ${stages(ours.loadStages)}`);
  console.log(`wasm memory: ${(ours.memoryAfterLoad / 1e6).toFixed(1)} MB after the load, ${(ours.memoryAfterRuns / 1e6).toFixed(1)} MB after the timed runs (the file is ${(readFileSync(join(REPO, 'models', name, 'model.onnx')).length / 1e6).toFixed(1)} MB)`);
  console.log(`agreement tract vs onnxruntime-web: max |Δp| ${maxDiff(ours.probs, ort.probs).toExponential(1)}, max |Δgrad| / max |grad| ${(maxDiff(ours.grad, ort.grad) / gradScale).toExponential(1)}`);
}

const ortWasm = sizes(join(REPO, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'));
console.log('\n## wasm size, MB raw / gzip -9 / brotli q11');
for (const [label, variant] of VARIANTS) {
  const s = sizes(join(REPO, 'site', 'pkg', variant));
  console.log(`${label.padEnd(20)} ${s.text}   (brotli ${(s.brotli / ortWasm.brotli).toFixed(2)}× onnxruntime-web's)`);
}
console.log(`${'onnxruntime-web'.padEnd(20)} ${ortWasm.text}   (ort-wasm-simd-threaded.wasm)`);
summary.wasmBrotli = { ours: sizes(join(REPO, 'site', 'pkg', VARIANTS[0][1])).brotli, ort: ortWasm.brotli };
writeFileSync(join(REPO, 'target', 'bench', 'engines.json'), JSON.stringify(summary, null, 2));
await env.close();
