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
