// Choosing a digit: the held-out test digits (previous, next, random, the next one this ε fools)
// and the draw-your-own pad, as two tabs.
import { DrawPad } from './draw-pad.js';
import { STALE } from './worker-client.js';
import { isFooled } from './verdict.js';
import { clearResults } from './attack-view.js';

export function setupDigits(v) {
  const { $ } = v;
  $('tab-test').addEventListener('click', () => v.state.source !== 'test' && selectTab(v, 'test'));
  $('tab-draw').addEventListener('click', () => v.state.source !== 'draw' && selectTab(v, 'draw'));
  $('digit-tabs').addEventListener('keydown', (e) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
    e.preventDefault();
    const next = v.state.source === 'test' ? 'draw' : 'test';
    if (next === 'test' && !v.state.digits) return;
    selectTab(v, next);
  });
  $('prev').addEventListener('click', () => showTestDigit(v, v.state.index - 1));
  $('next').addEventListener('click', () => showTestDigit(v, v.state.index + 1));
  $('random').addEventListener('click', () => {
    const n = v.state.digits.count;
    showTestDigit(v, (v.state.index + 1 + Math.floor(Math.random() * (n - 1))) % n);
  });
  $('find-fooled').addEventListener('click', () => findFooled(v));
  v.pad = new DrawPad($('draw-pad'), { onChange: () => v.state.model?.kind === 'digits' && useDrawing(v) });
  $('clear').addEventListener('click', () => {
    v.pad.clear();
    useDrawing(v);
  });
}

/** Shows the test digits or the pad; the tabs show only when the widget has both. */
export function selectTab(v, which, { focus = true } = {}) {
  const { $ } = v;
  const both = v.has('input') && v.has('draw');
  $('digit-tabs').hidden = !both;
  for (const name of ['test', 'draw']) {
    const on = name === which;
    const tab = $(`tab-${name}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${name}`).hidden = !on || !v.has(name === 'test' ? 'input' : 'draw');
    if (on && focus) tab.focus();
  }
  v.state.source = which;
  v.$('input-title-text').textContent = v.has('input') ? 'Choose a digit' : 'Draw a digit';
  if (which === 'test') showTestDigit(v, v.state.index);
  else useDrawing(v);
}

export function showTestDigit(v, i) {
  const digits = v.state.digits;
  if (!digits) return;
  v.state.index = ((i % digits.count) + digits.count) % digits.count;
  const label = digits.label(v.state.index);
  v.$('digit-info').replaceChildren(
    Object.assign(document.createElement('span'), { textContent: `Test digit ${v.state.index + 1} of ${digits.count}` }),
    Object.assign(document.createElement('span'), { textContent: `true label ${v.className(label)}` }),
  );
  v.setImage(digits.pixels(v.state.index), { trueLabel: label, key: `test:${v.state.index}`, image: String(v.state.index) });
}

/** Steps forward to the next test digit that the current ε and target fool, a batch at a time. */
async function findFooled(v) {
  const { state } = v;
  const digits = state.digits;
  const from = state.index;
  const button = v.$('find-fooled');
  const size = digits.side * digits.side;
  const batch = 50;
  const model = state.model;
  const target = state.target;
  button.disabled = true;
  try {
    for (let offset = 1; offset < digits.count; offset += batch) {
      const count = Math.min(batch, digits.count - offset);
      const images = new Float32Array(count * size);
      for (let k = 0; k < count; k++) images.set(digits.pixels((from + offset + k) % digits.count), k * size);
      const args = { model: model.key, images, epsilons: [state.eps.digits], label: target, targeted: target !== null };
      const r = await v.lanes.search('attackMany', args, { transfer: [images.buffer] });
      if (r === STALE || model !== state.model) return;
      for (let k = 0; k < count; k++) {
        if (isFooled({ label: r.clean[k], adversarial: r.adversarial[k], target })) {
          state.targetFor = null; // the digit was found for this target: it stays
          return showTestDigit(v, from + offset + k);
        }
      }
    }
    v.alerts.show(`No other test digit is ${target === null ? 'fooled' : `turned into “${v.className(target)}”`} at ε = ${v.fmtEps(state.eps.digits)}. Try a larger ε.`);
  } catch (e) {
    v.alerts.report(e, 'Searching the test digits failed');
  } finally {
    button.disabled = !state.ready;
  }
}

/** Attacks the drawing as it is now; every change of the pad is numbered, and only the latest counts. */
export function useDrawing(v) {
  const { state, pad } = v;
  const key = `drawing:${++state.drawings}`;
  const canvas = v.$('draw-pad');
  canvas.dataset.drawing = key;
  if (pad.isEmpty) {
    state.pixels = null;
    state.imageKey = key;
    clearResults(v, 'Draw a digit in the box to attack it.');
    return;
  }
  const rgba = pad.rgba();
  const latest = () => state.model?.kind === 'digits' && state.source === 'draw' && canvas.dataset.drawing === key;
  v.lanes.centre('centre', { rgba, width: pad.width, height: pad.height }, { transfer: [rgba.buffer] }).then(
    (r) => r !== STALE && latest() && v.setImage(r.pixels, { trueLabel: null, key, image: 'draw' }),
    (e) => latest() && v.alerts.report(e, 'Could not read the drawing'),
  );
}
