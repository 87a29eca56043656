// The controls: the ε slider, the gain of the perturbation picture, and the target class.
import { TargetPicker } from './target-picker.js';

export function setupControls(v) {
  const { $ } = v;
  $('eps').addEventListener('input', (e) => setEps(v, v.scale().fromSlider(Number(e.target.value)), { fromSlider: true }));
  $('gain').addEventListener('change', (e) => {
    v.state.gain = e.target.value;
    v.runAttack();
  });
  v.picker = new TargetPicker({
    input: $('target'),
    list: $('target-list'),
    clear: $('target-clear'),
    onChange: (value) => setTarget(v, value, { fromPicker: true }),
  });
}

export function configureEps(v) {
  const s = v.scale();
  const eps = v.state.eps[v.kind()];
  const input = v.$('eps');
  input.min = '0';
  input.max = String(s.slider.max);
  input.step = String(s.slider.step);
  input.value = String(s.toSlider(eps));
  v.$('eps-value').textContent = s.full(eps);
  v.sweepChart.axis = { max: s.max, ticks: s.ticks };
  v.sweepChart.eps = eps;
}

/** The gain choices of the model's kind, plus the one the `gain` attribute asked for. */
export function configureGain(v) {
  const gains = [...v.scale().gains];
  const g = v.state.gain;
  if (!gains.some(([value]) => value === g)) {
    if (Number(g) > 0) gains.push([g, `×${g}`]);
    else v.state.gain = 'fit';
  }
  v.$('gain').replaceChildren(...gains.map(([value, text]) => new Option(text, value, false, value === v.state.gain)));
}

export function setEps(v, eps, { fromSlider = false } = {}) {
  const s = v.scale();
  const value = s.fromSlider(s.toSlider(eps));
  v.state.eps[v.kind()] = value;
  if (!fromSlider) v.$('eps').value = String(s.toSlider(value));
  v.$('eps-value').textContent = s.full(value);
  v.sweepChart.eps = value;
  v.robustnessChart.eps = value;
  v.runAttack();
}

export function setTarget(v, value, { fromPicker = false } = {}) {
  if (!fromPicker) v.picker.value = value;
  if (value === v.state.target) return;
  v.state.target = value;
  if (v.state.pixels) v.setImage(v.state.pixels, { trueLabel: v.state.trueLabel, key: v.state.imageKey, image: v.state.image });
}

/**
 * The `target` attribute → a class index of the model in use: a number, or a class's exact name
 * (case ignored). Empty = untargeted. Says in an alert when it names no class.
 */
export function resolveTarget(v, text) {
  const t = String(text ?? '').trim();
  if (!t) return null;
  const classes = v.state.model.classes;
  if (/^\d+$/.test(t) && Number(t) < classes.length) return Number(t);
  const i = classes.findIndex((c) => c.toLowerCase() === t.toLowerCase());
  if (i >= 0) return i;
  v.alerts.show(`The target “${t}” is not a class of ${v.state.model.name}: give a class number (0 to ${classes.length - 1}) or a class name as the model writes it.`);
  return null;
}
