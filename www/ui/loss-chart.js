// A line chart of an iterative attack's loss at each step (step 0 = where it starts), with axis
// titles. Untargeted attacks climb the loss of the model's answer; targeted ones descend the
// target's.
import { prepareChartCanvas, drawGrid } from './chart-canvas.js';

const PAD = { left: 52, right: 12, top: 10, bottom: 36 };

export class LossChart {
  #canvas;
  #ctx;
  #data = null; // {losses: number[], targeted: boolean}

  constructor(canvas) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d');
    new ResizeObserver(() => this.#draw()).observe(canvas);
  }

  show(data) {
    this.#data = data;
    this.#draw();
  }

  #draw() {
    const data = this.#data;
    if (!data) return;
    const steps = Math.max(1, data.losses.length - 1);
    const prepared = prepareChartCanvas(this.#canvas, this.#ctx, PAD, steps);
    if (!prepared) return;
    const { width, plotW, plotH, x, y, colour } = prepared;
    const ctx = this.#ctx;
    // The loss axis runs from 0 to a round number above the largest finite loss.
    const finite = data.losses.filter(Number.isFinite);
    const top = niceTop(Math.max(...finite, 1e-6));
    const yOf = (loss) => y(Math.min(Number.isFinite(loss) ? loss : top, top) / top);

    drawGrid(ctx, prepared, PAD, [0, 0.5, 1].map((f) => [f, String(+(f * top).toPrecision(3))]));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const every = Math.max(1, Math.ceil(steps / 10));
    for (let k = 0; k <= steps; k += every) ctx.fillText(String(k), Math.min(x(k), width - 8), PAD.top + plotH + 4);
    ctx.fillText('step', PAD.left + plotW / 2, PAD.top + plotH + 19);
    ctx.save();
    ctx.translate(11, PAD.top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(data.targeted ? 'loss of the target' : 'loss of the answer', 0, 0);
    ctx.restore();

    const style = colour('--fooled', '#b42318');
    ctx.strokeStyle = style;
    ctx.fillStyle = style;
    ctx.lineWidth = 2;
    ctx.beginPath();
    data.losses.forEach((l, k) => (k ? ctx.lineTo(x(k), yOf(l)) : ctx.moveTo(x(k), yOf(l))));
    ctx.stroke();
    if (data.losses.length <= 60) {
      data.losses.forEach((l, k) => {
        ctx.beginPath();
        ctx.arc(x(k), yOf(l), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      });
    }
  }
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
function niceTop(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((t) => t >= v);
}
