// The caption of the ε sweep says "from ε … on" only when it is true: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeSweep, sweepCaption } from '../../www/ui/sweep-summary.js';

const eps = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const names = { 0: 'tabby', 1: 'Persian cat', 2: 'tiger cat', 3: 'goldfish' };
const caption = (predicted, target = null) => {
  const s = summarizeSweep({ eps, predicted, target, isFooled: (c) => (target === null ? c !== predicted[0] : c === target && predicted[0] !== target) });
  const text = sweepCaption(s, { target, name: (c) => names[c], fmt: (e) => `${e}/255`, max: 8 })
    .map((p) => (typeof p === 'string' ? p : `ε = ${p.eps}/255`))
    .join('');
  return { s, text };
};

test('"from ε … on" only when every ε from the first flip to the end reads the same fooled class', () => {
  const stable = caption([2, 2, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(stable.s.kind, 'stable');
  assert.equal(stable.text, 'Fooled from ε = 2/255 on: read as “tabby” all the way to 8/255.');
  // The case: "tabby" from 1/255, but "Persian cat" from 8/255.
  const later = caption([2, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(later.s.kind, 'unstable');
  assert.equal(later.text, 'First fooled at ε = 1/255, as “tabby”; further on it reads “Persian cat” from ε = 8/255.');
  assert.doesNotMatch(later.text, / on:/);
  const back = caption([2, 0, 0, 2, 2, 1, 1, 3, 3]);
  assert.equal(back.text, 'First fooled at ε = 1/255, as “tabby”; further on it reads “tiger cat” (its first answer again) from ε = 3/255, “Persian cat” from ε = 5/255 and “goldfish” from ε = 7/255.');
});

test('targeted: reached for good, reached then lost, never reached, already there', () => {
  assert.equal(caption([2, 2, 1, 1, 1, 1, 1, 1, 1], 1).text, 'Becomes “Persian cat” from ε = 2/255 on, all the way to 8/255.');
  assert.equal(caption([2, 2, 1, 1, 0, 0, 0, 0, 0], 1).text, 'First becomes “Persian cat” at ε = 2/255; further on it reads “tabby” (not the target) from ε = 4/255.');
  assert.equal(caption([2, 2, 0, 0, 0, 0, 0, 0, 0], 1).text, 'No ε up to 8/255 turns this “tiger cat” into “Persian cat”.');
  assert.equal(caption([1, 1, 1, 1, 1, 1, 1, 1, 1], 1).s.kind, 'already');
  assert.equal(caption([2, 2, 2, 2, 2, 2, 2, 2, 2]).text, 'No ε up to 8/255 changes the answer “tiger cat”.');
});
