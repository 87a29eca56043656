// The one place that decides whether an attack fooled the model, and how that is said.

/**
 * Whether the adversarial prediction is what the attack wanted. Untargeted: any class but the
 * clean prediction `label`. Targeted: the `target` class, which the clean image must not already be.
 * @param {{label: number, adversarial: number, target?: number | null}} r
 */
export function isFooled({ label, adversarial, target = null }) {
  return target === null || target === undefined ? adversarial !== label : adversarial === target && label !== target;
}

/**
 * What happened, in one word for styling and tests, and in a sentence for the reader.
 * kind: 'unchanged' (ε = 0), 'already' (the clean image is already the target), 'fooled',
 * 'missed' (targeted, the prediction moved but not to the target), 'not-fooled'.
 * @param {{label: number, adversarial: number, target: number | null, eps: number, trueLabel?: number | null,
 *          name: (c: number) => string, epsText: string, stillProb: string, how?: string}} r `how`: how
 *   the attack was made, said after ε (e.g. " by PGD"); empty for FGSM.
 */
export function verdict({ label, adversarial, target = null, eps, trueLabel = null, name, epsText, stillProb, how = '' }) {
  const quoted = (c) => `“${name(c)}”`;
  let kind;
  let text;
  if (target !== null && label === target) {
    kind = 'already';
    text = `The model already reads this as ${quoted(target)}: pick another target.`;
  } else if (eps === 0) {
    kind = 'unchanged';
    text = 'ε = 0: the image is unchanged. Move the slider to attack.';
  } else if (isFooled({ label, adversarial, target })) {
    kind = 'fooled';
    text = `Fooled: ${name(label)} → ${name(adversarial)}${target !== null ? ', the target,' : ''} at ε = ${epsText}${how}`;
  } else if (target !== null && adversarial !== label) {
    kind = 'missed';
    text = `Target not reached at ε = ${epsText}${how}: ${name(label)} → ${name(adversarial)}, not ${quoted(target)}`;
  } else {
    kind = 'not-fooled';
    text = `Not fooled at ε = ${epsText}${how}: still ${name(label)} (${stillProb})`;
  }
  if (trueLabel !== null && trueLabel !== undefined && label !== trueLabel) text += `. The model already misreads this ${name(trueLabel)}.`;
  return { kind, fooled: kind === 'fooled', text };
}

/**
 * What the step did to the loss J of the gradient's label y, in words: "rose" or "fell", and whether
 * that is what the step was for. Untargeted FGSM steps up the loss of the model's own answer;
 * targeted FGSM steps down the target's loss. One step follows the gradient at x only, so a large
 * ε can overshoot and move the loss the other way.
 * @param {{targeted: boolean, name: string, before: number, after: number}} r `before` and
 *   `after`: the probability of y on x and on x′ (the loss is −ln of it).
 * @returns {{direction: 'rose' | 'fell' | 'same', intended: boolean, text: string}}
 */
export function lossLine({ targeted, name, before, after }) {
  const loss = (p) => (p > 0 ? -Math.log(p) : Infinity);
  const [a, b] = [loss(before), loss(after)];
  const shown = (l) => (l === Infinity ? 'more than 87 (the probability underflows to 0)' : l.toFixed(l < 0.001 ? 5 : l < 10 ? 3 : 2));
  const whose = targeted ? `The loss of the target “${name}”` : `The loss of “${name}”, the model’s answer,`;
  const direction = b > a ? 'rose' : b < a ? 'fell' : 'same';
  if (direction === 'same') return { direction, intended: false, text: `${whose} stayed at ${shown(a)}.` };
  const intended = targeted ? direction === 'fell' : direction === 'rose';
  const why = intended
    ? targeted
      ? 'the step went down it, as intended.'
      : 'the step went up it, as intended.'
    : 'one step of this size overshot (the gradient at x points the right way only for small steps).';
  return { direction, intended, text: `${whose} ${direction} from ${shown(a)} to ${shown(b)}: ${why}` };
}
