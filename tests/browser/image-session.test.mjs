// The page sets each image in the worker once and names it afterwards (issue 12, item 1): a slider
// step sends an id, never the pixels; the worker frees an image when the widget sets another or
// its model is unloaded, and a request naming a freed or unknown image fails in plain words; in
// normal use (fast digit changes, drawing, the slider at the same time) the page never names one.
//
//   node --test tests/browser/image-session.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, assertClean } from '../support/browser.mjs';

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

/**
 * Records every message the page posts to a worker: its op, its args' own keys, and how many
 * pixels (Float32Array values) travel with it, anywhere in its args.
 */
function recordWorkerMessages() {
  window.workerMessages = [];
  const post = Worker.prototype.postMessage;
  const floats = (v, seen = new Set()) => {
    if (v instanceof Float32Array) return v.length;
    if (!v || typeof v !== 'object' || seen.has(v) || ArrayBuffer.isView(v) || v instanceof Blob) return 0;
    seen.add(v);
    return Object.values(v).reduce((n, x) => n + floats(x, seen), 0);
  };
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message?.op) window.workerMessages.push({ op: message.op, args: Object.keys(message.args ?? {}), image: message.args?.image ?? null, floats: floats(message.args) });
    return post.call(this, message, ...rest);
  };
}

async function openPage(path = '?model=mnist') {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await page.addInitScript(recordWorkerMessages);
  await page.goto(env.url + path);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  return page;
}

const messages = (page) => page.evaluate(() => window.workerMessages.splice(0));
const resultKey = (page) => page.getAttribute('#results', 'data-for');

/** Sets ε through the slider, as a reader's hand does, and waits for its result. */
async function slide(page, eps) {
  await page.evaluate((value) => {
    const input = document.querySelector('fgsm-demo').shadowRoot.getElementById('eps');
    input.value = String(value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, eps);
  await page.waitForFunction(
    (value) => document.querySelector('fgsm-demo').shadowRoot.getElementById('results').dataset.for?.endsWith(`@${value}`),
    eps.toFixed(3),
  );
}

/** A worker client on `page` with the MNIST model loaded under the key 'm', and its test digits: window.mnist = {client, digits}. */
async function mnistWorker(page) {
  await page.evaluate(async () => {
    const { WorkerClient } = await import('/ui/worker-client.js');
    const { TestDigits } = await import('/ui/test-digits.js');
    const client = new WorkerClient(() => new Worker('/worker.js', { type: 'module' }));
    await client.call('init', { pkg: new URL('/pkg/', location.href).href });
    await client.call('load', { key: 'm', url: new URL('/models/mnist/model.onnx', location.href).href });
    const card = await (await fetch('/models/mnist/model.json')).json();
    const digits = new TestDigits(new Uint8Array(await (await fetch('/models/mnist/test-digits.bin')).arrayBuffer()), card.test_digits.count);
    window.mnist = { client, digits };
  });
}

test('a slider step names the image the page set once; it never sends the pixels again', async () => {
  const page = await openPage();
  const opening = await messages(page);
  const set = opening.filter((m) => m.op === 'setImage');
  assert.equal(set.length, 1, `one image set for the first digit: ${JSON.stringify(opening.map((m) => m.op))}`);
  assert.equal(set[0].floats, 784, 'setImage carries the 28×28 pixels');
  const firstAttack = opening.find((m) => m.op === 'attack');
  assert.ok(firstAttack.image, 'the attack names an image');
  assert.equal(firstAttack.floats, 0, 'and sends no pixels');

  for (const eps of [0.05, 0.1, 0.15, 0.2, 0.3]) await slide(page, eps);
  // An iterative method too: each step of PGD works on the image the worker holds.
  await page.selectOption('#method', 'pgd');
  await page.waitForSelector('#method-run[data-state="done"]', { timeout: 60_000 });
  await slide(page, 0.25);
  await page.waitForSelector('#method-run[data-state="done"]', { timeout: 60_000 });
  // The robustness run's batches of held-out digits (attackMany) carry their own pixels; they
  // are never the image shown, and go between the slider's requests.
  const sliding = (await messages(page)).filter((m) => m.op !== 'attackMany');
  const attacks = sliding.filter((m) => m.op === 'attack');
  assert.ok(attacks.length >= 7, `${attacks.length} attacks`);
  assert.deepEqual(sliding.filter((m) => m.op === 'setImage'), [], 'no image set while only ε and the method change');
  for (const m of sliding) {
    assert.equal(m.floats, 0, `${m.op} sent ${m.floats} pixel values`);
    assert.ok(!m.args.includes('pixels'), `${m.op} has no pixels argument`);
  }
  const ids = new Set(attacks.map((m) => m.image));
  assert.deepEqual([...ids], [firstAttack.image], 'every attack names the image set first');

  // Another digit: set once, then named by its new id.
  const before = await resultKey(page);
  await page.click('#next');
  await page.waitForFunction((key) => document.querySelector('fgsm-demo').shadowRoot.getElementById('results').dataset.for !== key, before);
  const next = (await messages(page)).filter((m) => m.op !== 'attackMany');
  const nextSet = next.filter((m) => m.op === 'setImage');
  assert.equal(nextSet.length, 1);
  const named = next.filter((m) => m.op === 'attack' || m.op === 'sweep');
  assert.ok(named.length >= 2, 'an attack and the ε sweep follow');
  for (const m of named) {
    assert.equal(m.floats, 0);
    assert.ok(m.image && m.image !== firstAttack.image, `${m.op} names the new image (${m.image}), not the old one`);
  }
  assert.equal(await page.isHidden('#alert'), true);
  assertClean(page);
  await page.close();
});

test('a request naming a replaced, unloaded or unknown image fails in plain words', async () => {
  const page = await openPage();
  await mnistWorker(page);
  const r = await page.evaluate(async () => {
    const { client, digits } = window.mnist;
    const error = (promise) => promise.then(() => 'no error', (e) => e.message);
    const first = await client.call('setImage', { model: 'm', slot: 'a', pixels: digits.pixels(0) });
    const ok = await client.call('attack', { image: first.image, eps: 0.1 });
    // The 8-bit check names the attack whose x′ it rounds: only the image's latest is kept.
    const saved = await client.call('checkSaved', { image: first.image, attackId: ok.attackId });
    const later = await client.call('attack', { image: first.image, eps: 0.2 });
    const earlierCheck = await error(client.call('checkSaved', { image: first.image, attackId: ok.attackId }));
    const laterCheck = await error(client.call('checkSaved', { image: first.image, attackId: later.attackId }));
    const second = await client.call('setImage', { model: 'm', slot: 'a', pixels: digits.pixels(1) });
    const other = await client.call('setImage', { model: 'm', slot: 'b', pixels: digits.pixels(2) });
    const result = {
      first: first.image,
      prediction: first.prediction,
      probs: first.probs.length,
      okLabel: ok.label,
      saved: { classes: saved.probs.length, prediction: saved.prediction },
      earlierCheck,
      laterCheck,
      earlierId: ok.attackId,
      replaced: await error(client.call('attack', { image: first.image, eps: 0.1 })),
      replacedSweep: await error(client.call('sweep', { image: first.image, eps: [0.1] })),
      // Another slot's image is not touched by slot a's new one.
      otherSlot: await error(client.call('attack', { image: other.image, eps: 0.1 })),
      secondStill: await error(client.call('sweep', { image: second.image, eps: [0.1, 0.2] })),
      unknown: await error(client.call('attack', { image: 'zz.1', eps: 0.1 })),
      none: await error(client.call('attack', { eps: 0.1 })),
      noSlot: await error(client.call('setImage', { model: 'm', pixels: digits.pixels(0) })),
    };
    await client.call('unload', { key: 'm' });
    result.unloaded = await error(client.call('attack', { image: second.image, eps: 0.1 }));
    result.held = (await client.call('memory')).images;
    return result;
  });
  assert.equal(r.probs, 10);
  assert.equal(r.okLabel, r.prediction, 'an untargeted attack goes against the prediction setImage gave');
  assert.equal(r.saved.classes, 10);
  assert.ok(r.saved.prediction >= 0 && r.saved.prediction < 10);
  assert.equal(r.laterCheck, 'no error');
  assert.equal(r.earlierCheck, `the attack ${r.earlierId} on image ${r.first} is no longer held: a later attack on it replaced it`);
  assert.match(r.replaced, new RegExp(`^the image ${r.first.replace('.', '\\.')} is no longer held by the engine: a newer image replaced it$`));
  assert.match(r.replacedSweep, /no longer held by the engine: a newer image replaced it/);
  assert.equal(r.otherSlot, 'no error');
  assert.equal(r.secondStill, 'no error');
  assert.match(r.unknown, /^the engine holds no image zz\.1 \(it was never set here, or was set in an engine that has since been restarted\)$/);
  assert.match(r.none, /^no image was named: set one first/);
  assert.match(r.noSlot, /setImage needs a slot/);
  assert.match(r.unloaded, /no longer held by the engine: its model m was unloaded$/);
  assert.equal(r.held, 0, 'unloading the model freed every image set on it');
  assertClean(page);
  await page.close();
});

test('fast digit changes, drawing and the slider at once never name a freed image', async () => {
  const page = await openPage();
  // Digits as fast as the events come, with the slider moving between them: attacks and sweeps of
  // earlier digits are still queued when the next digit replaces their image.
  await page.evaluate(async () => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    const eps = root.getElementById('eps');
    for (let i = 0; i < 25; i++) {
      root.getElementById('next').click();
      eps.value = (0.05 + (i % 8) * 0.05).toFixed(3);
      eps.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((done) => setTimeout(done, i % 3 === 0 ? 0 : 4));
    }
  });
  // The last digit's attack and sweep arrive.
  await page.waitForFunction(
    () => {
      const root = document.querySelector('fgsm-demo').shadowRoot;
      const results = root.getElementById('results');
      const sweep = root.getElementById('sweep-text').dataset.for;
      return results.dataset.pending === 'false' && sweep && results.dataset.for.startsWith(`${sweep}@`);
    },
    null,
    { timeout: 60_000 },
  );
  // The narrow case: an attack in flight in the worker (a long PGD run), another of the same image
  // waiting behind it here, and then a new digit replaces the image before the waiting one is sent.
  await page.selectOption('#method', 'pgd');
  await page.fill('#steps', '400');
  await page.dispatchEvent('#steps', 'change');
  for (let round = 0; round < 3; round++) {
    await page.waitForSelector('#method-run[data-state="running"]', { timeout: 60_000 });
    await page.evaluate(async () => {
      const root = document.querySelector('fgsm-demo').shadowRoot;
      const eps = root.getElementById('eps');
      const pause = (ms) => new Promise((done) => setTimeout(done, ms));
      eps.value = '0.2';
      eps.dispatchEvent(new Event('input', { bubbles: true }));
      await pause(30); // this attack is now running in the worker
      eps.value = '0.25';
      eps.dispatchEvent(new Event('input', { bubbles: true }));
      await pause(0); // and this one waits in the widget's lane
      root.getElementById('next').click();
    });
  }
  await page.waitForSelector('#method-run[data-state="done"]', { timeout: 120_000 });
  assert.equal(await page.isHidden('#alert'), true, `no alert: ${await page.textContent('#alert-text')}`);
  await page.selectOption('#method', 'fgsm');

  // Then drawing: every stroke is a new image.
  await page.click('#tab-draw');
  const box = await page.locator('#draw-pad').boundingBox();
  for (let s = 0; s < 6; s++) {
    await page.mouse.move(box.x + box.width * (0.2 + 0.1 * s), box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * (0.3 + 0.08 * s), box.y + box.height * 0.8, { steps: 6 });
    await page.mouse.up();
  }
  await page.waitForSelector('#results[data-for^="drawing:"][data-pending="false"]', { timeout: 60_000 });
  await page.waitForTimeout(500);
  assert.equal(await page.isHidden('#alert'), true, `no alert: ${await page.textContent('#alert-text')}`);
  const held = await page.evaluate(async () => (await (await import('/ui/engine.js')).sharedEngine().client.call('memory')).images);
  assert.equal(held, 1, 'the widget holds one image in the worker');
  assertClean(page);
  await page.close();
});

test('an image set with its gradient: the same attack, and the first attack reports the gradient pass it cost', async () => {
  const page = await openPage();
  await mnistWorker(page);
  const r = await page.evaluate(async () => {
    const { client, digits } = window.mnist;
    const out = [];
    for (const withGradient of [false, true]) {
      const set = await client.call('setImage', { model: 'm', slot: `s${withGradient}`, pixels: digits.pixels(3), withGradient });
      const first = await client.call('attack', { image: set.image, eps: 0.2 });
      const again = await client.call('attack', { image: set.image, eps: 0.1 });
      out.push({ prediction: set.prediction, probs: [...set.probs], label: first.label, adversarial: [...first.adversarialProbs], gradient: [first.ms.gradient, again.ms.gradient] });
    }
    return out;
  });
  const [plain, withGradient] = r;
  assert.equal(withGradient.prediction, plain.prediction);
  assert.equal(withGradient.label, plain.label);
  assert.deepEqual(withGradient.adversarial, plain.adversarial, 'the same adversarial reading');
  for (const [i, p] of plain.probs.entries()) assert.ok(Math.abs(p - withGradient.probs[i]) < 1e-6, `clean probability ${i}`);
  // What the page says a new image cost ("a forward and backward pass, then a forward pass").
  assert.deepEqual(plain.gradient, [true, false]);
  assert.deepEqual(withGradient.gradient, [true, false], 'the gradient taken at setImage is reported by the first attack');
  assertClean(page);
  await page.close();
});
