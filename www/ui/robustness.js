// The robustness panel: error against ε over the shipped held-out digits, measured here for FGSM,
// PGD and random ±ε noise, as a chart and as a table under it. One set of figures: those measured
// here (the model card's, measured by PyTorch when the model was made, stay in the details).
import { measureRobustness, PGD_RUN } from './robustness-run.js';
import { SCALES } from './eps-scale.js';
import { percent } from './format.js';

/** The ε of the table's rows (each also a point of the chart): the README's, and the slider's end. */
const TABLE_EPS = [0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5];

/** Rounds ε to the thousandth, so that lists of ε compare and look up by value. */
const round = (e) => Math.round(e * 1000) / 1000;

/**
 * FGSM and noise error against ε over all test digits, then PGD over the first PGD_RUN.digits, in
 * the worker, between the reader's own requests.
 */
export async function runRobustness(v) {
  const { state, $ } = v;
  const token = v.tokens.begin('robustness');
  const digits = state.digits;
  const model = state.model;
  $('live').hidden = !digits || model.kind !== 'digits' || !v.has('robustness');
  if ($('live').hidden) return;
  const max = SCALES.digits.max;
  const grid = Array.from({ length: 11 }, (_, i) => (i * max) / 10);
  const epsilons = [...new Set([...grid, ...TABLE_EPS].filter((e) => e <= max).map(round))].sort((a, b) => a - b);
  const pgdEps = TABLE_EPS.filter((e) => e > 0 && e <= max);
  const pgd = { ...PGD_RUN, digits: Math.min(PGD_RUN.digits, digits.count), epsilons: pgdEps };

  $('live-title').textContent = `Error against ε on the ${digits.count} shipped test digits, measured here, in your browser`;
  const caveat = model.custom ? ' These digits are MNIST’s: the figures mean something only if your model reads MNIST digits as 0–9.' : '';
  showTable(v, null, { epsilons, pgd });
  delete $('live').dataset.state;
  delete $('live').dataset.pgd;
  v.robustnessChart.show(null);
  let fgsmSecs = null;
  try {
    const call = (op, args, options) => v.engine.client.call(op, { ...args, model: model.key }, options);
    const plan = `${model.key}|${digits.count}|${epsilons.join(',')}|${JSON.stringify(pgd)}`;
    const measurement = sharedMeasurement(plan, (hooks) => measureRobustness(call, digits, epsilons, { pgd, ...hooks }), {
      wanted: () => token.current,
      pause: () => v.quiet(),
      onProgress: (partial) => {
        if (!token.current) return;
        if (partial.done < partial.count) {
          $('live-text').textContent = `Attacking every digit with FGSM and with noise at ${epsilons.length} values of ε… ${partial.done} of ${partial.count}`;
        } else {
          if (fgsmSecs === null) {
            fgsmSecs = (performance.now() - measurement.started) / 1000;
            $('live').dataset.state = 'done'; // FGSM and noise over every digit
            $('live').dataset.pgd = 'running';
          }
          $('live-text').textContent =
            `FGSM and noise: done in ${fgsmSecs.toFixed(1)} s. Now PGD, ${pgd.steps} steps at each of ${pgdEps.length} values of ε, ` +
            `digit by digit… ${partial.pgd?.done ?? 0} of ${pgd.digits}`;
        }
        v.robustnessChart.show(curveOf(epsilons, partial));
        showTable(v, partial, { epsilons, pgd });
      },
    });
    const r = await measurement.result;
    if (!token.current) return;
    if (!r) return runRobustness(v); // everyone else left that run just as this widget joined it
    const secs = (measurement.ended - measurement.started) / 1000;
    v.robustnessChart.show(curveOf(epsilons, r));
    showTable(v, r, { epsilons, pgd });
    const attacks = 2 * epsilons.length * r.count + pgdEps.length * r.pgd.count;
    const passes = epsilons.length * r.count * 2 + r.count + pgdEps.length * r.pgd.count * (pgd.steps + 1);
    $('live-text').textContent =
      `${attacks.toLocaleString('en')} attacks (${passes.toLocaleString('en')} passes through the network) in ${secs.toFixed(0)} s, here. ` +
      `The model is attacked against its own answer, not the true label; a digit counts as misread when the model’s reading is not its true label.${caveat}`;
    $('live').dataset.state = 'done';
    $('live').dataset.pgd = 'done';
  } catch (e) {
    if (token.current) $('live-text').textContent = `Could not measure: ${e.message}`;
  }
}

/**
 * The measurements of this page, running or done, by model and plan: widgets that show the same
 * model (an article's figures) share one run instead of each attacking the same digits again.
 */
const measurements = new Map();

/**
 * Joins the measurement `plan`, starting it with `start(hooks)` if there is none. The run goes on
 * while any widget in it still `wanted()` it, waits between batches until every one of them is
 * quiet (`pause()`), and reports each batch to all of them; one that joins late is shown the
 * figures so far at once. → {result: Promise of the figures (null if it was cancelled), started,
 * ended (ms, performance.now())}
 */
function sharedMeasurement(plan, start, member) {
  let m = measurements.get(plan);
  if (!m) {
    const members = new Set();
    m = { members, last: null, started: performance.now(), ended: null };
    m.result = start({
      onProgress: (partial) => {
        m.last = partial;
        for (const each of members) each.onProgress(partial);
      },
      cancelled: () => ![...members].some((each) => each.wanted()),
      pause: async () => {
        for (const each of members) if (each.wanted()) await each.pause();
      },
    }).then(
      (r) => {
        m.ended = performance.now();
        if (!r) measurements.delete(plan);
        return r;
      },
      (e) => {
        measurements.delete(plan);
        throw e;
      },
    );
    measurements.set(plan, m);
  }
  m.members.add(member);
  // After the caller has its handle (its onProgress reads the start time from it).
  queueMicrotask(() => m.last && member.onProgress(m.last));
  m.result.finally(() => m.members.delete(member)).catch(() => {});
  return m;
}

/** The chart's curves from the figures so far; PGD's point at ε = 0 is its digits' clean error. */
function curveOf(epsilons, r) {
  const curve = { eps: epsilons, error: r.error, noiseError: r.noiseError };
  if (r.pgd?.done) curve.pgd = { eps: [0, ...r.pgd.epsilons], error: [1 - r.pgd.accuracy, ...r.pgd.error] };
  return curve;
}

/**
 * The table under the chart: one row per ε of TABLE_EPS, a column per attack, each column's
 * sample named in its header; the caption says how PGD was run.
 */
function showTable(v, r, { epsilons, pgd }) {
  const table = v.$('live-figures');
  const n = v.state.digits.count;
  // On PGD's digits alone the clean error differs from that of all digits: said, once known.
  const pgdClean = r?.pgd && r.pgd.done === r.pgd.count ? 1 - r.pgd.accuracy : null;
  v.$('live-figures-caption').textContent =
    `Digits misread, in %. PGD takes ${pgd.steps} gradient steps where FGSM takes one, so it runs on the first ${pgd.digits} digits only: ` +
    `${pgd.steps} steps of α = (4/3)·ε/${pgd.steps} from a random start within ε, digit k seeded with k.` +
    (pgdClean === null ? '' : ` Before any attack the network misreads ${percent(pgdClean)} of those ${pgd.digits} digits, and ${percent(1 - r.accuracy)} of all ${n}.`);
  const cell = (tag, text, { scope, value, sample } = {}) => {
    const c = document.createElement(tag);
    c.textContent = text;
    if (sample) c.append(' ', Object.assign(document.createElement('span'), { className: 'sample', textContent: sample }));
    if (scope) c.scope = scope;
    if (value !== undefined && value !== null) c.dataset.value = String(value);
    return c;
  };
  const head = document.createElement('thead');
  const top = document.createElement('tr');
  top.append(
    cell('th', 'ε', { scope: 'col' }),
    cell('th', 'FGSM', { scope: 'col', sample: `${n} digits` }),
    cell('th', 'PGD', { scope: 'col', sample: `first ${pgd.digits}` }),
    cell('th', 'noise', { scope: 'col', sample: `${n} digits` }),
  );
  head.append(top);
  const body = document.createElement('tbody');
  const shown = (p) => (p === null || p === undefined ? '…' : percent(p));
  for (const eps of TABLE_EPS) {
    const j = epsilons.indexOf(eps);
    if (j < 0) continue;
    // A column shows once its run is complete: partial figures are in the chart only.
    const complete = r && r.done === r.count;
    const pgdComplete = complete && r.pgd && r.pgd.done === r.pgd.count;
    const fgsm = complete ? r.error[j] : null;
    const noise = complete ? r.noiseError[j] : null;
    const pgdError = !pgdComplete ? null : eps === 0 ? 1 - r.pgd.accuracy : r.pgd.error[pgd.epsilons.indexOf(eps)];
    const tr = document.createElement('tr');
    tr.dataset.eps = String(eps);
    tr.append(
      cell('th', eps === 0 ? '0 (clean)' : String(eps), { scope: 'row' }),
      cell('td', shown(fgsm), { value: fgsm }),
      cell('td', shown(pgdError), { value: pgdError }),
      cell('td', shown(noise), { value: noise }),
    );
    body.append(tr);
  }
  table.querySelector('thead')?.remove();
  table.querySelector('tbody')?.remove();
  table.append(head, body);
}
