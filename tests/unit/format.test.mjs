// Formatting for the reader: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percent, bytes, seconds, levels, crossEntropy, slug, argmax, topK, plainWords, linkParts, looksLikeOnnx } from '../../www/ui/format.js';

const NB = '\u202f';

test('percent keeps small and near-certain probabilities honest', () => {
  assert.equal(percent(0.5), `50.0${NB}%`);
  assert.equal(percent(0), `0.0${NB}%`);
  assert.equal(percent(1), `100.0${NB}%`);
  assert.equal(percent(0.0004), `<${NB}0.1${NB}%`);
  assert.equal(percent(0.9996), `>${NB}99.9${NB}%`);
});

test('bytes, seconds and grey levels', () => {
  assert.equal(bytes(926_000), '926 kB');
  assert.equal(bytes(120), '1 kB');
  assert.equal(bytes(19_233_711), '19.2 MB');
  assert.equal(seconds(146.4), '146 ms');
  assert.equal(seconds(1450), '1.4 s');
  assert.equal(levels(0.25), '63.8/255');
});

test('crossEntropy says when the softmax underflows', () => {
  assert.equal(crossEntropy(0.5), '0.693');
  assert.equal(crossEntropy(0.9999), '0.00010');
  assert.equal(crossEntropy(0), '> 87 (p underflows to 0)');
});

test('slug makes a file-name part of a class name', () => {
  assert.equal(slug('giant panda, panda'), 'giant-panda');
  assert.equal(slug("jack-o'-lantern"), 'jack-o-lantern');
  assert.equal(slug('???'), 'class');
});

test('argmax and topK', () => {
  assert.equal(argmax([0.1, 0.7, 0.2]), 1);
  assert.equal(argmax(new Float32Array([3, 3, 1])), 0, 'the first of equals');
  assert.deepEqual(topK(new Float32Array([0.1, 0.4, 0.4, 0.05, 0.05]), 3), [1, 2, 0]);
});

test('messages in plain words: no backticks, addresses as separate parts for links', () => {
  assert.equal(plainWords('the model has no input named `label`'), 'the model has no input named “label”');
  assert.equal(plainWords('a lone ` tick'), 'a lone  tick');
  assert.deepEqual(linkParts('could not load http://127.0.0.1:8000/models/x/model.json: HTTP 404.'), [
    { text: 'could not load ' },
    { href: 'http://127.0.0.1:8000/models/x/model.json', text: 'http://127.0.0.1:8000/models/x/model.json' },
    { text: ': HTTP 404.' },
  ]);
  assert.deepEqual(linkParts('nothing to link'), [{ text: 'nothing to link' }]);
});

test('an ONNX file is recognised from its first bytes; pictures, text and random bytes are not', () => {
  assert.equal(looksLikeOnnx(Uint8Array.from([0x08, 0x07, 0x12, 0x04])), true, 'ir_version first');
  assert.equal(looksLikeOnnx(Uint8Array.from([0x3a, 0x10])), true, 'graph first');
  assert.equal(looksLikeOnnx(Uint8Array.from([0x89, 0x50, 0x4e, 0x47])), false, 'a PNG');
  assert.equal(looksLikeOnnx(new TextEncoder().encode('{"classes": []}')), false, 'JSON');
  assert.equal(looksLikeOnnx(Uint8Array.from([0x50, 0x4b, 0x03, 0x04])), false, 'a zip');
  assert.equal(looksLikeOnnx(new Uint8Array(0)), false, 'empty');
});
