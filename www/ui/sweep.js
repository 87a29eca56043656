// The ε sweep: the prediction at every ε of the slider's range, computed in chunks so that the
// slider is answered in between, and its caption (the smallest ε that fools this image).
import { STALE } from './worker-client.js';
import { isFooled } from './verdict.js';
import { levels } from './format.js';
import { setEps } from './controls.js';

export async function runSweep(v) {
  const { state } = v;
  if (!state.ready || !state.pixels || !v.has('sweep')) return;
  const token = v.tokens.begin('sweep');
  const key = state.imageKey;
  const s = v.scale();
  const target = state.target;
  const acc = { eps: [], predicted: [], referenceProbs: [], reference: null, target, total: s.grid.length };
  try {
    for (let i = 0; i < s.grid.length; i += s.chunk) {
      const args = { model: state.model.key, pixels: state.pixels, eps: s.grid.slice(i, i + s.chunk), label: target, targeted: target !== null };
      const r = await v.lanes.sweep('sweep', args);
      if (r === STALE || !token.current || key !== state.imageKey) return;
      acc.eps.push(...r.eps);
      acc.predicted.push(...r.predicted);
      acc.referenceProbs.push(...r.referenceProbs);
      acc.reference = r.reference;
      state.sweep = acc;
      showSweep(v);
    }
  } catch (e) {
    if (token.current) v.alerts.report(e, 'The ε sweep failed');
  }
}

function showSweep(v) {
  const { state, $ } = v;
  const s = state.sweep;
  const start = s.predicted[0];
  const target = s.target;
  // Shading: the verdict's "fooled", or (targeted) a class that is neither the start nor the target.
  const changed = (c) => {
    if (isFooled({ label: start, adversarial: c, target })) return 'fooled';
    return target !== null && start !== target && c !== start ? 'other' : null;
  };
  v.sweepChart.show(s, { changed, classes: state.model.classes });

  const caption = $('sweep-text');
  const max = v.scale().max;
  if (s.eps.length < s.total) {
    caption.textContent = `Trying every ε from 0 to ${v.fmtEps(max)}… ${s.eps.length} of ${s.total}`;
    delete caption.dataset.for;
    return;
  }
  const first = s.predicted.findIndex((c) => changed(c) === 'fooled');
  const quoted = (c) => `“${v.className(c)}”`;
  const line = target !== null ? `Line: probability of the target ${quoted(target)}.` : `Line: probability of ${quoted(start)}.`;
  if (target !== null && start === target) {
    caption.textContent = `The model already reads this as ${quoted(target)}. ${line}`;
  } else if (first < 0) {
    caption.textContent = `No ε up to ${v.fmtEps(max)} ${target !== null ? `turns this ${v.className(start)} into ${quoted(target)}` : `changes the prediction ${quoted(start)}`}. ${line}`;
  } else {
    const eps = s.eps[first];
    const button = Object.assign(document.createElement('button'), {
      type: 'button',
      className: 'link',
      textContent: `ε = ${v.fmtEps(eps)}`,
      title: 'Set the slider to this ε',
    });
    button.addEventListener('click', () => setEps(v, eps));
    caption.replaceChildren(
      `${target !== null ? `Becomes ${quoted(target)}` : `Fooled (shaded)`} first at `,
      button,
      `${v.kind() === 'digits' ? ` (${levels(eps)})` : ''}${target !== null ? '' : `, as ${quoted(s.predicted[first])}`}. ${line}`,
    );
    caption.dataset.first = v.fmtEps(eps);
  }
  if (first < 0) delete caption.dataset.first;
  $('sweep').setAttribute('aria-label', `Chart: ${caption.textContent}`);
  caption.dataset.for = state.imageKey;
  caption.dataset.target = target ?? '';
}
