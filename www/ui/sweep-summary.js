// What the ε sweep shows, in words: where the answer first changes and whether it stays changed up
// to the end of the slider. Pure functions (Node unit tests: tests/unit/).

/**
 * @param {{eps: ArrayLike<number>, predicted: ArrayLike<number>, target?: number | null,
 *          isFooled: (cls: number) => boolean}} sweep the prediction at each ε (eps[0] = 0)
 * @returns {{kind: 'already' | 'never' | 'stable' | 'unstable', start: number, first?: number,
 *            label?: number, runs?: {cls: number, from: number, fooled: boolean}[]}}
 *   'stable': every ε from the first flip to the last is read as the same fooled class;
 *   'unstable': the reading changes again after the first flip (`runs`, from the first flip on).
 */
export function summarizeSweep({ eps, predicted, target = null, isFooled }) {
  const start = predicted[0];
  if (target !== null && start === target) return { kind: 'already', start };
  let first = -1;
  for (let i = 0; i < predicted.length; i++) {
    if (isFooled(predicted[i])) {
      first = i;
      break;
    }
  }
  if (first < 0) return { kind: 'never', start };
  const runs = [];
  for (let i = first; i < predicted.length; i++) {
    if (i === first || predicted[i] !== predicted[i - 1]) runs.push({ cls: predicted[i], from: eps[i], fooled: isFooled(predicted[i]) });
  }
  return { kind: runs.length === 1 ? 'stable' : 'unstable', start, first: eps[first], label: predicted[first], runs };
}

/**
 * The caption under the sweep chart, as a list of parts: strings, and {eps} where a button to set
 * the slider goes. `name(cls)` names a class, `fmt(eps)` writes an ε, `max` the slider's end.
 */
export function sweepCaption(summary, { target = null, name, fmt, max, shown = 3 }) {
  const q = (c) => `“${name(c)}”`;
  const s = summary;
  if (s.kind === 'already') return [`The model already reads this as ${q(target)}.`];
  if (s.kind === 'never') {
    return [target !== null ? `No ε up to ${fmt(max)} turns this ${q(s.start)} into ${q(target)}.` : `No ε up to ${fmt(max)} changes the answer ${q(s.start)}.`];
  }
  if (s.kind === 'stable') {
    return target !== null
      ? [`Becomes ${q(target)} from `, { eps: s.first }, ` on, all the way to ${fmt(max)}.`]
      : [`Fooled from `, { eps: s.first }, ` on: read as ${q(s.label)} all the way to ${fmt(max)}.`];
  }
  const parts = target !== null ? [`First becomes ${q(target)} at `, { eps: s.first }] : [`First fooled at `, { eps: s.first }, `, as ${q(s.label)}`];
  parts.push('; further on it reads ');
  const later = s.runs.slice(1);
  later.slice(0, shown).forEach((run, i) => {
    if (i) parts.push(i === Math.min(shown, later.length) - 1 && later.length <= shown ? ' and ' : ', ');
    const note = run.cls === s.start ? ' (its first answer again)' : !run.fooled && target !== null ? ' (not the target)' : '';
    parts.push(`${q(run.cls)}${note} from `, { eps: run.from });
  });
  if (later.length > shown) parts.push(`, and ${later.length - shown} more changes`);
  parts.push('.');
  return parts;
}
