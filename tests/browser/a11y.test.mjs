// Accessibility (issue 9, item 7): axe-core (npm, run inside the page; it reads open shadow roots)
// on the page with its photo and with digits, on the article with every widget started, and on
// the iframe widget: no serious or critical violation (the others are printed). Then the keyboard:
// every control of the widget is reached by Tab, shows a visible focus ring, and the ε slider
// works with the arrow keys. The three pictures carry a text alternative that says what the
// model reads, and with prefers-reduced-motion nothing animates.
//
//   node --test tests/browser/a11y.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { start, newPage, startEveryWidget } from '../support/browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SLOW = 180_000;
const DESKTOP = { width: 1280, height: 900 };

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

/** Opens `path` and waits until every widget on it has started and shown a result or is ready. */
async function openStarted(path, options = {}) {
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP, ...options });
  await page.goto(env.url + path);
  await startEveryWidget(page, { timeout: SLOW });
  await page.evaluate(() => window.scrollTo(0, 0));
  return page;
}

/** axe-core's violations on the page: [{id, impact, help, nodes: [target]}]. */
async function axeViolations(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
}

for (const [what, path] of [
  ['the page (photo)', ''],
  ['the page (digits)', '?model=mnist'],
  ['the article, every widget started', 'blog/'],
  ['the iframe widget', 'embed.html?model=mnist'],
]) {
  test(`axe-core finds no serious or critical violation on ${what}`, async () => {
    const page = await openStarted(path);
    const violations = await axeViolations(page);
    for (const v of violations) console.log(`# ${what}: ${v.impact} ${v.id} (${v.help}) ×${v.nodes.length}: ${v.nodes.slice(0, 3).join(' ')}`);
    const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(grave, [], `${what}: serious or critical violations`);
    assert.deepEqual(page.problems, []);
    await page.close();
  });
}

/** The focused element, through the widgets' shadow roots: its id (or tag) and whether a focus ring shows. */
function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    // A file input is styled through its label (.file-button:focus-within).
    const label = el.type === 'file' ? el.closest('label') : null;
    const labelRing = label ? getComputedStyle(label).outlineStyle !== 'none' : false;
    return { id: el.dataset.control ?? (el.id || el.tagName), inWidget: el.getRootNode() !== document, ring: ring || labelRing };
  });
}

for (const [what, path] of [
  ['photo', ''],
  ['digits', '?model=mnist'],
]) {
  test(`every control of the widget (${what}) is reached by Tab, with a visible focus ring`, async () => {
    const page = await openStarted(path);
    // Every control a reader can use: enabled, shown, and focusable by Tab; each is named for
    // the test by a data-control attribute (its id, or its kind and number).
    const controls = await page.evaluate(() => {
      const root = document.querySelector('fgsm-demo').shadowRoot;
      return [...root.querySelectorAll('button, input, select, textarea, a[href], summary, [tabindex]')]
        .filter((el) => !el.disabled && el.tabIndex >= 0 && el.checkVisibility({ visibilityProperty: true }))
        .map((el, i) => (el.dataset.control = el.id || `${el.tagName.toLowerCase()}.${el.className || 'plain'} #${i}`));
    });
    assert.ok(controls.length >= 5, `the widget has controls: ${controls.join(', ')}`);
    const reached = new Map();
    for (let i = 0; i < controls.length + 40; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      if (f?.inWidget) reached.set(f.id, f.ring);
    }
    const missed = controls.filter((id) => !reached.has(id));
    assert.deepEqual(missed, [], `every control is reached by Tab (reached: ${[...reached.keys()].join(', ')})`);
    const ringless = [...reached].filter(([, ring]) => !ring).map(([id]) => id);
    assert.deepEqual(ringless, [], 'each shows a focus ring');
    console.log(`# ${what}: ${reached.size} controls reached by Tab, each with a focus ring`);

    // The slider works from the keyboard: an arrow key gives a result at the next ε.
    const before = await page.getAttribute('#results', 'data-for');
    await page.focus('#eps');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((key) => {
      const now = document.querySelector('fgsm-demo').shadowRoot.querySelector('#results').dataset.for;
      return now && now !== key;
    }, before);
    assert.deepEqual(page.problems, []);
    await page.close();
  });
}

test('the pictures say what the model reads', async () => {
  const page = await openStarted('?model=mnist');
  const pictures = await page.evaluate(() => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    const $ = (id) => root.getElementById(id);
    const unlabelled = [...root.querySelectorAll('canvas')]
      .filter((c) => c.checkVisibility() && c.getAttribute('aria-hidden') !== 'true')
      // Inside a button, the button's text names it; else an image with a label of its own.
      .filter((c) => !c.closest('button'))
      .filter((c) => {
        const by = c.getAttribute('aria-labelledby');
        const name = by ? by.split(/\s+/).map((id) => root.getElementById(id)?.textContent ?? '').join(' ') : c.getAttribute('aria-label');
        return c.getAttribute('role') !== 'img' || !name?.trim();
      })
      .map((c) => c.id || c.className);
    return {
      unlabelled,
      original: $('cv-original').getAttribute('aria-label'),
      adversarial: $('cv-adversarial').getAttribute('aria-label'),
      originalPred: $('original-pred').textContent.trim(),
      adversarialPred: $('adversarial-pred').textContent.trim(),
    };
  });
  assert.deepEqual(pictures.unlabelled, [], 'every shown canvas is an image with a text alternative');
  assert.ok(pictures.original.includes(pictures.originalPred), `“${pictures.original}” names ${pictures.originalPred}`);
  assert.ok(pictures.adversarial.includes(pictures.adversarialPred), `“${pictures.adversarial}” names ${pictures.adversarialPred}`);
  await page.close();
});

test('with prefers-reduced-motion nothing animates (and without it, the watch does see motion)', async () => {
  /** The animations and transitions that ran while the page loaded and stepped to the next digit. */
  const motion = async (reducedMotion) => {
    const page = await newPage(env.browser, env.url, { viewport: DESKTOP, reducedMotion });
    // Watch from the start, every 20 ms, the document and each widget's shadow root.
    await page.addInitScript(() => {
      window.motion = new Set();
      setInterval(() => {
        const roots = [document, ...[...document.querySelectorAll('fgsm-demo')].map((el) => el.shadowRoot).filter(Boolean)];
        for (const root of roots) {
          for (const a of root.getAnimations()) {
            if (a.playState !== 'running') continue;
            const target = a.effect?.target;
            window.motion.add(`${a.animationName ?? a.transitionProperty} on ${target?.id || target?.className || target?.tagName}${a.effect?.pseudoElement ?? ''}`);
          }
        }
      }, 20);
    });
    await page.goto(`${env.url}?model=mnist`);
    await page.waitForSelector('#status[data-state="ready"]', { timeout: SLOW });
    await page.waitForSelector('#results[data-for^="test:"]');
    const before = await page.getAttribute('#results', 'data-for');
    await page.click('#next');
    await page.waitForFunction((key) => document.querySelector('fgsm-demo').shadowRoot.querySelector('#results').dataset.for !== key, before);
    await page.waitForTimeout(300);
    const seen = await page.evaluate(() => [...window.motion]);
    const smooth = await page.evaluate(() => getComputedStyle(document.documentElement).scrollBehavior);
    await page.close();
    return { seen, smooth };
  };
  const moving = await motion('no-preference');
  console.log(`# without a preference: ${moving.seen.join(', ') || 'no motion'}`);
  assert.ok(moving.seen.length > 0, 'the watch sees the motion the page has');
  const still = await motion('reduce');
  assert.deepEqual(still.seen, [], 'nothing animates with prefers-reduced-motion: reduce');
  assert.equal(still.smooth, 'auto', 'no smooth scrolling');
});
