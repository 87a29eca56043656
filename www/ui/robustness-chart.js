// A line chart of error rate against ε (measured in the browser): FGSM as a solid line, PGD as a
// solid line with square marks, random ±ε noise as a dashed one, reference points (measured
// elsewhere, e.g. by PyTorch) as rings, and the slider's ε as a dotted line. Axis titles say what
// is plotted.
import { prepareChartCanvas, drawGrid } from './chart-canvas.js';

const PAD = { left: 52, right: 10, top: 10, bottom: 36 };

export class RobustnessChart {
  #canvas;
  #ctx;
  #max;
  #curve = null; // {eps: number[], error: number[], noiseError?: number[], pgd?: {eps: number[], error: (number|null)[]}}
  #reference = []; // [{eps, error}]
  #eps = 0;

  constructor(canvas, { max }) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d');
    this.#max = max;
    new ResizeObserver(() => this.#draw()).observe(canvas);
  }

  show(curve, reference = []) {
    this.#curve = curve;
    this.#reference = reference;
    this.#draw();
  }

  set eps(eps) {
    this.#eps = eps;
    this.#draw();
  }

  #draw() {
    const prepared = prepareChartCanvas(this.#canvas, this.#ctx, PAD, this.#max);
    if (!prepared) return;
    const { width, plotW, plotH, x, y, colour } = prepared;
    const ctx = this.#ctx;

    drawGrid(ctx, prepared, PAD, [0, 0.5, 1].map((p) => [p, `${p * 100}%`]));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = 0; t <= this.#max + 1e-9; t += 0.1) {
      ctx.fillText(t.toFixed(1), Math.min(x(t), width - 12), PAD.top + plotH + 4);
    }
    ctx.fillText('ε, the most any pixel may change', PAD.left + plotW / 2, PAD.top + plotH + 19);
    ctx.save();
    ctx.translate(11, PAD.top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText('digits misread', 0, 0);
    ctx.restore();

    const curve = this.#curve;
    const line = (eps, values, style, dash, square = false) => {
      const points = eps.map((e, i) => [e, values[i]]).filter(([, v]) => v !== null && v !== undefined);
      ctx.strokeStyle = style;
      ctx.fillStyle = style;
      ctx.lineWidth = 2;
      ctx.setLineDash(dash);
      ctx.beginPath();
      points.forEach(([e, v], i) => (i ? ctx.lineTo(x(e), y(v)) : ctx.moveTo(x(e), y(v))));
      ctx.stroke();
      ctx.setLineDash([]);
      for (const [e, v] of points) {
        ctx.beginPath();
        if (square) ctx.rect(x(e) - 3, y(v) - 3, 6, 6);
        else ctx.arc(x(e), y(v), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    };
    if (curve?.noiseError) line(curve.eps, curve.noiseError, colour('--noise', '#59616c'), [5, 4]);
    if (curve) line(curve.eps, curve.error, colour('--fooled', '#b42318'), []);
    if (curve?.pgd) line(curve.pgd.eps, curve.pgd.error, colour('--pgd', '#5b2a86'), [], true);
    ctx.strokeStyle = colour('--ink', '#222');
    ctx.lineWidth = 1.5;
    for (const point of this.#reference) {
      ctx.beginPath();
      ctx.arc(x(point.eps), y(point.error), 5, 0, 2 * Math.PI);
      ctx.stroke();
    }

    const px = Math.round(x(this.#eps)) + 0.5;
    ctx.strokeStyle = colour('--ink', '#222');
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(px, PAD.top);
    ctx.lineTo(px, PAD.top + plotH);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}
