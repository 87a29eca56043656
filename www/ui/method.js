// The attack method menu: FGSM (the paper's one step), FGM (one L2 step), the iterative BIM, PGD
// and MI-FGSM, and random noise as the baseline. Each shows only the parameters it uses. An
// iterative attack runs in the worker a step at a time, with a progress bar and a Cancel button;
// any new input (the slider, another digit, another method) cancels it and starts the new one.
import { LossChart } from './loss-chart.js';
import { METHODS, PARAMS, parseParam } from './method-params.js';

/**
 * The worker's `method` argument for the current choice at ε (the slider's L∞ ε), or null for
 * FGSM, which keeps its own fast path. FGM's L2 radius is ε·√n, the length of an FGSM step of ε,
 * so that both move the image by the same amount in total.
 */
export function methodArgs(v, eps) {
  const s = v.state.method;
  const m = METHODS[s.method];
  if (s.method === 'fgsm') return null;
  const args = { method: s.method, norm: m.norm };
  if (m.norm === 'l2') args.eps = eps * Math.sqrt(inputValues(v));
  if (m.params.includes('steps')) args.steps = s.steps;
  // An empty α is left to the core (src/attack/mod.rs), which sets it from ε and the steps as each
  // method's paper does; the result says which α it used.
  if (m.params.includes('alpha') && s.alpha !== null) args.alpha = s.alpha;
  if (m.params.includes('momentum')) args.momentum = s.momentum;
  if (m.params.includes('seed')) args.seed = s.seed;
  return args;
}

export function setupMethod(v) {
  const { $ } = v;
  v.lossChart = new LossChart($('loss-chart'));
  $('method').addEventListener('change', (e) => {
    v.state.method.method = e.target.value;
    showMethod(v);
    v.runAttack();
  });
  for (const key of Object.keys(PARAMS)) {
    $(key).addEventListener('change', (e) => {
      const { value, error } = parseParam(key, e.target.value);
      if (error) {
        v.alerts.show(error);
        e.target.value = v.state.method[key] ?? '';
        return;
      }
      v.state.method[key] = value;
      showMethod(v);
      v.runAttack();
    });
  }
  $('method-cancel').addEventListener('click', () => v.methodRun?.abort('cancel'));
  showMethod(v);
}

/** Shows the parameters of the chosen method, its title and a line on what it does. */
export function showMethod(v) {
  const { $ } = v;
  const s = v.state.method;
  const m = METHODS[s.method];
  $('method').value = s.method;
  // The fields show what is set (an attribute or the address may have set it), except the one being edited.
  for (const key of Object.keys(PARAMS)) if (v.root.activeElement !== $(key)) $(key).value = s[key] ?? '';
  $('method-params').hidden = m.params.length === 0;
  for (const label of $('method-params').querySelectorAll('label[data-param]')) label.hidden = !m.params.includes(label.dataset.param);
  // Until a run has said which α the core chose, "auto" (it follows ε and the steps).
  $('alpha').placeholder = 'auto';
  const hints = {
    fgsm: 'One step of ε in every pixel, along the sign of the gradient (Goodfellow et al., 2015).',
    fgm: 'One step along the gradient itself, scaled to the length of an FGSM step of ε (ε·√n in L2); a pixel may then move by more than ε.',
    bim: `${s.steps} steps of α, each followed by a cut back into ε of the original (Kurakin et al., 2017).`,
    pgd: `BIM from a random point within ε, drawn from seed ${s.seed}: the same seed gives the same run (Madry et al., 2018).`,
    'mi-fgsm': `BIM whose steps follow a running sum of normalised gradients, μ = ${s.momentum} (Dong et al., 2018).`,
    noise: `Random ±ε in every pixel, drawn from seed ${s.seed}: what FGSM does without the gradient.`,
  };
  $('method-hint').textContent = hints[s.method];
  $('attack-title').textContent = s.method === 'fgsm' ? 'One FGSM step' : m.iterative ? `${m.name}: ${s.steps} steps` : m.name === 'random noise' ? 'Random noise' : `One ${m.name} step`;
  if (!m.iterative) {
    $('method-run').hidden = true;
    $('loss-figure').hidden = true;
  }
}

/**
 * Starts an iterative run (cancelling the one before, if any) → the `call` options that follow its
 * progress, and `controller` (abort reason 'cancel' from the button, 'superseded' otherwise).
 */
export function startRun(v, args, epsText) {
  v.methodRun?.abort('superseded');
  if (!args || !METHODS[args.method].iterative) {
    v.methodRun = null;
    return { controller: null, options: {} };
  }
  const controller = new AbortController();
  v.methodRun = controller;
  const { $ } = v;
  const losses = [];
  const run = $('method-run');
  run.hidden = false;
  run.dataset.state = 'running';
  run.dataset.eps = epsText;
  run.dataset.step = '0';
  $('method-cancel').hidden = false;
  $('method-progress').max = args.steps;
  $('method-progress').value = 0;
  $('method-progress-text').textContent = `step 0 of ${args.steps}`;
  const onProgress = ({ step, steps, loss }) => {
    if (v.methodRun !== controller) return;
    losses[step] = loss;
    $('method-progress').value = step;
    $('method-progress-text').textContent = `step ${step} of ${steps}`;
    run.dataset.step = String(step);
  };
  return { controller, options: { signal: controller.signal, onProgress } };
}

/** After an iterative run: the progress line says how it ended, and the loss chart shows its steps. */
export function showRun(v, r, { controller, target, labelName }) {
  const { $ } = v;
  if (!controller) return;
  if (v.methodRun === controller) v.methodRun = null;
  const run = $('method-run');
  const asked = r.params.steps;
  run.dataset.state = r.cancelled ? 'cancelled' : 'done';
  run.dataset.step = String(r.steps);
  $('method-progress').value = r.steps;
  $('method-cancel').hidden = true;
  $('method-progress-text').textContent = r.cancelled ? `Cancelled after step ${r.steps} of ${asked}: the result below is that step’s.` : `Done: ${asked} steps of ${METHODS[r.params.method].name}.`;
  if (v.state.method.alpha === null && METHODS[r.params.method].params.includes('alpha')) $('alpha').placeholder = `auto: ${formatNumber(r.params.alpha)}`;
  const losses = Array.from(r.losses);
  $('loss-figure').hidden = false;
  v.lossChart.show({ losses, targeted: target !== null });
  const canvas = $('loss-chart');
  canvas.dataset.points = String(losses.length);
  canvas.dataset.losses = losses.map((l) => l.toPrecision(6)).join(' ');
  const first = losses[0];
  const last = losses.at(-1);
  const whose = target !== null ? `the target “${labelName}”` : `“${labelName}”, the model’s answer`;
  const wanted = target !== null ? 'fall' : 'rise';
  canvas.setAttribute('aria-label', `Loss of ${whose} at each step, from ${formatNumber(first)} at the start to ${formatNumber(last)} after step ${r.steps}`);
  $('loss-caption').textContent = `The loss J of ${whose}, at the start (step 0) and after each step; the attack wants it to ${wanted}. It went from ${formatNumber(first)} to ${formatNumber(last)}.`;
}

const formatNumber = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2)) : String(x));

/** How many numbers the model's input holds (C × H × W). */
const inputValues = (v) => v.state.model.info.inputShape.slice(1).reduce((a, b) => a * b, 1);
