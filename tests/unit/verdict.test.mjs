// The one decision "fooled or not", and how it is said: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFooled, verdict } from '../../www/ui/verdict.js';

test('untargeted: fooled when the prediction changes', () => {
  assert.equal(isFooled({ label: 3, adversarial: 8 }), true);
  assert.equal(isFooled({ label: 3, adversarial: 3 }), false);
  assert.equal(isFooled({ label: 3, adversarial: 8, target: null }), true);
});

test('targeted: fooled only when the target is reached from another class', () => {
  assert.equal(isFooled({ label: 3, adversarial: 5, target: 5 }), true);
  assert.equal(isFooled({ label: 3, adversarial: 8, target: 5 }), false, 'a miss is not a success');
  assert.equal(isFooled({ label: 5, adversarial: 5, target: 5 }), false, 'already the target');
  assert.equal(isFooled({ label: 3, adversarial: 3, target: 5 }), false);
});

const say = (r) => verdict({ name: (c) => `c${c}`, epsText: '0.250', stillProb: '90.0 %', trueLabel: null, target: null, ...r });

test('the verdict names what happened', () => {
  assert.deepEqual(say({ label: 1, adversarial: 2, eps: 0.25 }), { kind: 'fooled', fooled: true, text: 'Fooled: c1 → c2 at ε = 0.250' });
  assert.equal(say({ label: 1, adversarial: 1, eps: 0.25 }).text, 'Not fooled at ε = 0.250: still c1 (90.0 %)');
  assert.equal(say({ label: 1, adversarial: 1, eps: 0 }).kind, 'unchanged');
  assert.equal(say({ label: 1, adversarial: 4, target: 4, eps: 0.25 }).text, 'Fooled: c1 → c4, the target, at ε = 0.250');
  const missed = say({ label: 1, adversarial: 2, target: 4, eps: 0.25 });
  assert.equal(missed.kind, 'missed');
  assert.equal(missed.fooled, false);
  assert.equal(missed.text, 'Target not reached at ε = 0.250: c1 → c2, not “c4”');
  assert.equal(say({ label: 4, adversarial: 4, target: 4, eps: 0.25 }).kind, 'already');
  assert.match(say({ label: 1, adversarial: 2, eps: 0.25, trueLabel: 7 }).text, /\. The model already misreads this c7\.$/);
});
