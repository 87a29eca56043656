// Small helpers shared by the article's purpose-made figures: a seeded random generator (so the
// figures look the same on every visit and in tests) and a crisp canvas at any devicePixelRatio.

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded standard normal generator (Box–Muller on `seededRandom`). */
export function seededNormal(seed) {
  const uniform = seededRandom(seed);
  return () => {
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Sizes `canvas`'s backing store to its CSS size × devicePixelRatio and returns a context that
 * draws in CSS pixels, with the canvas's CSS colours: `{ ctx, width, height, ratio, colour(name) }`,
 * or null while the canvas is not laid out.
 */
export function prepareCanvas(canvas) {
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return null;
  const w = Math.round(width * ratio);
  const h = Math.round(height * ratio);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const css = getComputedStyle(canvas);
  const colour = (name) => css.getPropertyValue(name).trim() || '#888';
  return { ctx, width, height, ratio, colour, font: css.fontFamily };
}

/** Redraws `draw` whenever `element` changes size (and once now). */
export function redrawOnResize(element, draw) {
  let frame = 0;
  const schedule = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(draw);
  };
  new ResizeObserver(schedule).observe(element);
  schedule();
  return schedule;
}

/** Whether the reader asked for less motion. */
export function prefersReducedMotion() {
  return window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
}

/** A number with `digits` significant digits, without exponent notation for ordinary sizes. */
export function formatNumber(value, digits = 3) {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** The elements of a figure by name: `parts(figure, { plot: '.plot' })` → `{ plot: Element }`. */
export function parts(root, selectors) {
  return Object.fromEntries(Object.entries(selectors).map(([name, selector]) => [name, root.querySelector(selector)]));
}
