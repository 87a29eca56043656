// The robustness panel: error against ε over the shipped held-out digits, measured here for FGSM
// and for random ±ε noise. One set of figures: those measured here (the model card's, measured by
// PyTorch when the model was made, stay in the details).
import { measureRobustness } from './robustness-run.js';
import { SCALES } from './eps-scale.js';
import { percent } from './format.js';

/** FGSM and noise error against ε over all test digits, in the worker, between the reader's own requests. */
export async function runRobustness(v) {
  const { state, $ } = v;
  const token = v.tokens.begin('robustness');
  const digits = state.digits;
  const model = state.model;
  $('live').hidden = !digits || model.kind !== 'digits' || !v.has('robustness');
  if ($('live').hidden) return;
  const metrics = model.card?.metrics;
  const max = SCALES.digits.max;
  const cardEps = Object.keys(metrics?.fgsm_error ?? {}).map(Number).filter((e) => e > 0 && e <= max);
  const grid = Array.from({ length: 11 }, (_, i) => (i * max) / 10);
  const epsilons = [...new Set([...grid, ...cardEps].map((e) => Math.round(e * 1000) / 1000))].sort((a, b) => a - b);

  $('live-title').textContent = `Error against ε on the ${digits.count} shipped test digits, measured here, in your browser`;
  const caveat = model.custom ? ' These digits are MNIST’s: the figures mean something only if your model reads MNIST digits as 0–9.' : '';
  $('live-figures').replaceChildren();
  delete $('live').dataset.state;
  v.robustnessChart.show(null);
  const started = performance.now();
  try {
    const call = (op, args, options) => v.engine.client.call(op, { ...args, model: model.key }, options);
    const r = await measureRobustness(call, digits, epsilons, {
      onProgress: (partial) => {
        if (!token.current) return;
        $('live-text').textContent = `Attacking every digit at ${epsilons.length} values of ε… ${partial.done} of ${partial.count}`;
        v.robustnessChart.show({ eps: epsilons, error: partial.error, noiseError: partial.noiseError });
      },
      cancelled: () => !token.current,
      pause: () => v.quiet(),
    });
    if (!r || !token.current) return;
    const secs = (performance.now() - started) / 1000;
    const rows = [['Accuracy on clean digits', r.accuracy]];
    for (const e of cardEps) rows.push([`FGSM error at ε = ${e}`, r.error[epsilons.indexOf(e)]]);
    for (const e of cardEps) rows.push([`Random ±ε noise, error at ε = ${e}`, r.noiseError[epsilons.indexOf(e)]]);
    $('live-figures').replaceChildren(figuresTable(rows));
    v.robustnessChart.show({ eps: epsilons, error: r.error, noiseError: r.noiseError });
    $('live-text').textContent =
      `Solid line: share of the ${r.count} digits misread after one FGSM step at each ε (y = the model’s own prediction); ` +
      `dashed: after random ±ε noise of the same size. ${(2 * epsilons.length * r.count).toLocaleString('en')} attacks in ${secs.toFixed(1)} s, here.${caveat}`;
    $('live').dataset.state = 'done';
  } catch (e) {
    if (token.current) $('live-text').textContent = `Could not measure: ${e.message}`;
  }
}

/** A table of [name, measured here] rows, as percentages. */
function figuresTable(rows) {
  const row = (cells, header = false) => {
    const tr = document.createElement('tr');
    cells.forEach((cell, i) => {
      const td = document.createElement(header || i === 0 ? 'th' : 'td');
      if (header || i === 0) td.scope = header ? 'col' : 'row';
      td.textContent = typeof cell === 'number' ? percent(cell) : (cell ?? '');
      if (typeof cell === 'number') td.dataset.value = String(cell);
      tr.append(td);
    });
    return tr;
  };
  const head = document.createElement('thead');
  head.append(row(['', 'measured here'], true));
  const body = document.createElement('tbody');
  for (const [name, here] of rows) body.append(row([name, here]));
  const fragment = document.createDocumentFragment();
  fragment.append(head, body);
  return fragment;
}
