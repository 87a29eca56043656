// The one decision "fooled or not", and how it is said: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFooled, verdict, lossLine } from '../../www/ui/verdict.js';

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

test('the loss line says which way the loss went, and whether the step meant it', () => {
  // Targeted: the step goes down the target's loss; when it rises, one step overshot.
  const rose = lossLine({ targeted: true, name: 'goldfish', before: Math.exp(-9.126), after: Math.exp(-10.421) });
  assert.equal(rose.direction, 'rose');
  assert.equal(rose.intended, false);
  assert.equal(rose.text, 'The loss of the target “goldfish” rose from 9.126 to 10.42: one step of this size overshot (the gradient at x points the right way only for small steps).');
  const fell = lossLine({ targeted: true, name: 'goldfish', before: Math.exp(-9.126), after: Math.exp(-2.5) });
  assert.equal(fell.direction, 'fell');
  assert.equal(fell.intended, true);
  assert.match(fell.text, /fell from 9\.126 to 2\.500: the step went down it, as intended\.$/);
  // Untargeted: up the loss of the model's own answer is the point.
  const up = lossLine({ targeted: false, name: 'tripod', before: 0.9, after: 0.1 });
  assert.equal(up.intended, true);
  assert.match(up.text, /^The loss of “tripod”, the model’s answer, rose from 0\.105 to 2\.303: the step went up it, as intended\.$/);
  assert.match(lossLine({ targeted: false, name: '3', before: 0.5, after: 0.6 }).text, /fell .*overshot/);
  assert.match(lossLine({ targeted: false, name: '3', before: 0.5, after: 0 }).text, /to more than 87 \(the probability underflows to 0\)/);
  assert.equal(lossLine({ targeted: false, name: '3', before: 0.5, after: 0.5 }).direction, 'same');
});
