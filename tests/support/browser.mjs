// Starts Debian's Chromium through playwright-core (never a downloaded browser) and the static
// server over site/, for the browser tests and the benchmark.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SITE = join(REPO, 'site');
export const SCREENSHOTS = join(REPO, 'tests', 'screenshots');

// The background-networking flags keep Chromium from reaching out to services this machine
// (and a reader offline) cannot reach. playwright's launch() gives each browser a fresh profile.
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/**
 * A browser and a server over `root` (site/ by default); call `close()` when done. Other options
 * go to the server (see serve.mjs: `headers`, `hold`, `compressed`).
 */
export async function start({ root = SITE, isolated = false, ...serveOptions } = {}) {
  const server = await serve({ root, isolated, ...serveOptions });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
  });
  return {
    url: server.url,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * A new page that fails the test on any uncaught page error or console error, and records every
 * request so a test can check that nothing left the local server.
 */
export async function newPage(browser, baseUrl, options = {}) {
  const page = await browser.newPage(options);
  const problems = [];
  const requests = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console.error: ${m.text()}`));
  page.on('request', (r) => requests.push(r.url()));
  page.problems = problems;
  page.offsite = () => requests.filter((u) => !u.startsWith(baseUrl) && !u.startsWith('data:') && !u.startsWith('blob:'));
  return page;
}

export function screenshotPath(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

/** No page or console errors (except those matching `ignore`), and no request left the local server. */
export function assertClean(page, ignore = null) {
  const problems = ignore ? page.problems.filter((p) => !ignore.test(p)) : page.problems;
  assert.deepEqual(problems, [], 'no page errors or console errors');
  assert.deepEqual(page.offsite(), [], 'the page requests only its own files');
}

export async function assertNoHorizontalScroll(page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `no horizontal scroll: page is ${scrollWidth} px wide in a ${innerWidth} px window`);
}

/**
 * Starts every <fgsm-demo> on `page` (lazy widgets start when scrolled into view) and waits until
 * each is ready and has shown a result; the article's draw widget ("demo-draw") has nothing to
 * attack until drawn on, so for it ready is enough.
 */
export async function startEveryWidget(page, { timeout = 180_000 } = {}) {
  await page.waitForSelector('fgsm-demo');
  const ids = await page.$$eval('fgsm-demo', (all) => all.map((el, i) => (el.id ||= `widget-${i}`)));
  for (const id of ids) await page.locator(`#${id}`).scrollIntoViewIfNeeded();
  await page.waitForFunction(
    () => [...document.querySelectorAll('fgsm-demo')].every((el) => {
      const root = el.shadowRoot; // none until the element is defined (its module still loading)
      return root?.querySelector('#status')?.dataset.state === 'ready' && (root.querySelector('#results').dataset.for || el.id === 'demo-draw');
    }),
    null,
    { timeout },
  );
}

/**
 * Polls `fn(arg)` in the page until it resolves to something truthy, and returns that. For an
 * async test in the page: page.waitForFunction takes the Promise an async function returns as a
 * truthy answer and stops at once. Fails with `message` after `timeout` ms.
 */
export async function waitInPage(page, fn, arg, { timeout = 30_000, interval = 250, message = 'the page never reached the state waited for' } = {}) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > until) throw new Error(`${message} (waited ${timeout} ms)`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Waits until the page's shared engine holds exactly one model (a model the reader left is freed). */
export function oneModelInWorker(page, message = 'the worker holds only the model in use') {
  return waitInPage(page, async () => (await (await import('/ui/engine.js')).sharedEngine().client.call('memory')).models === 1, null, { timeout: 10_000, message });
}
