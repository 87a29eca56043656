// The static server behind `./build.sh serve` and the browser tests (tests/support/serve.mjs): a
// request whose address is not a valid path gets a 400, and the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { serve } from '../support/serve.mjs';

/** The status of a GET of `target` exactly as written (fetch would normalise it). */
function statusOf(url, target) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: target, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a malformed address gets 400, and the server keeps serving', { timeout: 10_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'fgsm-serve-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  const server = await serve({ root });
  try {
    assert.equal(await statusOf(server.url, '/'), 200);
    assert.equal(await statusOf(server.url, '//'), 400, 'a path that is not one');
    assert.equal(await statusOf(server.url, '/%E0%A4%A'), 400, 'a broken %-escape');
    assert.equal(await statusOf(server.url, '/'), 200, 'still serving');
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
