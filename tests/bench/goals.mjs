// The speed goals of the project (issue 11) in one table, from the figures the other benchmark
// scripts of this run wrote to target/bench/: bench.mjs (engines.json), first-verdict.mjs and
// page-steps.mjs. Ratios are ours / onnxruntime-web's on the same file in the same browser.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/browser.mjs';

const read = (name) => {
  const file = join(REPO, 'target', 'bench', name);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
};
const engines = read('engines.json');
const first = read('first-verdict.json');
const steps = read('page-steps.json');

const OURS = 'tract simd128';
const ORT = 'onnxruntime-web';
const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : '–');
const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
const rows = [];
const engineRow = (title, model, key, goal) => {
  const m = engines?.models?.[model];
  if (!m) return rows.push([title, 'not measured in this run', '', '', goal]);
  rows.push([title, ms(m[OURS][key]), ms(m[ORT][key]), ratio(m[OURS][key], m[ORT][key]), goal]);
};
engineRow('EfficientNet-Lite0 forward + gradient', 'efficientnet-lite0', 'gradient', '≤ 0.8×');
engineRow('MNIST CNN forward + gradient', 'mnist', 'gradient', '≤ 1.0×');
// Loads: the same ONNX file on a warm engine in both (each engine's second load). The page loads a
// shipped model from its NNEF file instead, on a cold engine: those rows set that against the same
// onnxruntime-web load.
engineRow('EfficientNet-Lite0 model load', 'efficientnet-lite0', 'load', '≤ 1.0×');
engineRow('MNIST CNN model load', 'mnist', 'load', '≤ 2.0×');
const pageLoadRow = (title, model, goal) => {
  const m = engines?.models?.[model];
  if (!m?.[OURS]?.loadNnef) return rows.push([title, 'not measured in this run', '', '', goal]);
  const [o, r] = [m[OURS], m[ORT]];
  // Cold: a new engine's fetch, compile and first model (onnxruntime-web's first session is of the
  // forward-only copy; ours prepares both plans).
  const cold = o.engine + o.loadColdNnef;
  rows.push([title, `${ms(o.loadNnef)} warm; cold, with the engine: ${ms(cold)}`, `${ms(r.load)} (ONNX, warm); cold: ${ms(r.engineAndLoad)}`, `${ratio(o.loadNnef, r.load)} warm, ${ratio(cold, r.engineAndLoad)} cold`, goal]);
};
pageLoadRow('EfficientNet-Lite0 model load from NNEF (the page)', 'efficientnet-lite0', '');
pageLoadRow('MNIST CNN model load from NNEF (the page)', 'mnist', '');
{
  const e = engines?.models?.['efficientnet-lite0'];
  const ortBudget = e ? e[ORT].gradient + e[ORT].forward : NaN;
  rows.push(['new photo → adversarial verdict on screen', steps ? ms(steps.newPhotoMs) : '–', `${ms(ortBudget)} (its forward+gradient + forward)`, steps ? ratio(steps.newPhotoMs, ortBudget) : '–', '≤ 1.0×']);
}
rows.push(['slider step, EfficientNet-Lite0', steps ? `${steps.sliderForwardPasses} forward + ${steps.sliderGradientPasses} gradient passes (${ms(steps.sliderStepMs)}); ${steps.afterRestForward} forward (the 8-bit check) once it rests` : '–', '', '', '1 forward pass; 8-bit check at rest']);
if (engines?.wasmBrotli) {
  const { ours, ort } = engines.wasmBrotli;
  rows.push(['wasm, brotli', `${(ours / 1e6).toFixed(2)} MB`, `${(ort / 1e6).toFixed(2)} MB`, ratio(ours, ort), '≤ 0.5×']);
}
{
  const e = engines?.models?.['efficientnet-lite0']?.[OURS];
  rows.push(['wasm memory after loading EfficientNet-Lite0', e ? `${(e.memoryAfterLoad / 1e6).toFixed(0)} MB` : '–', '', '', '≤ 60 MB']);
}
rows.push(['first live verdict, 20 Mbit/s + 40 ms, empty cache', first ? `${(first.ms / 1000).toFixed(2)} s, ${(first.bytes / 1e6).toFixed(2)} MB on the wire (${first.shown.model})` : '–', '', '', '≤ 4.0 s, on a photo']);

console.log('\n## Goals (issue 11 and the first visit of issue 8)');
console.log('| measure | ours | onnxruntime-web | ratio | goal |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
