// The ε sweep: the prediction at every ε of the slider's range, computed in chunks so that the
// slider is answered in between, and its caption (the smallest ε that fools this image).
import { STALE } from './worker-client.js';
import { isFooled } from './verdict.js';
import { summarizeSweep, sweepCaption } from './sweep-summary.js';
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
    const held = await v.workerImageId();
    if (!held || !token.current) return;
    for (let i = 0; i < s.grid.length; i += s.chunk) {
      const args = { image: held.image, eps: s.grid.slice(i, i + s.chunk), label: target, targeted: target !== null };
      const r = await v.lanes.sweep('sweep', args);
      if (r === STALE || !token.current || key !== state.imageKey || !held.current()) return;
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

/** A new picture or target: the chart and caption wait for the new sweep, showing nothing old. */
export function showSweepPending(v) {
  v.sweepChart.show(null, {});
  const caption = v.$('sweep-text');
  caption.textContent = `Trying every ε from 0 to ${v.fmtEps(v.scale().max)} on this picture…`;
  delete caption.dataset.for;
  delete caption.dataset.first;
  caption.dataset.target = '';
  v.$('sweep-line-name').textContent = 'its first answer';
  v.$('sweep-legend-line').textContent = 'probability of the first answer';
  v.$('sweep-figure').dataset.state = 'pending';
  v.$('sweep').setAttribute('aria-label', 'Chart of the prediction against ε: being computed for this picture');
}

function showSweep(v) {
  const { state, $ } = v;
  const s = state.sweep;
  const start = s.predicted[0];
  const target = s.target;
  const fooled = (c) => isFooled({ label: start, adversarial: c, target });
  // Shading: the verdict's "fooled", or (targeted) a class that is neither the start nor the target.
  const changed = (c) => (fooled(c) ? 'fooled' : target !== null && start !== target && c !== start ? 'other' : null);
  v.sweepChart.show(s, { changed, classes: state.model.classes });
  const figure = $('sweep-figure');
  figure.dataset.targeted = String(target !== null);
  const quoted = (c) => `“${v.className(c)}”`;
  $('sweep-line-name').textContent = target !== null ? `the target ${quoted(target)}` : `its first answer, ${quoted(start)}`;
  $('sweep-legend-line').textContent = `probability of ${target !== null ? `the target ${quoted(target)}` : quoted(start)}`;
  $('sweep-legend-fooled').textContent = target !== null ? `reaches the target` : `fooled: read as another class`;

  const caption = $('sweep-text');
  const max = v.scale().max;
  if (s.eps.length < s.total) {
    caption.textContent = `Trying every ε from 0 to ${v.fmtEps(max)} on this picture… ${s.eps.length} of ${s.total}`;
    delete caption.dataset.for;
    return;
  }
  figure.dataset.state = 'done';
  const summary = summarizeSweep({ eps: s.eps, predicted: s.predicted, target, isFooled: fooled });
  const parts = sweepCaption(summary, { target, name: v.className, fmt: v.fmtEps, max });
  caption.replaceChildren(
    ...parts.map((part) => {
      if (typeof part === 'string') return part;
      const button = Object.assign(document.createElement('button'), {
        type: 'button',
        className: 'link',
        textContent: `ε = ${v.fmtEps(part.eps)}`,
        title: 'Set the slider to this ε',
      });
      button.addEventListener('click', () => setEps(v, part.eps));
      return button;
    }),
  );
  caption.dataset.summary = summary.kind;
  if (summary.first !== undefined) caption.dataset.first = v.fmtEps(summary.first);
  else delete caption.dataset.first;
  $('sweep').setAttribute('aria-label', `Chart of the prediction against ε. ${caption.textContent}`);
  caption.dataset.for = state.imageKey;
  caption.dataset.target = target ?? '';
}
