// The chart under the ε slider: for every ε on the slider's range, whether FGSM changes the
// prediction (shaded, with the new class written on each run) and the probability the model
// still gives the reference class (the line). Clicking or dragging on it picks an ε.
import { prepareChartCanvas } from './chart-canvas.js';

const PAD = { left: 52, right: 12, top: 18, bottom: 38 };

export class SweepChart {
  #canvas;
  #ctx;
  #data = null;
  #eps = 0;
  #max;
  #onPick;

  #ticks;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{max: number, onPick: (eps: number) => void, ticks?: {value: number, label: string}[]}} options
   *   `ticks` label the ε axis (default: every 0.1).
   */
  constructor(canvas, { max, onPick, ticks }) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d');
    this.#onPick = onPick;
    this.axis = { max, ticks };
    new ResizeObserver(() => this.#draw()).observe(canvas);
    let dragging = null;
    canvas.addEventListener('pointerdown', (e) => {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      dragging = e.pointerId;
      canvas.setPointerCapture?.(e.pointerId);
      this.#pick(e);
    });
    canvas.addEventListener('pointermove', (e) => e.pointerId === dragging && this.#pick(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
      canvas.addEventListener(type, (e) => e.pointerId === dragging && (dragging = null));
    }
  }

  /**
   * @param {{eps: Float32Array, predicted: Uint16Array, referenceProbs: Float32Array} | null} data
   * @param {{changed: (cls: number) => 'fooled' | 'other' | null, classes: string[]}} how
   *   `changed` says how to shade a predicted class.
   */
  show(data, how) {
    this.#data = data && { ...data, ...how };
    this.#draw();
  }

  /** The ε axis: from 0 to `max`, labelled at `ticks` (default: every 0.1). */
  set axis({ max, ticks }) {
    this.#max = max;
    this.#ticks = ticks ?? Array.from({ length: Math.floor(max / 0.1 + 1e-9) + 1 }, (_, i) => ({ value: i * 0.1, label: (i * 0.1).toFixed(1) }));
    this.#data = null;
    this.#draw();
  }

  set eps(eps) {
    this.#eps = eps;
    this.#draw();
  }

  #pick(e) {
    const rect = this.#canvas.getBoundingClientRect();
    const t = (e.clientX - rect.left - PAD.left) / (rect.width - PAD.left - PAD.right);
    this.#onPick(Math.max(0, Math.min(1, t)) * this.#max);
  }

  #draw() {
    const prepared = prepareChartCanvas(this.#canvas, this.#ctx, PAD, this.#max);
    if (!prepared) return;
    const { width, height, plotW, plotH, x, y, colour, fontFamily } = prepared;
    const ctx = this.#ctx;
    const ink = colour('--ink', '#222');
    const muted = colour('--muted', '#666');

    ctx.fillStyle = colour('--chart-bg', '#f4f5f7');
    ctx.fillRect(PAD.left, PAD.top, plotW, plotH);
    ctx.font = `11px ${fontFamily}`;
    ctx.textBaseline = 'middle';

    const data = this.#data;
    if (data) {
      const n = data.eps.length;
      // The width of one ε of the grid (the data may be a first part of it).
      const step = n > 1 ? (plotW * (data.eps[1] - data.eps[0])) / this.#max : plotW / 16;
      // Runs of the same predicted class, shaded when the prediction changed.
      let start = 0;
      for (let i = 1; i <= n; i++) {
        if (i < n && data.predicted[i] === data.predicted[start]) continue;
        const kind = data.changed(data.predicted[start]);
        if (kind) {
          const left = Math.max(PAD.left, x(data.eps[start]) - step / 2);
          const right = Math.min(PAD.left + plotW, x(data.eps[i - 1]) + step / 2);
          ctx.fillStyle = colour(kind === 'fooled' ? '--fooled-bg' : '--other-bg', '#fde2e1');
          ctx.fillRect(left, PAD.top, right - left, plotH);
          const label = data.classes[data.predicted[start]] ?? String(data.predicted[start]);
          ctx.fillStyle = colour(kind === 'fooled' ? '--fooled' : '--other', '#b42318');
          if (ctx.measureText(label).width + 4 <= right - left) {
            ctx.textAlign = 'left';
            ctx.fillText(label, left + 2, PAD.top / 2);
          }
        }
        start = i;
      }
      // Probability of the reference class.
      ctx.strokeStyle = colour('--accent', '#1d5fd1');
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const px = x(data.eps[i]);
        const py = y(data.referenceProbs[i]);
        if (i) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
      }
      ctx.stroke();
    }

    // Axes: y at 0, 50 and 100 %, x at the ticks, and what each axis is.
    ctx.fillStyle = muted;
    ctx.textAlign = 'right';
    for (const p of [0, 0.5, 1]) ctx.fillText(`${p * 100}%`, PAD.left - 4, y(p));
    ctx.textBaseline = 'top';
    for (const { value, label } of this.#ticks) {
      const w = ctx.measureText(label).width;
      ctx.textAlign = 'center';
      ctx.fillText(label, Math.min(x(value), width - w / 2 - 1), PAD.top + plotH + 4);
    }
    ctx.fillText('ε, the most any pixel may change', PAD.left + plotW / 2, PAD.top + plotH + 20);
    ctx.save();
    ctx.translate(12, PAD.top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('probability', 0, 0);
    ctx.restore();

    // The slider's ε.
    const px = Math.round(x(this.#eps)) + 0.5;
    ctx.strokeStyle = ink;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(px, PAD.top - 2);
    ctx.lineTo(px, PAD.top + plotH + 2);
    ctx.stroke();
  }
}
