// A canvas to draw a digit on with mouse, pen or finger (pointer events): a thick, round, white
// stroke on black, like the digits of MNIST. The canvas needs `touch-action: none` (style.css) so
// that a finger draws instead of scrolling the page.

export class DrawPad {
  #canvas;
  #ctx;
  #onChange;
  #pointer = null; // id of the pointer that is drawing
  #last = null; // its last position, in canvas pixels
  #empty = true;
  #scheduled = false;
  #final = false;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onChange?: (pad: DrawPad, {final: boolean}) => void, lineWidth?: number}} options
   *   onChange runs at most once an animation frame while drawing, with final = true once a
   *   stroke has ended.
   */
  constructor(canvas, { onChange = () => {}, lineWidth = canvas.width / 11 } = {}) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.#onChange = onChange;
    Object.assign(this.#ctx, { lineWidth, lineCap: 'round', lineJoin: 'round', strokeStyle: '#fff', fillStyle: '#fff' });
    this.clear();
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
      canvas.addEventListener(type, (e) => this.#up(e));
    }
  }

  get isEmpty() {
    return this.#empty;
  }

  get width() {
    return this.#canvas.width;
  }

  get height() {
    return this.#canvas.height;
  }

  /** The drawing as RGBA bytes (a fresh buffer, free to transfer). */
  rgba() {
    return this.#ctx.getImageData(0, 0, this.#canvas.width, this.#canvas.height).data;
  }

  clear() {
    const { width, height } = this.#canvas;
    this.#ctx.save();
    this.#ctx.fillStyle = '#000';
    this.#ctx.fillRect(0, 0, width, height);
    this.#ctx.restore();
    this.#empty = true;
    this.#pointer = null;
    this.#last = null;
  }

  #down(e) {
    if (this.#pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.#pointer = e.pointerId;
    this.#canvas.setPointerCapture?.(e.pointerId);
    this.#last = this.#point(e);
    // A dot, so that a tap without movement leaves a mark too.
    this.#ctx.beginPath();
    this.#ctx.arc(this.#last.x, this.#last.y, this.#ctx.lineWidth / 2, 0, 2 * Math.PI);
    this.#ctx.fill();
    this.#empty = false;
    this.#changed(false);
  }

  #move(e) {
    if (e.pointerId !== this.#pointer) return;
    e.preventDefault();
    // Coalesced events keep fast strokes smooth where the browser batches pointer moves.
    const events = e.getCoalescedEvents?.() ?? [];
    this.#ctx.beginPath();
    this.#ctx.moveTo(this.#last.x, this.#last.y);
    for (const ev of events.length ? events : [e]) {
      this.#last = this.#point(ev);
      this.#ctx.lineTo(this.#last.x, this.#last.y);
    }
    this.#ctx.stroke();
    this.#changed(false);
  }

  #up(e) {
    if (e.pointerId !== this.#pointer) return;
    this.#pointer = null;
    this.#last = null;
    this.#changed(true);
  }

  /** Pointer position in canvas pixels (the canvas may be shown at any CSS size). */
  #point(e) {
    const rect = this.#canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) / rect.width) * this.#canvas.width,
      y: ((e.clientY - rect.top) / rect.height) * this.#canvas.height,
    };
  }

  #changed(final) {
    this.#final ||= final;
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      const final = this.#final;
      this.#scheduled = false;
      this.#final = false;
      this.#onChange(this, { final });
    });
  }
}
