// ε scales and ε as text: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCALES, parseEps, snapEps, gainFactor } from '../../www/ui/eps-scale.js';

test('parseEps reads decimals and grey levels', () => {
  assert.equal(parseEps('0.25'), 0.25);
  assert.equal(parseEps(' .1 '), 0.1);
  assert.equal(parseEps('0'), 0);
  assert.equal(parseEps('1'), 1);
  assert.equal(parseEps('2/255'), 2 / 255);
  assert.equal(parseEps('2 / 255'), 2 / 255);
  assert.equal(parseEps('0.5/255'), 0.5 / 255);
});

test('parseEps refuses what is not an ε in [0, 1], in plain words', () => {
  assert.throws(() => parseEps('abc'), /ε "abc" is not a number: write it as 0\.25 or as 2\/255/);
  assert.throws(() => parseEps(''), /is not a number/);
  assert.throws(() => parseEps('2/256'), /is not a number/);
  assert.throws(() => parseEps('-0.1'), /is not a number/);
  assert.throws(() => parseEps('1.5'), /outside 0 to 1/);
  assert.throws(() => parseEps('300/255'), /outside 0 to 1/);
});

test('digits: ε snaps to the slider’s steps of 0.005 within [0, 0.5]', () => {
  const s = SCALES.digits;
  assert.equal(snapEps('digits', 0.2512), 0.25);
  assert.equal(snapEps('digits', 0.2526), 0.255);
  assert.equal(snapEps('digits', 0.9), 0.5);
  assert.equal(s.key(0.25), '0.250');
  assert.equal(s.full(0.25), '0.250 (63.8/255)');
  assert.equal(s.pixels(0.25), '0.250 × 255 = 63.8 grey levels');
  assert.equal(s.grid.length, 101);
  assert.equal(s.grid.at(-1), 0.5);
});

test('photos: ε snaps to whole grey levels within [0, 16/255]', () => {
  const s = SCALES.photo;
  assert.equal(snapEps('photo', 2.4 / 255), 2 / 255);
  assert.equal(snapEps('photo', 0.25), 16 / 255);
  assert.equal(s.toSlider(4 / 255), 4);
  assert.equal(s.key(4 / 255), '4/255');
  assert.equal(s.full(4 / 255), '4/255 = 0.0157');
  assert.deepEqual(s.ticks.map((t) => t.label), ['0', '4/255', '8/255', '12/255', '16/255']);
  assert.equal(s.grid.length, 17);
});

test('gain: "fit" fills the range, a number magnifies x′ − x around mid-grey', () => {
  assert.equal(gainFactor('fit', 0.25), 1);
  assert.equal(gainFactor('1', 0.25), 0.5);
  assert.equal(gainFactor('10', 4 / 255), 80 / 255);
});

test('the sentence beside ε says why so small a step is enough, in the model’s own numbers', () => {
  assert.equal(SCALES.photo.story(0), 'At ε = 0 nothing moves. Drag the slider to attack.');
  assert.match(SCALES.photo.story(2 / 255, 150528), /^No pixel changes by more than 2 of its 255 brightness levels, too little to see\. .* all 150,528 numbers/);
  assert.doesNotMatch(SCALES.photo.story(8 / 255, 150528), /too little to see/);
  assert.match(SCALES.digits.story(0.25, 784), /^Every pixel may move by 0\.250, 25 % of the way .* only 784 pixels/);
});
