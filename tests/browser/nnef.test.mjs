// The NNEF file `./build.sh site` derives from each model (src/nnef.rs): the worker loads it when
// the card names it, gets the same answers as from the ONNX file, and falls back to the ONNX file
// when the NNEF file is missing or damaged (a plain Error from the engine, never a trap).
//
//   node --test tests/browser/nnef.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SITE, start, newPage, assertClean } from '../support/browser.mjs';

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

test('the site ships an NNEF file beside each model, named by its card', () => {
  for (const name of ['mnist', 'efficientnet-lite0']) {
    const card = JSON.parse(readFileSync(join(SITE, 'models', name, 'model.json'), 'utf8'));
    assert.equal(card.nnef?.file, 'model.nnef.tar', `${name}: card.nnef`);
    const tar = join(SITE, 'models', name, 'model.nnef.tar');
    assert.ok(existsSync(tar), `${name}: the tar`);
    // Compressed copies where they save 10 % (MNIST's float32 weights barely shrink).
    if (name === 'efficientnet-lite0') assert.ok(existsSync(`${tar}.br`) && existsSync(`${tar}.gz`), `${name}: its .br and .gz`);
    assert.equal(readFileSync(tar).length, card.nnef.bytes);
  }
});

test('the worker loads MNIST from NNEF with the ONNX answers, and falls back to ONNX', async () => {
  const page = await newPage(env.browser, env.url);
  await page.goto(`${env.url}models/mnist/model.json`);
  const results = await page.evaluate(async () => {
    const worker = new Worker('/worker.js', { type: 'module' });
    let id = 0;
    const call = (op, args) => new Promise((resolve) => {
      const me = ++id;
      const listen = ({ data }) => {
        if (data.id !== me || !('ok' in data)) return;
        worker.removeEventListener('message', listen);
        resolve(data);
      };
      worker.addEventListener('message', listen);
      worker.postMessage({ id: me, op, args });
    });
    const url = new URL('/models/mnist/model.onnx', location.href).href;
    const nnef = (file) => ({ url: new URL(file, location.href).href, bytes: 0 });
    const out = {};
    const image = Array.from({ length: 784 }, (_, i) => ((i * 7) % 17) / 17);
    for (const [key, args] of [
      ['onnx', { url }],
      ['nnef', { url, nnef: nnef('/models/mnist/model.nnef.tar') }],
      ['missing', { url, nnef: nnef('/models/mnist/no-such.nnef.tar') }],
      ['damaged', { url, nnef: nnef('/models/mnist/test-digits.bin') }],
    ]) {
      const loaded = await call('load', { key, ...args });
      out[key] = { ok: loaded.ok, error: loaded.error, fatal: loaded.fatal, format: loaded.result?.format, nnefProblem: loaded.result?.nnefProblem, bytes: loaded.result?.bytes, readWhileDownloadingBytes: loaded.result?.readWhileDownloadingBytes, ms: loaded.result?.ms };
    }
    // Same answers from the two loads: the page's operations take the model's key.
    const { engine } = { engine: await import('/pkg/fgsm_wasm.js') };
    await engine.default();
    const [onnx, tar] = await Promise.all(['/models/mnist/model.onnx', '/models/mnist/model.nnef.tar'].map(async (f) => new Uint8Array(await (await fetch(f)).arrayBuffer())));
    const a = new engine.Model(onnx);
    const b = engine.Model.fromNnef(tar);
    const x = Float32Array.from(image);
    const [pa, pb] = [a.predict(x), b.predict(x)];
    const [ga, gb] = [a.inputGradient(x, 3), b.inputGradient(x, 3)];
    out.same = { probs: pa.every((v, i) => v === pb[i]), grad: ga.grad.every((v, i) => v === gb.grad[i]), loss: ga.loss === gb.loss };
    out.stages = b.loadStages.map((s) => s.stage);
    // The same file pushed into an NnefLoader in pieces, as the worker does while it downloads.
    const loader = new engine.NnefLoader();
    for (let at = 0; at < tar.length; at += 4099) loader.push(tar.subarray(at, at + 4099));
    const c = loader.finish();
    const gc = c.inputGradient(x, 3);
    out.streamed = { probs: c.predict(x).every((v, i) => v === pa[i]), grad: gc.grad.every((v, i) => v === ga.grad[i]), stages: c.loadStages.map((s) => s.stage) };
    const refusing = new engine.NnefLoader();
    refusing.push(tar.subarray(0, 5000));
    try {
      refusing.finish();
      out.streamedCut = 'loaded';
    } catch (e) {
      out.streamedCut = `${e.constructor.name}: ${e.message}`;
    }
    const bad = tar.slice();
    bad[1000] ^= 4;
    try {
      engine.Model.fromNnef(bad);
      out.corrupt = 'loaded';
    } catch (e) {
      out.corrupt = `${e.constructor.name}: ${e.message}`;
    }
    worker.terminate();
    return out;
  });
  const { ok, error, fatal, format, nnefProblem, readWhileDownloadingBytes } = results.onnx;
  assert.deepEqual({ ok, error, fatal, format, nnefProblem, readWhileDownloadingBytes }, { ok: true, error: undefined, fatal: undefined, format: 'onnx', nnefProblem: null, readWhileDownloadingBytes: 0 });
  assert.equal(results.nnef.format, 'nnef', JSON.stringify(results.nnef));
  assert.equal(results.missing.ok, true, JSON.stringify(results.missing));
  assert.equal(results.missing.format, 'onnx');
  assert.match(results.missing.nnefProblem, /no-such|404/);
  assert.equal(results.damaged.ok, true, JSON.stringify(results.damaged));
  assert.equal(results.damaged.format, 'onnx');
  assert.match(results.damaged.nnefProblem, /NNEF/);
  assert.deepEqual(results.same, { probs: true, grad: true, loss: true });
  assert.deepEqual(results.stages, ['read nnef', 'forward plan', 'gradient plan']);
  assert.deepEqual(results.streamed, { probs: true, grad: true, stages: results.stages });
  assert.match(results.streamedCut, /^Error: not a readable NNEF file: .*damaged/s);
  // The engine was there from the first load on, so it read every piece of the NNEF file as it came.
  assert.equal(results.nnef.readWhileDownloadingBytes, results.nnef.bytes, JSON.stringify(results.nnef));
  console.log(`MNIST from NNEF, read as it came: ${results.nnef.ms.toFixed(1)} ms of work after the last byte`);
  assert.match(results.corrupt, /^Error: not a readable NNEF file: .*damaged/s);
  // The fallbacks warn (console.warn); the missing file's 404 is the one expected error.
  assertClean(page, /404|Failed to load resource/);
  await page.close();
});
