// The held-out test digits a digit model ships (test-digits.bin), read without copying.

/**
 * test-digits.bin: `count` images of `side`×`side` bytes (white digit on black, value round(p·255)),
 * then `count` label bytes.
 */
export class TestDigits {
  #bytes;
  constructor(bytes, count, side = 28) {
    const size = side * side;
    if (!Number.isInteger(count) || count <= 0 || bytes.length !== count * (size + 1)) {
      throw new Error(`test-digits.bin has ${bytes.length} bytes, expected ${count} × (${size} + 1)`);
    }
    this.#bytes = bytes;
    this.count = count;
    this.side = side;
  }

  /** Digit `i` as the model's input: CHW floats in [0, 1]. */
  pixels(i) {
    const size = this.side * this.side;
    return Float32Array.from(this.#bytes.subarray(i * size, (i + 1) * size), (v) => v / 255);
  }

  /** The true class of digit `i`. */
  label(i) {
    return this.#bytes[this.count * this.side * this.side + i];
  }
}
