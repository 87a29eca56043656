// Shared by the two charts: a crisp canvas at any devicePixelRatio, and the page's colours.

/**
 * Sizes `canvas`'s backing store to its CSS size × devicePixelRatio, clears it, and sets `ctx` to
 * draw in CSS pixels. → `{width, height, colour(name, fallback), fontFamily}`, or null while the canvas is
 * hidden (zero size).
 */
export function prepareChartCanvas(canvas, ctx) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return null;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const css = getComputedStyle(canvas);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return { width, height, colour, fontFamily: css.fontFamily };
}
