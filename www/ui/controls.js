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
  $('target-chip-clear').addEventListener('click', () => setTarget(v, null));
}

/** The target, when there is one, as a chip beside ε with a button that clears it. */
export function showTargetChip(v) {
  const t = v.state.target;
  v.$('target-chip').hidden = t === null;
  v.$('target-chip-name').textContent = t === null ? '' : v.className(t);
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
  v.$('eps-story').textContent = s.story(eps, inputValues(v));
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
  v.$('eps-story').textContent = s.story(value, inputValues(v));
  v.sweepChart.eps = value;
  v.robustnessChart.eps = value;
  v.runAttack();
}

export function setTarget(v, value, { fromPicker = false } = {}) {
  if (!fromPicker) v.picker.value = value;
  v.$('target-note').hidden = true;
  if (value === v.state.target) return;
  v.state.target = value;
  // A target belongs to the picture it was picked for (see DemoView.setImage).
  v.state.targetFor = v.state.pixels ? v.sameImage(v.state.imageKey) : null;
  showTargetChip(v);
  if (v.state.pixels) v.setImage(v.state.pixels, { trueLabel: v.state.trueLabel, key: v.state.imageKey, image: v.state.image });
}

/**
 * The model already gives this image the target class (say, from a shared link made for another
 * picture): there is nothing to aim for, so the target goes and a note says why.
 */
export function dropOwnTarget(v, target, what) {
  const name = v.className(target);
  setTarget(v, null);
  const note = v.$('target-note');
  note.textContent = `The model already reads this ${what} as “${name}”, so “${name}” cannot be its target: the attack is untargeted.`;
  note.hidden = false;
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

/** How many numbers the model's input holds (C × H × W). */
const inputValues = (v) => v.state.model?.info.inputShape.slice(1).reduce((a, b) => a * b, 1);
