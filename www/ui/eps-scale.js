// ε on each kind of model, and ε as authors and addresses write it ("0.25" or "2/255").

/**
 * Digits: 0 to 0.5 in steps of 0.005, as in the paper's MNIST figures. Photos: whole grey levels,
 * 0 to 16/255 (ImageNet attacks are quoted in /255), which also keeps x′ on the 8-bit grid of the
 * photo, so saving it as a PNG loses nothing.
 */
export const SCALES = {
  digits: {
    max: 0.5,
    initial: 0.25,
    slider: { max: 0.5, step: 0.005 },
    toSlider: (eps) => eps,
    fromSlider: (v) => Math.round(Math.min(0.5, Math.max(0, v)) * 200) / 200, // the slider's steps of 0.005
    key: (eps) => eps.toFixed(3),
    full: (eps) => `${eps.toFixed(3)} (${(eps * 255).toFixed(1)}/255)`,
    pixels: (eps) => `${eps.toFixed(3)} × 255 = ${(eps * 255).toFixed(1)} grey levels`,
    story: (eps, values = 784) =>
      eps === 0
        ? 'At ε = 0 nothing moves. Drag the slider to attack.'
        : `Every pixel may move by ${eps.toFixed(3)}, ${Math.round(eps * 100)} % of the way from black to white. ` +
          `Far more than a photo needs: a digit has only ${values.toLocaleString('en')} pixels to push with. Yet you still read the digit easily.`,
    grid: Array.from({ length: 101 }, (_, i) => (i * 0.5) / 100),
    chunk: 101,
    ticks: undefined,
    gains: [['fit', 'full range'], ['1', '×1 (true)'], ['2', '×2'], ['5', '×5'], ['10', '×10']],
  },
  photo: {
    max: 16 / 255,
    initial: 4 / 255,
    slider: { max: 16, step: 1 },
    toSlider: (eps) => Math.round(eps * 255),
    fromSlider: (v) => Math.round(Math.min(16, Math.max(0, v))) / 255,
    key: (eps) => `${Math.round(eps * 255)}/255`,
    full: (eps) => `${Math.round(eps * 255)}/255 = ${eps.toFixed(4)}`,
    pixels: (eps) => `${Math.round(eps * 255)}/255 = ${eps.toFixed(4)}: ${Math.round(eps * 255)} of 255 grey levels`,
    story: (eps, values = 224 * 224 * 3) => {
      const n = Math.round(eps * 255);
      if (!n) return 'At ε = 0 nothing moves. Drag the slider to attack.';
      return `No pixel changes by more than ${n} of its 255 brightness levels${n <= 4 ? ', too little to see' : ''}. ` +
        `So small a step is enough because it is taken in all ${values.toLocaleString('en')} numbers of the picture at once, each in the direction that hurts.`;
    },
    grid: Array.from({ length: 17 }, (_, i) => i / 255),
    // Forward passes per request: one, so that a slider step or a new picture waits for at most one
    // pass (~70 ms on EfficientNet-Lite0) before the worker takes it.
    chunk: 1,
    ticks: [0, 4, 8, 12, 16].map((v) => ({ value: v / 255, label: v ? `${v}/255` : '0' })),
    gains: [['fit', 'full range'], ['1', '×1 (true)'], ['5', '×5'], ['10', '×10'], ['25', '×25'], ['50', '×50']],
  },
};

/** ε on `kind`'s scale: the nearest value its slider can show. */
export function snapEps(kind, eps) {
  const s = SCALES[kind];
  return s.fromSlider(s.toSlider(eps));
}

/**
 * "0.25" → 0.25, "2/255" → 2/255. Throws an Error in plain words for anything else, or for a value
 * outside [0, 1].
 */
export function parseEps(text) {
  const s = String(text).trim();
  const levels = s.match(/^(\d+(?:\.\d+)?)\s*\/\s*255$/);
  const eps = levels ? Number(levels[1]) / 255 : /^\d*\.?\d+(e-?\d+)?$/i.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(eps)) throw new Error(`ε "${s}" is not a number: write it as 0.25 or as 2/255`);
  if (eps < 0 || eps > 1) throw new Error(`ε ${s} is outside 0 to 1 (pixels run from 0 to 1, so a larger step means nothing)`);
  return eps;
}

/**
 * The multiplier perturbationToRgba gets for a gain choice: "fit" fills the grey range with ±ε;
 * a number n shows x′ − x magnified n times around mid-grey.
 */
export function gainFactor(gain, eps) {
  return gain === 'fit' ? 1 : 2 * Number(gain) * eps;
}
