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
 *          name: (c: number) => string, epsText: string, stillProb: string}} r
 */
export function verdict({ label, adversarial, target = null, eps, trueLabel = null, name, epsText, stillProb }) {
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
    text = `Fooled: ${name(label)} → ${name(adversarial)}${target !== null ? ', the target,' : ''} at ε = ${epsText}`;
  } else if (target !== null && adversarial !== label) {
    kind = 'missed';
    text = `Target not reached at ε = ${epsText}: ${name(label)} → ${name(adversarial)}, not ${quoted(target)}`;
  } else {
    kind = 'not-fooled';
    text = `Not fooled at ε = ${epsText}: still ${name(label)} (${stillProb})`;
  }
  if (trueLabel !== null && trueLabel !== undefined && label !== trueLabel) text += `. The model already misreads this ${name(trueLabel)}.`;
  return { kind, fooled: kind === 'fooled', text };
}
