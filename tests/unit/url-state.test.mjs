// The page's address ↔ the widget's attributes: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress, formatAddress } from '../../www/ui/url-state.js';

test('parse: digits count from 1 in the address and from 0 in the widget', () => {
  // The page opens on the photos; a digit's link without ?model= still means the digits.
  assert.deepEqual(parseAddress('', '#digit=7&eps=0.1'), { model: 'mnist', image: '6', eps: '0.1' });
  assert.deepEqual(parseAddress('', '#draw&eps=0.25&target=3'), { model: 'mnist', image: 'draw', eps: '0.25', target: '3' });
  assert.deepEqual(parseAddress('?model=my-digits', '#digit=3'), { model: 'my-digits', image: '2' });
});

test('parse: photos by number or by name, ε in grey levels, the model from the query; other parameters ignored', () => {
  assert.deepEqual(parseAddress('?model=efficientnet-lite0', '#sample=2&eps=4/255&target=368'), {
    model: 'efficientnet-lite0',
    image: '1',
    eps: '4/255',
    target: '368',
  });
  assert.deepEqual(parseAddress('?lang=en', '#sample=coffee'), { image: 'coffee' });
});

test('parse: anything malformed is left out', () => {
  assert.deepEqual(parseAddress('?model=../x', '#digit=0&eps=abc&target=-1&sample=<b>'), {});
  assert.deepEqual(parseAddress('', ''), {});
});

test('format: what the page shows, written back', () => {
  const digits = { model: 'mnist', defaultModel: 'mnist', kind: 'digits', image: '6', eps: 0.1, target: null };
  assert.deepEqual(formatAddress('', digits), { search: '', hash: '#digit=7&eps=0.1' });
  assert.deepEqual(formatAddress('?model=x', { ...digits, image: 'draw', target: 3 }), { search: '', hash: '#draw&eps=0.1&target=3' });
  const photo = { model: 'efficientnet-lite0', defaultModel: 'mnist', kind: 'photo', image: 'coffee', eps: 2 / 255, target: null };
  assert.deepEqual(formatAddress('?lang=en', photo), { search: '?lang=en&model=efficientnet-lite0', hash: '#sample=coffee&eps=2/255' });
  assert.deepEqual(formatAddress('', { ...photo, image: null }), { search: '?model=efficientnet-lite0', hash: '#eps=2/255' });
});

test('format then parse gives back the same view', () => {
  const { search, hash } = formatAddress('', { model: 'efficientnet-lite0', defaultModel: 'mnist', kind: 'photo', image: 'chelsea', eps: 3 / 255, target: 283 });
  assert.deepEqual(parseAddress(search, hash), { model: 'efficientnet-lite0', image: 'chelsea', eps: '3/255', target: '283' });
});

test('the method and its parameters: parsed when valid, only those the method takes', () => {
  assert.deepEqual(parseAddress('', '#digit=7&eps=0.25&method=pgd&steps=20&alpha=0.02&seed=3'), {
    model: 'mnist',
    image: '6',
    eps: '0.25',
    method: 'pgd',
    steps: '20',
    alpha: '0.02',
    seed: '3',
  });
  // MI-FGSM takes μ; PGD does not, and noise takes only a seed.
  assert.deepEqual(parseAddress('', '#digit=1&method=mi-fgsm&steps=5&momentum=0.5&seed=9'), { model: 'mnist', image: '0', method: 'mi-fgsm', steps: '5', momentum: '0.5' });
  assert.deepEqual(parseAddress('', '#digit=1&method=noise&steps=5&seed=9'), { model: 'mnist', image: '0', method: 'noise', seed: '9' });
  // Unknown methods and bad values are left out; parameters without a method mean nothing.
  assert.deepEqual(parseAddress('', '#digit=1&method=cw&steps=5'), { model: 'mnist', image: '0' });
  assert.deepEqual(parseAddress('', '#digit=1&method=bim&steps=0&alpha=-1'), { model: 'mnist', image: '0', method: 'bim' });
  assert.deepEqual(parseAddress('', '#digit=1&method=pgd&steps=2.5&seed=x'), { model: 'mnist', image: '0', method: 'pgd' });
  assert.deepEqual(parseAddress('', '#digit=1&steps=20'), { model: 'mnist', image: '0' });
});

test('format: the method goes in the address (FGSM, the default, does not), with the parameters it takes', () => {
  const digits = { model: 'mnist', defaultModel: 'efficientnet-lite0', kind: 'digits', image: '6', eps: 0.1, target: null };
  assert.deepEqual(formatAddress('', { ...digits, method: 'fgsm', methodParams: {} }), { search: '?model=mnist', hash: '#digit=7&eps=0.1' });
  assert.equal(formatAddress('', { ...digits, method: 'pgd', methodParams: { steps: 20, seed: 3 } }).hash, '#digit=7&eps=0.1&method=pgd&steps=20&seed=3');
  assert.equal(formatAddress('', { ...digits, method: 'bim', methodParams: { steps: 5, alpha: 0.01, seed: 3, momentum: 1 } }).hash, '#digit=7&eps=0.1&method=bim&steps=5&alpha=0.01');
});

test('a view with a method survives the round trip through its address', () => {
  const view = { model: 'mnist', defaultModel: 'efficientnet-lite0', kind: 'digits', image: '41', eps: 0.15, target: 3, method: 'mi-fgsm', methodParams: { steps: 12, alpha: 0.005, momentum: 0.9 } };
  const { search, hash } = formatAddress('', view);
  assert.deepEqual(parseAddress(search, hash), { model: 'mnist', image: '41', eps: '0.15', target: '3', method: 'mi-fgsm', steps: '12', alpha: '0.005', momentum: '0.9' });
});
