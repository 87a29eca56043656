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

/**
 * The plot's background and its horizontal grid lines, each labelled on the left: `ticks` are
 * [fraction of the height from the bottom, label]. Leaves the font set and the muted colour as
 * the fill, for the axis labels that follow.
 */
export function drawGrid(ctx, { plotW, plotH, y, colour, fontFamily }, pad, ticks) {
  ctx.fillStyle = colour('--panel', '#fff');
  ctx.fillRect(pad.left, pad.top, plotW, plotH);
  ctx.strokeStyle = colour('--line', '#ddd');
  ctx.lineWidth = 1;
  ctx.font = `11px ${fontFamily}`;
  ctx.fillStyle = colour('--muted', '#666');
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const [f, label] of ticks) {
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y(f)) + 0.5);
    ctx.lineTo(pad.left + plotW, Math.round(y(f)) + 0.5);
    ctx.stroke();
    ctx.fillText(label, pad.left - 4, y(f));
  }
}
