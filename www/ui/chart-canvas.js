// Shared by the two charts: a crisp canvas at any devicePixelRatio, and the page's colours.

/**
 * Sizes `canvas`'s backing store to its CSS size × devicePixelRatio, clears it, and sets `ctx` to
 * draw in CSS pixels. The plot is the canvas less `pad`, with ε from 0 to `max` across and a
 * probability from 0 to 1 up. → `{width, height, plotW, plotH, x(eps), y(p), colour(name,
 * fallback), fontFamily}`, or null while the canvas is hidden (zero size).
 */
export function prepareChartCanvas(canvas, ctx, pad, max) {
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
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (eps) => pad.left + (eps / max) * plotW;
  const y = (p) => pad.top + (1 - p) * plotH;
  return { width, height, plotW, plotH, x, y, colour, fontFamily: css.fontFamily };
}
