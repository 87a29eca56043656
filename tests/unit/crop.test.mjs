// Which part of a picture the model sees: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cropOf, cropFraction } from '../../www/ui/crop.js';

test('a picture of exactly the input size is used whole', () => {
  assert.deepEqual(cropOf(224, 224, 224, 224, 0.875), { x: 0, y: 0, width: 224, height: 224 });
});

test('ImageNet: short side to 256, then the centre 224 × 224 (PIL’s offsets)', () => {
  // 320 × 256 stored sample: scale 1, crop at floor((320 − 224) / 2) = 48, floor((256 − 224) / 2) = 16.
  assert.deepEqual(cropOf(320, 256, 224, 224, 224 / 256), { x: 48, y: 16, width: 224, height: 224 });
  // 640 × 512: scale 0.5, the same crop in the picture's pixels, twice as large.
  assert.deepEqual(cropOf(640, 512, 224, 224, 224 / 256), { x: 96, y: 32, width: 448, height: 448 });
});

test('fraction 1 takes the largest centred crop; a bad fraction counts as 1', () => {
  assert.deepEqual(cropOf(300, 200, 100, 100, 1), { x: 50, y: 0, width: 200, height: 200 });
  assert.deepEqual(cropOf(300, 200, 100, 100, 0), cropOf(300, 200, 100, 100, 1));
});

test('cropFraction reads model.json', () => {
  const shape = [1, 3, 224, 224];
  assert.equal(cropFraction({ input: { resize_short_side: 256 } }, shape), 0.875);
  assert.equal(cropFraction({ input: { preprocess: 'resize so the short side is 256 px, then take the centre 224x224 crop' } }, shape), 0.875);
  assert.equal(cropFraction({ input: {} }, shape), 1);
  assert.equal(cropFraction(null, shape), 1);
  assert.equal(cropFraction({ input: { resize_short_side: 200 } }, shape), 1, 'never more than the whole picture');
});
