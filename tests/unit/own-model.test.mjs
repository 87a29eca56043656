// The reader's own model, the parts without a page: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NORMALISATIONS, defaultNormalisation, normalisationOptions, sortModelFiles, bringsModel, parseLabels, classNames, blockedMessage, describeBuild,
} from '../../www/ui/own-model.js';

const file = (name, type = '') => ({ name, type });

test('the presets are what torchvision and the MNIST tutorials use, and none means [0, 1]', () => {
  assert.deepEqual(normalisationOptions('none'), {});
  assert.deepEqual(normalisationOptions('imagenet'), { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.deepEqual(normalisationOptions('mnist'), { mean: [0.1307], std: [0.3081] });
  assert.deepEqual(NORMALISATIONS.map((n) => n.name), ['none', 'imagenet', 'mnist']);
  assert.equal(defaultNormalisation([1, 3, 224, 224]), 'imagenet');
  assert.equal(defaultNormalisation([1, 1, 28, 28]), 'none');
});

test('numbers typed in: one, or one per channel, separated by commas or spaces; std above 0', () => {
  assert.deepEqual(normalisationOptions('other', { mean: '0.5, 0.4 0.3', std: '0.2;0.2,0.2' }, 3), { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] });
  assert.deepEqual(normalisationOptions('other', { mean: '0.5', std: '0.25' }, 3), { mean: [0.5], std: [0.25] });
  assert.throws(() => normalisationOptions('other', { mean: '0.5, 0.5', std: '1' }, 3), /the mean has 2 numbers; give one, or one for each of the 3 channels/);
  assert.throws(() => normalisationOptions('other', { mean: '', std: '1' }, 1), /give the mean/);
  assert.throws(() => normalisationOptions('other', { mean: 'half', std: '1' }, 1), /the mean must be numbers/);
  assert.throws(() => normalisationOptions('other', { mean: '0', std: '-1' }, 1), /standard deviation must be above 0/);
  assert.throws(() => normalisationOptions('other', { mean: '0', std: '0' }, 1), /standard deviation must be above 0/);
});

test('files brought together: the model, its labels and its card, in any order', () => {
  const onnx = file('net.onnx');
  const labels = file('classes.txt', 'text/plain');
  const card = file('model.json', 'application/json');
  assert.deepEqual(sortModelFiles([labels, card, onnx]), { model: onnx, labels, card });
  assert.deepEqual(sortModelFiles([onnx]), { model: onnx, labels: null, card: null });
  // A model file without the extension is still the model; a lone labels file is not one.
  const bare = file('model', 'application/octet-stream');
  assert.equal(sortModelFiles([labels, bare]).model, bare);
  assert.equal(sortModelFiles([labels]).model, null);
  assert.equal(bringsModel([file('cat.jpg'), onnx]), true);
  assert.equal(bringsModel([file('cat.jpg')]), false);
});

test('a labels file: one name per line, trailing blank lines and a BOM ignored, or a reason', () => {
  assert.deepEqual(parseLabels('\uFEFFcat\r\ndog\n bird \n\n', 3), { classes: ['cat', 'dog', 'bird'] });
  assert.deepEqual(parseLabels('cat\ndog', 3, 'pets.txt'), { problem: 'pets.txt has 2 lines and the model 3 classes, so the classes are called “class 0” to “class 2”' });
  assert.match(parseLabels('cat\n\ndog', 3).problem, /an empty line/);
  assert.deepEqual(classNames(3), ['class 0', 'class 1', 'class 2']);
});

test('why no gradient can be built: each operation once, with its nodes and the reason', () => {
  assert.equal(
    blockedMessage([
      { op: 'Selu', node: 'a', reason: 'no gradient rule' },
      { op: 'Selu', node: 'b', reason: 'no gradient rule' },
      { op: 'TopK', node: 'c', reason: 'no gradient rule' },
    ]),
    'it has no gradient graph, and the page cannot build one: Selu (nodes “a” and “b”): no gradient rule; TopK (node “c”): no gradient rule',
  );
});

test('what the builder did, in one sentence', () => {
  const built = { ops: { Conv: 2, Relu: 1 }, stripped: 'Softmax', normalised: true, nodesAdded: 30, ms: 4.4 };
  assert.equal(
    describeBuild(built, 'ImageNet'),
    'Gradient graph built here in 4 ms: 3 operations from the image to the logits (Conv ×2, Relu); the final Softmax was removed, ' +
      'so the logits are the scores before it; ImageNet normalisation put in front; 30 nodes added for the loss and its gradient.',
  );
  assert.match(describeBuild({ ...built, stripped: null, normalised: false, ms: 0.2 }, null), /in 1 ms: .*; no normalisation: the model reads pixels in \[0, 1\]; 30 nodes/);
});
