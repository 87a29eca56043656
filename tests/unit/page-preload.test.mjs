// The standalone page preloads (<link rel="modulepreload">) exactly the modules that page.js
// imports statically, directly or not: those must all arrive before it can start the worker and
// the first downloads, and one missing from the list costs the first visit a round trip per level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'www');

/** The files `file` imports statically (import … from '…', export … from '…'), as paths under www/. */
function staticImports(file) {
  const text = readFileSync(join(WWW, file), 'utf8');
  const found = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)];
  return found.map((m) => relative(WWW, join(WWW, dirname(file), m[1])));
}

function closure(entry) {
  const seen = new Set();
  const visit = (file) => {
    for (const next of staticImports(file)) {
      if (!seen.has(next)) {
        seen.add(next);
        visit(next);
      }
    }
  };
  visit(entry);
  return seen;
}

test("index.html preloads exactly page.js's static imports", () => {
  const html = readFileSync(join(WWW, 'index.html'), 'utf8');
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.equal(new Set(preloaded).size, preloaded.length, 'a module is preloaded twice');
  assert.deepEqual(new Set(preloaded), closure('page.js'));
});

test('the closure follows imports through folders', () => {
  // url-state.js imports method-params.js; engine.js imports worker-client.js and download.js.
  const found = closure('page.js');
  for (const file of ['ui/url-state.js', 'ui/method-params.js', 'ui/engine.js', 'ui/download.js']) assert.ok(found.has(file), file);
  assert.ok(!found.has('ui/method.js'), 'the method menu (and its chart) is not needed before the first download');
});
