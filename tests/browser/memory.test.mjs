// The engine's memory stays flat (issue 9, item 3): the wasm memory of a worker (worker.js, driven
// through the page's own WorkerClient, without a widget beside it) after 1,000 FGSM attacks on
// MNIST digits, each on a new image (so a new session each time, the old one freed), and after
// 20 load/free cycles and 20 replacements of a model under one key (also from its NNEF file, read
// as it downloads, and 20 such loads stopped mid-way). WebAssembly memory never
// shrinks, so a leak shows as growth; the figures are printed, and growth after a warm-up must
// stay under CEILING.
//
//   node --test tests/browser/memory.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage } from '../support/browser.mjs';

const MB = 1024 * 1024;
/** Allowed growth after the warm-up: a few 64 KiB pages of allocator slack, far below any leak per step. */
const CEILING = 4 * MB;

let env;
let page;
before(async () => {
  env = await start();
  page = await newPage(env.browser, env.url);
  // Any document of the site gives the origin; this one starts no widget of its own.
  await page.goto(`${env.url}models/mnist/model.json`);
  await page.evaluate(async () => {
    const { WorkerClient } = await import('/ui/worker-client.js');
    const { TestDigits } = await import('/ui/test-digits.js');
    const client = new WorkerClient(() => new Worker('/worker.js', { type: 'module' }));
    await client.call('init', { pkg: new URL('/pkg/', location.href).href });
    const card = await (await fetch('/models/mnist/model.json')).json();
    const bytes = new Uint8Array(await (await fetch('/models/mnist/test-digits.bin')).arrayBuffer());
    window.memoryTest = {
      client,
      digits: new TestDigits(bytes, card.test_digits.count),
      url: new URL('/models/mnist/model.onnx', location.href).href,
    };
  });
});
after(async () => {
  await env?.close();
});

/** Runs `steps` (an async function of the memoryTest object, sent as source) in the page. */
const inPage = (steps) => page.evaluate(`(${steps})(window.memoryTest)`);
const mb = (bytes) => `${(bytes / MB).toFixed(2)} MB`;

test('1,000 attacks on MNIST digits leave the wasm memory flat', async () => {
  const r = await inPage(async ({ client, digits, url }) => {
    await client.call('load', { key: 'mnist', url });
    const memory = async () => (await client.call('memory')).bytes;
    const start = await memory();
    // Each a new image in the same slot, as a reader stepping through the digits: the slot's
    // previous image (its session) is freed when the next is set.
    const attack = async (i) => {
      const { image } = await client.call('setImage', { model: 'mnist', slot: 'memory', pixels: digits.pixels(i % digits.count) });
      return client.call('attack', { image, eps: 0.05 + (i % 10) * 0.03, noise: true, terms: true });
    };
    for (let i = 0; i < 100; i++) await attack(i);
    const warm = await memory();
    for (let i = 100; i < 1000; i++) await attack(i);
    const { models, images } = await client.call('memory');
    return { start, warm, end: await memory(), models, images };
  });
  console.log(`# wasm memory: ${mb(r.start)} with MNIST loaded, ${mb(r.warm)} after 100 attacks, ${mb(r.end)} after 1,000 (growth after warm-up ${mb(r.end - r.warm)})`);
  assert.ok(r.end - r.warm <= CEILING, `growth over 900 attacks: ${mb(r.end - r.warm)}`);
  assert.equal(r.models, 1);
  assert.equal(r.images, 1, 'one image held: each new one freed the one before');
});

test('20 load/free cycles and 20 replacements of a model leave the wasm memory flat', async () => {
  const r = await inPage(async ({ client, url }) => {
    const memory = async () => (await client.call('memory')).bytes;
    const cycle = async () => {
      await client.call('load', { key: 'cycle', url });
      const { freed } = await client.call('unload', { key: 'cycle' });
      if (!freed) throw new Error('unload freed nothing');
    };
    for (let i = 0; i < 2; i++) await cycle();
    const warm = await memory();
    for (let i = 2; i < 20; i++) await cycle();
    const cycled = await memory();
    // The same key loaded again and again: each load frees the model it replaces (once it has
    // built the new one, so two copies coexist for a moment: the warm-up covers that peak).
    for (let i = 0; i < 2; i++) await client.call('load', { key: 'replaced', url });
    const warmReplaced = await memory();
    for (let i = 2; i < 20; i++) await client.call('load', { key: 'replaced', url });
    const replaced = await memory();
    return { warm, cycled, warmReplaced, replaced, models: (await client.call('memory')).models };
  });
  console.log(
    `# wasm memory: ${mb(r.warm)} after 2 load/free cycles of MNIST, ${mb(r.cycled)} after 20 (growth ${mb(r.cycled - r.warm)}); ` +
      `${mb(r.warmReplaced)} after 2 loads under one key, ${mb(r.replaced)} after 20 (growth ${mb(r.replaced - r.warmReplaced)})`,
  );
  assert.ok(r.cycled - r.warm <= CEILING, `growth over 18 load/free cycles: ${mb(r.cycled - r.warm)}`);
  assert.ok(r.replaced - r.warmReplaced <= CEILING, `growth over 18 replacements: ${mb(r.replaced - r.warmReplaced)}`);
  assert.equal(r.models, 2, 'the attacked model and the replaced one; the cycled one is gone');
});

test('24 loads of a model from its NNEF file under one key, and 24 stopped mid-way, leave the wasm memory flat', async () => {
  // Each reads the file as it downloads into a loader of its own: a finished load hands it on to
  // the model, and a stopped one must free it (an unfreed loader keeps the weights read so far).
  const r = await inPage(async ({ client, url }) => {
    const WARM = 6;
    const nnef = { url: new URL('/models/mnist/model.nnef.tar', location.href).href };
    const memory = async () => (await client.call('memory')).bytes;
    const formats = new Set();
    const load = async () => formats.add((await client.call('load', { key: 'nnef', url, nnef })).format);
    const stopped = async () => {
      const controller = new AbortController();
      // Stopped at its first news: while it downloads, or once it is all there and waits its turn.
      const onProgress = () => controller.abort();
      const loading = client.call('load', { key: 'stopped', url, nnef }, { signal: controller.signal, onProgress });
      return loading.then(() => 'loaded', (e) => e.name);
    };
    // Six loads to warm up: the file comes in pieces of varying sizes, so the allocator's peak
    // is not always reached by the second (one run grew 4.2 MB once, at the third load).
    for (let i = 0; i < WARM; i++) await load();
    const warm = await memory();
    for (let i = WARM; i < WARM + 18; i++) await load();
    const replaced = await memory();
    const outcomes = new Set();
    for (let i = 0; i < WARM; i++) outcomes.add(await stopped());
    const warmStopped = await memory();
    for (let i = WARM; i < WARM + 18; i++) outcomes.add(await stopped());
    return { warm, replaced, warmStopped, stopped: await memory(), formats: [...formats], outcomes: [...outcomes], models: (await client.call('memory')).models };
  });
  console.log(
    `# wasm memory: ${mb(r.warm)} after 6 loads of MNIST from NNEF under one key, ${mb(r.replaced)} after 24 (growth ${mb(r.replaced - r.warm)}); ` +
      `${mb(r.warmStopped)} after 6 loads stopped mid-way, ${mb(r.stopped)} after 24 (growth ${mb(r.stopped - r.warmStopped)}; ${r.outcomes.join(', ')})`,
  );
  assert.deepEqual(r.formats, ['nnef']);
  assert.ok(r.outcomes.includes('AbortError'), r.outcomes.join(', '));
  // A wider ceiling here: the file comes in pieces of varying sizes, and one grow of up to 4.2 MB
  // was seen after the warm-up; an unfreed loader grows 9.5 MB over these 18 loads.
  const ceiling = 6 * MB;
  assert.ok(r.replaced - r.warm <= ceiling, `growth over 18 replacements: ${mb(r.replaced - r.warm)}`);
  assert.ok(r.stopped - r.warmStopped <= ceiling, `growth over 18 stopped loads: ${mb(r.stopped - r.warmStopped)}`);
});

test('a model the widgets no longer use is freed: Engine.release counts its users', async () => {
  const counts = await page.evaluate(async () => {
    const { sharedEngine } = await import('/ui/engine.js');
    const engine = sharedEngine(new URL('/pkg/', location.href).href);
    const url = new URL('/models/mnist/model.onnx', location.href).href;
    const models = async () => (await engine.client.call('memory')).models;
    // Two widgets ask for the same model: one copy, two users.
    const [a, b] = await Promise.all([engine.loadModel({ url, card: null }), engine.loadModel({ url, card: null })]);
    const loaded = await models();
    await engine.release(a);
    const afterOne = await models();
    await engine.release(b);
    const afterBoth = await models();
    return { same: a.key === b.key, loaded, afterOne, afterBoth, files: engine.usedFiles() };
  });
  assert.ok(counts.same, 'one copy for both');
  assert.deepEqual([counts.loaded, counts.afterOne, counts.afterBoth], [1, 1, 0], 'freed when the last user lets go');
  assert.deepEqual(counts.files, [], 'and forgotten, so the next loadModel prepares it again');
});
