// The robustness run waits for the reader: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureRobustness } from '../../www/ui/robustness-run.js';

const digits = { side: 2, count: 25, pixels: () => new Float32Array(4), label: (i) => i % 10 };

test('no batch goes to the worker while pause() holds it back', async () => {
  const calls = [];
  let open = null;
  const gate = { promise: Promise.resolve() };
  const call = async (op, args) => {
    calls.push(args.seed);
    const n = args.images.length / 4;
    return { clean: Array.from({ length: n }, (_, k) => (args.seed - 1 + k) % 10), adversarial: new Array(n * 2).fill(0), noisy: new Array(n * 2).fill(0) };
  };
  const pause = () => gate.promise;
  const run = measureRobustness(call, digits, [0.1, 0.2], { batch: 10, pause });
  await new Promise((done) => setTimeout(done, 10));
  assert.deepEqual(calls, [1, 11, 21], 'with nothing in the way, every batch runs');
  const r = await run;
  assert.equal(r.count, 25);
  assert.equal(r.accuracy, 1);

  // Now the reader is busy: the run stops before its next batch until pause() resolves.
  calls.length = 0;
  gate.promise = new Promise((done) => (open = done));
  const second = measureRobustness(call, digits, [0.1], { batch: 10, pause });
  await new Promise((done) => setTimeout(done, 20));
  assert.deepEqual(calls, [], 'held back while the reader interacts');
  open();
  await second;
  assert.deepEqual(calls, [1, 11, 21]);
});

test('PGD runs after FGSM and noise, one digit a request, seeded with the digit number, and waits for the reader too', async () => {
  const requests = [];
  let open = null;
  const gate = { promise: Promise.resolve() };
  // Digit i is read as i % 10 (its label); PGD fools the odd digits at ε = 0.3 only.
  const call = async (op, args) => {
    requests.push({ method: args.method ?? 'fgsm', seed: args.seed, n: args.images.length / 4, epsilons: args.epsilons, steps: args.steps });
    const n = args.images.length / 4;
    const first = args.seed - 1;
    const clean = Array.from({ length: n }, (_, k) => (first + k) % 10);
    if (args.method === 'pgd') return { clean, adversarial: args.epsilons.map((e) => (e === 0.3 && first % 2 ? 99 : first % 10)) };
    return { clean, adversarial: new Array(n * args.epsilons.length).fill(0), noisy: new Array(n * args.epsilons.length).fill(0) };
  };
  const progress = [];
  const pgd = { digits: 4, steps: 7, seed: 0, epsilons: [0.1, 0.3] };
  const r = await measureRobustness(call, digits, [0, 0.1, 0.3], { batch: 10, pgd, pause: () => gate.promise, onProgress: (p) => progress.push(p) });
  assert.deepEqual(
    requests.map(({ method, seed, n }) => [method, seed, n]),
    [['fgsm', 1, 10], ['fgsm', 11, 10], ['fgsm', 21, 5], ['pgd', 1, 1], ['pgd', 2, 1], ['pgd', 3, 1], ['pgd', 4, 1]],
    'FGSM and noise over all 25 digits first, then PGD on the first 4, digit n (from 1) seeded with n',
  );
  assert.ok(requests.filter((q) => q.method === 'pgd').every((q) => q.steps === 7 && q.epsilons.join() === '0.1,0.3'));
  assert.deepEqual(r.pgd, { count: 4, done: 4, steps: 7, seed: 0, epsilons: [0.1, 0.3], accuracy: 1, error: [0, 0.5] });
  assert.equal(r.count, 25);
  assert.ok(progress.at(-1).pgd && progress.at(-1).pgd.done === 4, 'progress reports PGD digit by digit');

  // The reader busy: no PGD request goes out either.
  requests.length = 0;
  let released = false;
  const paused = { count: 0 };
  const pause = () => {
    paused.count++;
    // Hold back the first PGD request only.
    if (paused.count === 4 && !released) return new Promise((done) => (open = done));
    return Promise.resolve();
  };
  const run = measureRobustness(call, digits, [0.1], { batch: 10, pgd: { ...pgd, epsilons: [0.1] }, pause });
  await new Promise((done) => setTimeout(done, 20));
  assert.deepEqual(requests.map((q) => q.method), ['fgsm', 'fgsm', 'fgsm'], 'PGD waits while pause() holds it back');
  released = true;
  open();
  await run;
  assert.equal(requests.filter((q) => q.method === 'pgd').length, 4);
});
