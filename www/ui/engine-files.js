// The files the engine's worker downloads for a request. The page starts these downloads itself
// and hands them to the worker as they arrive (ui/engine.js); a worker that was handed nothing
// starts them the moment the request arrives (worker.js).

/** The engine build (SIMD128; a relaxed-SIMD build measured no faster and was dropped). */
export const ENGINE = { name: 'SIMD128', file: 'fgsm_wasm_bg.wasm' };

/** The folder of the engine's files when a request does not name one: the site's pkg/. */
export const DEFAULT_PKG = new URL('../pkg/', import.meta.url).href;

/** The engine's file in the folder `pkg`. */
export const engineUrl = (pkg) => new URL(ENGINE.file, pkg ?? DEFAULT_PKG).href;

/** The small network the worker warms the engine up with (www/engine-warmup.js), beside the engine. */
export const warmupUrl = (pkg) => new URL('warmup.nnef.tar', pkg ?? DEFAULT_PKG).href;

/**
 * The file a `load` request downloads first: a shipped model's NNEF file when it needs no gradient
 * graph built (`nnef`: {url}), else its ONNX file (`url`); null for a reader's own file.
 */
export const firstModelFile = ({ url, nnef = null, build = null }) => (!url ? null : nnef?.url && !build ? nnef.url : url);
