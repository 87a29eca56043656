// The one download-with-progress function, for the page and the worker alike: the engine, models,
// test digits and sample photos all come through it.

/**
 * Fetches `url` and returns the Response with a body that reports `onProgress({loaded, total})`
 * as it streams: at most every `every` ms and once at the end. `total` is `expectedBytes` (the
 * size the caller knows, e.g. from a model card) when the server compresses, since Content-Length
 * then counts compressed bytes; 0 when neither says. Fails with an Error in plain words for a network error or
 * an HTTP error status, and with an AbortError when `signal` aborts. `started`: the Response of a
 * fetch of `url` already under way (its request went out earlier), to use instead of a new one.
 * @returns {Promise<Response>}
 */
export async function fetchWithProgress(url, { onProgress = null, signal = undefined, every = 50, expectedBytes = 0, started = null } = {}) {
  let response;
  try {
    response = await (started ?? fetch(url, { signal }));
  } catch (e) {
    if (signal?.aborted) throw abortError();
    throw new Error(`could not load ${url}: ${e.message}`);
  }
  if (!response.ok) {
    response.body?.cancel().catch(() => {});
    throw new Error(`could not load ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  if (!onProgress || !response.body) return response;
  const total = (response.headers.get('Content-Encoding') ? 0 : Number(response.headers.get('Content-Length'))) || expectedBytes || 0;
  const reader = response.body.getReader();
  let loaded = 0;
  let reported = 0;
  const body = new ReadableStream({
    async pull(controller) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        controller.error(signal?.aborted ? abortError() : new Error(`could not load ${url}: ${e.message}`));
        return;
      }
      if (chunk.done) {
        onProgress({ loaded, total });
        controller.close();
        return;
      }
      loaded += chunk.value.byteLength;
      if (performance.now() - reported > every) {
        reported = performance.now();
        onProgress({ loaded, total });
      }
      controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The body of `url` as bytes (options as for fetchWithProgress). */
export async function download(url, options = {}) {
  const chunks = [];
  const length = await downloadChunks(url, (chunk) => chunks.push(chunk), options);
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Downloads `url` (options as for fetchWithProgress), handing each piece of its body to
 * `onChunk(bytes)` as it arrives, for a reader that works on a file while it downloads.
 * `onChunk` must not throw. → the number of bytes.
 * The body is read chunk by chunk rather than by arrayBuffer(): a body that fails part-way (a
 * download the page handed to the worker that ended in an HTTP error, say) then keeps its own
 * message, where arrayBuffer() says only "Failed to fetch".
 */
export async function downloadChunks(url, onChunk, options = {}) {
  const response = await fetchWithProgress(url, options);
  if (!response.body) return 0;
  try {
    const reader = response.body.getReader();
    let length = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return length;
      onChunk(value);
      length += value.byteLength;
    }
  } catch (e) {
    if (options.signal?.aborted || e.name === 'AbortError') throw abortError();
    throw e.message?.startsWith('could not load') ? e : new Error(`could not load ${url}: ${e.message}`);
  }
}

/** The body of `url` as JSON, with the file named when it is not valid JSON. */
export async function downloadJson(url) {
  const response = await fetchWithProgress(url);
  try {
    return await response.json();
  } catch (e) {
    throw new Error(`${url} is not valid JSON: ${e.message}`);
  }
}

/** The body of `url` as a Blob (for pictures). */
export async function downloadBlob(url, options = {}) {
  return (await fetchWithProgress(url, options)).blob();
}

export function abortError() {
  return Object.assign(new Error('stopped'), { name: 'AbortError' });
}
