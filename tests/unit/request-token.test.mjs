// One token per request: node --test tests/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestTokens } from '../../www/ui/request-token.js';

test('a newer request of the same kind makes the older one stale; other kinds are untouched', () => {
  const tokens = new RequestTokens();
  const first = tokens.begin('photo');
  const sweep = tokens.begin('sweep');
  assert.equal(first.current, true);
  const second = tokens.begin('photo');
  assert.equal(first.current, false);
  assert.equal(second.current, true);
  assert.equal(sweep.current, true);
});

test('cancel makes every request of those kinds stale', () => {
  const tokens = new RequestTokens();
  const a = tokens.begin('robustness');
  const b = tokens.begin('sweep');
  const c = tokens.begin('model');
  tokens.cancel('robustness', 'sweep');
  assert.deepEqual([a.current, b.current, c.current], [false, false, true]);
  assert.equal(tokens.begin('sweep').current, true);
});
