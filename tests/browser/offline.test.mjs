// Offline (issue 9, item 5): after one visit to the article, the service worker (www/sw.js,
// registered by www/sw-register.js) holds the page, the engine, the MNIST model, the article and
// the photo model its first figure used; then, with the network cut, the article and the page
// reload and attack. A new build (a new sw.js version) replaces the old cache.
//
//   node --test tests/browser/offline.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SITE, start, newPage, waitInPage } from '../support/browser.mjs';

const SLOW = 180_000;
const shipped = readFileSync(join(SITE, 'sw.js'), 'utf8');
const VERSION = shipped.match(/^const VERSION = '([^']*)';/m)?.[1];
const mounts = {};
const scratch = mkdtempSync(join(tmpdir(), 'fgsm-sw-'));

let env;
before(async () => {
  env = await start({ mounts });
});
after(async () => {
  await env?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Waits until the widget `selector` shows a result, changes its ε to `eps` and waits for that one. */
async function attack(page, selector, eps) {
  const result = () =>
    page.evaluate((s) => document.querySelector(s).shadowRoot.querySelector('#results').dataset.for ?? '', selector);
  await page.locator(selector).scrollIntoViewIfNeeded();
  await page.waitForFunction((s) => !!document.querySelector(s)?.shadowRoot.querySelector('#results').dataset.for, selector, { timeout: SLOW });
  const before = await result();
  await page.evaluate(([s, value]) => document.querySelector(s).setAttribute('eps', value), [selector, eps]);
  await page.waitForFunction(
    ([s, key]) => {
      const now = document.querySelector(s).shadowRoot.querySelector('#results').dataset.for;
      return now && now !== key;
    },
    [selector, before],
    { timeout: SLOW },
  );
  return page.evaluate((s) => document.querySelector(s).shadowRoot.querySelector('#verdict').textContent.trim(), selector);
}

/** The names of the page's caches, and which of `paths` (relative to the site) each holds. */
function cached(page, paths) {
  return page.evaluate(async (list) => {
    const names = await caches.keys();
    const held = [];
    // match() with a cacheName, not caches.open(name), which would make a cache deleted meanwhile anew.
    for (const name of names) {
      for (const path of list) if (await caches.match(new URL(path, location.origin).href, { cacheName: name })) held.push(path);
    }
    return { names, held };
  }, paths);
}

test('the built service worker carries a version and the list of files', () => {
  assert.ok(VERSION && VERSION !== 'dev', `build.sh wrote a version into site/sw.js (found "${VERSION}")`);
  const files = JSON.parse(shipped.match(/^const FILES = (\[.*\]);$/m)[1]);
  for (const file of ['index.html', 'pkg/fgsm_wasm_bg.wasm', 'pkg/fgsm_wasm.js', 'worker.js', 'models/mnist/model.onnx', 'models/mnist/model.nnef.tar']) {
    assert.ok(files.includes(file), `sw.js lists ${file}`);
  }
  assert.ok(!files.some((f) => /\.(br|gz)$/.test(f) || f === 'sw.js'), 'no compressed copies, not itself');
});

test('after one visit the article and the page work offline; a new version replaces the old cache', async () => {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  const context = page.context();
  page.on('console', (m) => console.log('DBG console', m.text()));
  await page.goto(`${env.url}blog/`);
  // The first figure uses the photo model: once it has shown a result, the page registers the
  // service worker, which precaches the page's files and keeps what the article already used.
  const first = await page.$eval('fgsm-demo', (el) => `#${el.id}`);
  await attack(page, first, '2/255');
  // The models travel as their NNEF files (src/nnef.rs); MNIST's ONNX file is precached too, as
  // the fallback.
  const wanted = ['/', '/blog/', '/pkg/fgsm_wasm_bg.wasm', '/pkg/fgsm_wasm.js', '/worker.js', '/models/mnist/model.onnx', '/models/mnist/model.nnef.tar', '/models/efficientnet-lite0/model.nnef.tar'];
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: SLOW });
  let held;
  for (let tries = 0; tries < 120; tries++) {
    held = await cached(page, wanted);
    if (held.held.length === wanted.length) break;
    await page.waitForTimeout(500);
  }
  assert.deepEqual(held.names, [`fgsm-${VERSION}`], 'one cache, named by the build');
  assert.deepEqual(held.held.sort(), [...wanted].sort(), 'the page, the engine, both models and the article are kept');

  await context.setOffline(true);
  // Really offline: a file of the site that was never fetched cannot be had (the browser logs
  // that failure, which is the only console error this test allows).
  const logged = page.problems.length;
  assert.equal(await page.evaluate(() => fetch('/models/mnist/model.json?never-fetched').then(() => 'online', () => 'offline')), 'offline');
  await page.waitForTimeout(500);
  assert.ok(page.problems.slice(logged).every((p) => /Failed to load resource: net::ERR_(INTERNET_DISCONNECTED|FAILED)/.test(p)), page.problems.join('\n'));
  page.problems.length = logged;
  await page.reload();
  const verdict = await attack(page, first, '3/255');
  assert.ok(verdict.length > 0, `the article's first figure attacks offline: ${verdict}`);
  console.log(`# offline, the article's first figure said: ${verdict}`);

  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: SLOW });
  assert.ok((await attack(page, 'fgsm-demo', '0.2')).length > 0, 'the page attacks a digit offline');
  await context.setOffline(false);

  // A new build: sw.js with another version. The browser installs it; it takes over, and its
  // activation drops the old cache, once the old version has no page left (the reader's next
  // visit). While a page stays open, Chromium switches only when the old worker has been idle
  // (a request from the page restarts the old worker while it is being stopped for the switch,
  // and then it waits for 30 s of quiet, or at most 5 minutes: kMaxLameDuckTime in Chromium's
  // service_worker_registration.cc). That case is made to happen here, as in a busy page: the old
  // worker is stopped, and the page fetches every 20 ms while the new version installs.
  const next = `${VERSION}-next`;
  writeFileSync(join(scratch, 'sw.js'), shipped.replace(`const VERSION = '${VERSION}';`, `const VERSION = '${next}';`));
  mounts['/sw.js'] = join(scratch, 'sw.js');
  const devtools = await context.newCDPSession(page);
  await devtools.send('ServiceWorker.enable');
  await devtools.send('ServiceWorker.stopAllWorkers');
  await page.evaluate(() => {
    let n = 0;
    window.busy = setInterval(() => fetch(`/style.css?busy=${n++}`).then((r) => r.text()), 20);
  });
  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  // (Polled: page.waitForFunction would take the Promise of an async check for a yes, which once
  // made this test look at the caches while the new version was still installing.)
  const installed = (name) =>
    navigator.serviceWorker.getRegistration().then(async (r) => !r.installing && !!(r.waiting ?? r.active) && (await caches.has(name)));
  await waitInPage(page, installed, `fgsm-${next}`, { timeout: 60_000, interval: 500, message: 'the new version installs' });
  await page.waitForTimeout(3000);
  await page.evaluate(() => clearInterval(window.busy));

  // The reader leaves and comes back: the new version serves the next visit, and no old cache
  // comes back (checked after the page has attacked under it, and again a few seconds later).
  await page.goto('about:blank');
  await page.waitForTimeout(1000);
  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: SLOW });
  assert.ok((await attack(page, 'fgsm-demo', '0.15')).length > 0, 'the page attacks under the new version');
  assert.deepEqual(await page.evaluate(() => caches.keys()), [`fgsm-${next}`], 'only the new version’s cache, on the next visit');
  await page.waitForTimeout(3000);
  assert.deepEqual(await page.evaluate(() => caches.keys()), [`fgsm-${next}`], 'and no old cache comes back');
  assert.deepEqual((await cached(page, ['/', '/pkg/fgsm_wasm_bg.wasm'])).held, ['/', '/pkg/fgsm_wasm_bg.wasm'], 'the new cache holds the page');
  assert.deepEqual(page.problems, [], 'no page or console errors');
  await context.close();
});
