// The worker client's lanes: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerClient, STALE } from '../../www/ui/worker-client.js';

/** A stand-in worker that records what it is sent and answers when told to. */
function fakeWorker() {
  const sent = [];
  const listeners = {};
  const worker = {
    sent,
    addEventListener: (type, f) => (listeners[type] = f),
    postMessage: (message) => sent.push(message),
    terminate() {},
    answer: (id, result) => listeners.message({ data: { id, ok: true, result } }),
  };
  return worker;
}

test('a lane keeps one request in flight and one waiting; drop() drops the waiting one before it is sent', async () => {
  const worker = fakeWorker();
  const client = new WorkerClient(() => worker);
  const lane = client.lane();
  const first = lane('attack', { image: 'a' });
  const second = lane('attack', { image: 'a', eps: 0.1 });
  assert.equal(worker.sent.length, 1, 'the second waits while the first is in flight');
  // The image 'a' is about to be replaced: the waiting request must never reach the worker.
  lane.drop();
  assert.equal(await second, STALE);
  worker.answer(worker.sent[0].id, 'first');
  assert.equal(await first, 'first', 'the one in flight still delivers');
  await new Promise((done) => setTimeout(done, 0));
  assert.equal(worker.sent.length, 1, 'nothing more was sent after the drop');
  const third = lane('attack', { image: 'b' });
  assert.equal(worker.sent.length, 2);
  assert.equal(worker.sent[1].args.image, 'b');
  worker.answer(worker.sent[1].id, 'third');
  assert.equal(await third, 'third');
});
