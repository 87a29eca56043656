// The sentences under the article's network figures, which say what the reader just did. Built
// from an `fgsm-result` event's detail (see /work/coord/contract.md); pure, so Node can test it.

/** ε as a reader of that figure thinks of it: grey levels (k/255) for photos, a decimal for digits. */
export function formatEps(eps, model) {
  const levels = eps * 255;
  const photo = model !== 'mnist';
  if (photo && Math.abs(levels - Math.round(levels)) < 1e-3) return `${Math.round(levels)}/255`;
  if (photo && levels < 32) return `${levels.toFixed(1)}/255`;
  return String(Number(eps.toFixed(3)));
}

/** A probability in [0, 1] (or already in per cent) as "94.5 %", with a no-break space. */
export function formatPercent(p) {
  if (typeof p !== 'number' || !Number.isFinite(p)) return '';
  const percent = p <= 1 ? p * 100 : p;
  return `${percent >= 99.95 ? '> 99.9' : percent.toFixed(1)}\u00a0%`;
}

const quote = (name) => `“${name}”`;

/** One sentence about an `fgsm-result` detail. */
export function describeResult(d) {
  const eps = formatEps(Number(d.eps), d.model);
  const before = `${quote(d.labelName)} (${formatPercent(d.probability)})`;
  const after = `${quote(d.adversarialName)} (${formatPercent(d.adversarialProbability)})`;
  if (Number(d.eps) === 0) return `At ε = 0 nothing changes: the network says ${before}. Move ε to attack.`;
  if (d.targeted) {
    return d.fooled
      ? `At ε = ${eps} the network says ${after}, the class you asked for, instead of ${before}.`
      : `At ε = ${eps} the network says ${after}, not yet ${quote(d.targetName)}: try a larger ε or another target.`;
  }
  return d.fooled
    ? `At ε = ${eps} the network now says ${after} instead of ${before}. Fooled.`
    : `At ε = ${eps} the network still says ${after}. Try a larger ε.`;
}
