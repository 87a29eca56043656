// The attack methods and their parameters as data: what each method takes, and how the reader's
// text for a parameter or a method's name is read. No UI here: the address (url-state.js) reads it
// before the page's first download starts, so it imports nothing.

/** Each method: its name for the reader, the parameters it takes, whether it iterates, its norm. */
export const METHODS = {
  fgsm: { name: 'FGSM', params: [], iterative: false, norm: 'linf' },
  fgm: { name: 'FGM (L2)', params: [], iterative: false, norm: 'l2' },
  bim: { name: 'BIM', params: ['steps', 'alpha'], iterative: true, norm: 'linf' },
  pgd: { name: 'PGD', params: ['steps', 'alpha', 'seed'], iterative: true, norm: 'linf' },
  'mi-fgsm': { name: 'MI-FGSM', params: ['steps', 'alpha', 'momentum'], iterative: true, norm: 'linf' },
  noise: { name: 'random noise', params: ['seed'], iterative: false, norm: 'linf' },
};

/** What the reader set: the method and every parameter (kept when the method changes). */
export function initialMethod() {
  return { method: 'fgsm', steps: 10, alpha: null, momentum: 1, seed: 0 };
}

/**
 * The parameters a reader can set, with what each accepts; `empty`: the value of an empty field
 * (α: null, "auto", which follows ε). The page's fields, the widget's attributes and the address
 * all read them through parseParam.
 */
export const PARAMS = {
  steps: { name: 'Steps', integer: true, min: 1, max: 1000 },
  alpha: { name: 'α', min: Number.MIN_VALUE, empty: null },
  momentum: { name: 'μ', min: 0 },
  seed: { name: 'Seed', integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
};

/** A parameter's text → {value} or {error: a sentence for the reader}. */
export function parseParam(key, text) {
  const p = PARAMS[key];
  const trimmed = String(text ?? '').trim();
  if (trimmed === '' && 'empty' in p) return { value: p.empty };
  const value = Number(trimmed);
  const max = p.max ?? Infinity;
  if (trimmed === '' || !Number.isFinite(value) || value < p.min || value > max || (p.integer && !Number.isInteger(value))) {
    const range = max === Infinity ? `${p.min === Number.MIN_VALUE ? 'above 0' : `${p.min} or more`}` : `${p.min} to ${max}`;
    return { error: `${p.name} must be ${p.integer ? 'a whole number' : 'a number'} ${range}; “${trimmed}” is not.` };
  }
  return { value };
}

/** A method's name as the address and the attributes write it → {value} or {error}. */
export function parseMethodName(text) {
  const name = String(text ?? '').trim().toLowerCase() || 'fgsm';
  if (Object.hasOwn(METHODS, name)) return { value: name };
  return { error: `There is no attack method “${text}”: the methods are ${Object.keys(METHODS).join(', ')}.` };
}

/**
 * The parameters that `state` (what the reader set) gives its method, as text for the address and
 * the fgsm-result event: those the method takes, α only when the reader set it (else it follows ε).
 */
export function methodParams(state) {
  const params = {};
  for (const key of METHODS[state.method].params) {
    if (key === 'alpha' && state.alpha === null) continue;
    params[key] = state[key];
  }
  return params;
}
