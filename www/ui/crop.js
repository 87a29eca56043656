// Which part of a picture a model sees: the crop its training images went through. Pure functions
// shared by the worker (which decodes and crops) and the page (which outlines the crop).

/**
 * The part of a bw × bh picture that becomes the w × h input: scale s so that the picture covers
 * w × h / fraction, then the centred w × h crop, with PIL's offsets floor((bw·s − w) / 2).
 * In the picture's pixels (fractional when s ≠ 1). A picture of exactly w × h is used as it is.
 */
export function cropOf(bw, bh, w, h, fraction) {
  if (bw === w && bh === h) return { x: 0, y: 0, width: w, height: h };
  const f = fraction > 0 && fraction <= 1 ? fraction : 1;
  const s = Math.max(w / bw, h / bh) / f;
  return { x: Math.floor((bw * s - w) / 2) / s, y: Math.floor((bh * s - h) / 2) / s, width: w / s, height: h / s };
}

/**
 * How much of the picture the model's training images kept: model.json's input.resize_short_side
 * (or its preprocess text, "resize so the short side is 256 px, then … centre 224x224 crop") gives
 * 224 / 256 = 0.875; without either, 1 (the largest centred crop).
 * @param {object | null} card model.json
 * @param {number[]} inputShape [1, C, H, W]
 */
export function cropFraction(card, inputShape) {
  const input = card?.input ?? {};
  const [, , h, w] = inputShape;
  const short = Number(input.resize_short_side ?? String(input.preprocess ?? '').match(/short side (?:is |to )?(\d+)/)?.[1]);
  return short > 0 ? Math.min(1, Math.min(h, w) / short) : 1;
}
