// Fetching a model's files (model.json, model.onnx, test-digits.bin, sample photos) by URLs
// relative to the page, with download progress, and reading the test digits.

/**
 * The body of `url` as bytes; `onProgress({loaded, total})` after every chunk (total is 0 when the
 * server does not say).
 */
export async function fetchBytes(url, onProgress = () => {}, signal = undefined) {
  const response = await fetchOk(url, signal);
  // Content-Length counts compressed bytes when the server compresses: then it is no total.
  const total = response.headers.get('Content-Encoding') ? 0 : Number(response.headers.get('Content-Length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress({ loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export async function fetchJson(url) {
  const response = await fetchOk(url);
  try {
    return await response.json();
  } catch (e) {
    throw new Error(`${url} is not valid JSON: ${e.message}`);
  }
}

/** The body of `url` as a Blob (for pictures). */
export async function fetchBlob(url, signal = undefined) {
  return (await fetchOk(url, signal)).blob();
}

async function fetchOk(url, signal) {
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Error(`could not load ${url}: ${e.message}`);
  }
  if (!response.ok) throw new Error(`could not load ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return response;
}

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
