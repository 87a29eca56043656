// The page, the article and the iframe widget under a strict Content-Security-Policy (issue 9,
// item 4): no inline scripts or styles, no eval, nothing from other origins. The server sends the
// policy with every file (the worker's included) plus a report-uri, and the test fails on any
// violation: a report posted to the server, a `securitypolicyviolation` event in the page or a
// widget, or a "Refused to …" console message. A second test fails on any request that leaves
// the local server, with every widget of the article started.
//
//   node --test tests/browser/csp.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start, newPage, startEveryWidget } from '../support/browser.mjs';

export const POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; worker-src 'self'; connect-src 'self'";
const REPORTS = '/csp-report';
const SLOW = 180_000;

const reports = [];
let env;
before(async () => {
  env = await start({
    headers: { 'Content-Security-Policy': `${POLICY}; report-uri ${REPORTS}` },
    onPost: (path, body) => path === REPORTS && reports.push(body),
  });
});
after(async () => {
  await env?.close();
  // A report that arrived after its page's check still fails the run.
  assert.deepEqual(reports, [], 'no CSP violation reports');
});

/**
 * A page that records every CSP violation it sees: events (they bubble out of the widgets' shadow
 * roots), console messages, and the fgsm-result of each attack shown.
 */
async function openWatched(path) {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  const violations = [];
  page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && violations.push(`console: ${m.text()}`));
  await page.exposeFunction('__violation', (v) => violations.push(`event: ${v}`));
  await page.addInitScript(() => {
    window.fgsmResults = [];
    document.addEventListener('fgsm-result', (e) => window.fgsmResults.push(e.detail.eps));
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violation(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  await page.goto(env.url + path);
  page.violations = violations;
  return page;
}

/** Waits for the first widget's first result, sets its ε to `eps`, and waits for that result. */
async function attackOnce(page, eps) {
  await page.waitForFunction(() => window.fgsmResults.length > 0, null, { timeout: SLOW });
  const count = await page.evaluate(() => window.fgsmResults.length);
  await page.evaluate((value) => document.querySelector('fgsm-demo').setAttribute('eps', value), eps);
  await page.waitForFunction((n) => window.fgsmResults.length > n, count, { timeout: SLOW });
}

function assertNoViolations(page, what) {
  // Reports travel separately from the page; any that came are the page's (one page at a time).
  const all = [...page.violations, ...reports.splice(0).map((r) => `report: ${r}`)];
  assert.deepEqual(all, [], `${what}: no CSP violations`);
  assert.deepEqual(page.problems, [], `${what}: no page or console errors`);
}

for (const [what, path, eps] of [
  ['the page', '', '0.1'],
  ['the article', 'blog/', '3/255'],
  ['the iframe widget', 'embed.html', '0.1'],
]) {
  test(`${what} works under the strict policy, with no violation`, async () => {
    const page = await openWatched(path);
    await attackOnce(page, eps);
    assertNoViolations(page, what);
    await page.close();
  });
}

test('the reader’s file and class names are shown as text, never as markup', async () => {
  const page = await openWatched('?model=mnist');
  await page.waitForSelector('#status[data-state="ready"]', { timeout: SLOW });
  const markup = '<img src="/x.png" onerror="window.injected=1">';
  const own = readFileSync(join(REPO, 'models', 'mnist', 'model.onnx'));
  const card = { name: `${markup}net`, classes: Array.from({ length: 10 }, (_, i) => `${markup}${i}`) };
  await page.setInputFiles('#model-file', [
    { name: `${markup}.onnx`, mimeType: 'application/octet-stream', buffer: own },
    { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(card)) },
  ]);
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]', { timeout: SLOW });
  await page.waitForSelector('#results[data-for^="test:"]');
  const found = await page.evaluate(() => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    return { images: root.querySelectorAll('img[src="/x.png"]').length, injected: window.injected ?? null, text: root.textContent };
  });
  assert.equal(found.images, 0, 'no element made from a name');
  assert.equal(found.injected, null);
  assert.ok(found.text.includes('<img src="/x.png"'), 'the names show as typed');
  assertNoViolations(page, 'the reader’s names');
  await page.close();
});

test('no request leaves the local server: the page, every widget of the article, the iframe widget', async () => {
  for (const path of ['', 'blog/', 'embed.html']) {
    const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
    const offsite = [];
    // The context sees every request: the page's, its workers' and any service worker's.
    page.context().on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(env.url) && !url.startsWith('data:') && !url.startsWith('blob:')) offsite.push(url);
    });
    await page.goto(env.url + path);
    await startEveryWidget(page, { timeout: SLOW });
    assert.deepEqual(offsite, [], `${path || 'the page'}: every request stays on the local server`);
    assert.deepEqual(page.offsite(), []);
    await page.close();
  }
});
