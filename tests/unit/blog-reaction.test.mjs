// The sentences under the article's network figures (www/blog/reaction.js).
//
//   node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeResult, formatEps, formatPercent } from '../../www/blog/reaction.js';

const coffee = {
  model: 'efficientnet-lite0', eps: 1 / 255, label: 967, labelName: 'espresso', probability: 0.9452,
  adversarialLabel: 925, adversarialName: 'consomme', adversarialProbability: 0.412,
  targeted: false, target: null, targetName: null, fooled: true,
};

test('ε reads in grey levels for photos and as a decimal for digits', () => {
  assert.equal(formatEps(1 / 255, 'efficientnet-lite0'), '1/255');
  assert.equal(formatEps(2 / 255, 'efficientnet-lite0'), '2/255');
  assert.equal(formatEps(0.25, 'mnist'), '0.25');
  assert.equal(formatEps(0.1, 'mnist'), '0.1');
});

test('probabilities read as per cent', () => {
  assert.equal(formatPercent(0.9452), '94.5\u00a0%');
  assert.equal(formatPercent(0.99999), '> 99.9\u00a0%');
  assert.equal(formatPercent(undefined), '');
});

test('an untargeted flip, and a prediction that holds', () => {
  assert.equal(describeResult(coffee), 'At ε = 1/255 the network now says “consomme” (41.2\u00a0%) instead of “espresso” (94.5\u00a0%). Fooled.');
  const held = { ...coffee, model: 'mnist', eps: 0.05, labelName: '7', adversarialName: '7', adversarialProbability: 0.97, fooled: false };
  assert.equal(describeResult(held), 'At ε = 0.05 the network still says “7” (97.0\u00a0%). Try a larger ε.');
});

test('targeted: reached, and not yet', () => {
  const cat = { ...coffee, labelName: 'tiger cat', probability: 0.394, adversarialName: 'Persian cat', adversarialProbability: 0.635, eps: 2 / 255, targeted: true, target: 283, targetName: 'Persian cat', fooled: true };
  assert.equal(describeResult(cat), 'At ε = 2/255 the network says “Persian cat” (63.5\u00a0%), the class you asked for, instead of “tiger cat” (39.4\u00a0%).');
  assert.match(describeResult({ ...cat, adversarialName: 'tiger cat', fooled: false }), /not yet “Persian cat”/);
});

test('ε = 0 says nothing changed', () => {
  assert.match(describeResult({ ...coffee, eps: 0, fooled: false }), /^At ε = 0 nothing changes: the network says “espresso” \(94\.5\u00a0%\)/);
});
