// The standalone page's address: ?model=efficientnet-lite0#sample=coffee&eps=4/255&target=368 or
// #digit=12&eps=0.25&method=pgd&steps=20&seed=3, so that a view can be shared. Translated to and
// from the widget's attributes (model, image, eps, target, method, steps, alpha, momentum, seed).
// Pure functions (Node unit tests: tests/unit/).
import { METHODS, PARAMS, parseParam } from './method-params.js';

const NAME = /^[\w-]+$/;

/**
 * `search` ("?model=…") and `hash` ("#digit=7&eps=0.1") → the attributes they ask for, each only
 * when present and well-formed: {model?, image?, eps?, target?}. Numbers in the address
 * count from 1 (digit 1 is the first); the widget's `image` counts from 0.
 */
export function parseAddress(search, hash) {
  const query = new URLSearchParams(search);
  const p = new URLSearchParams(String(hash).replace(/^#/, ''));
  const view = {};
  const model = query.get('model');
  if (model && NAME.test(model)) view.model = model;
  const counted = (v) => (/^\d+$/.test(v ?? '') && Number(v) >= 1 ? String(Number(v) - 1) : null);
  const digit = counted(p.get('digit'));
  const sample = p.get('sample');
  if (digit !== null) view.image = digit;
  else if (p.has('draw')) view.image = 'draw';
  // A digit's link made when the page opened on the digits still opens on the digits.
  if ((digit !== null || p.has('draw')) && !view.model) view.model = 'mnist';
  else if (sample !== null) {
    const index = counted(sample);
    if (index !== null) view.image = index;
    else if (NAME.test(sample)) view.image = sample;
  }
  const eps = p.get('eps');
  if (eps && /^(\d*\.?\d+|\d+\/255)$/.test(eps)) view.eps = eps;
  const target = p.get('target');
  if (target && /^\d+$/.test(target)) view.target = target;
  // The method, and of its parameters those it takes (each only when valid).
  const method = p.get('method');
  if (method && Object.hasOwn(METHODS, method)) {
    view.method = method;
    for (const key of METHODS[method].params) {
      const text = p.get(key);
      if (text !== null && text !== '' && !parseParam(key, text).error) view[key] = text;
    }
  }
  return view;
}

/**
 * What the page shows → its address. `view`: {model, defaultModel, kind ('digits' | 'photo'),
 * image (a digit index, a sample name, 'draw', or null for the reader's own picture), eps, target,
 * method (absent: FGSM), methodParams ({steps, alpha, momentum, seed}, those the method takes)}.
 * @returns {{search: string, hash: string}}
 */
export function formatAddress(search, { model, defaultModel, kind, image, eps, target, method = 'fgsm', methodParams = {} }) {
  const query = new URLSearchParams(search);
  if (!model || model === defaultModel || !NAME.test(model)) query.delete('model');
  else query.set('model', model);
  const parts = [];
  if (kind === 'digits') {
    if (image === 'draw') parts.push('draw');
    else if (/^\d+$/.test(String(image ?? ''))) parts.push(`digit=${Number(image) + 1}`);
    parts.push(`eps=${Number(eps.toFixed(3))}`);
  } else {
    if (image !== null && image !== undefined && NAME.test(String(image))) parts.push(`sample=${image}`);
    parts.push(`eps=${Math.round(eps * 255)}/255`);
  }
  if (target !== null && target !== undefined) parts.push(`target=${target}`);
  if (method !== 'fgsm' && Object.hasOwn(METHODS, method)) {
    parts.push(`method=${method}`);
    for (const key of Object.keys(PARAMS)) {
      const value = methodParams[key];
      if (METHODS[method].params.includes(key) && value !== null && value !== undefined) parts.push(`${key}=${value}`);
    }
  }
  const rest = query.toString();
  return { search: rest ? `?${rest}` : '', hash: `#${parts.join('&')}` };
}
