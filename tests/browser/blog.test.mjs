// The article (www/blog/, in site/blog/) in headless Chromium, read like a reader would: every
// figure draws, and reacts to its control. The purpose-made figures (4: the 2-D toy, 5: the linear
// unit) are dragged, keyed and slid; each <fgsm-demo> widget must start when scrolled to, draw,
// and emit `fgsm-result`, again when its ε changes; the sentences under the figures follow. Full
// page screenshots at 1280 and 360 px go to tests/screenshots/blog-*.png.
//
//   node --test tests/browser/blog.test.mjs      (after ./build.sh site; rsync -a www/ site/ after www/ edits)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, newPage, screenshotPath, assertClean, assertNoHorizontalScroll } from '../support/browser.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const WIDGETS = ['demo-coffee', 'demo-noise', 'demo-terms', 'demo-robustness', 'demo-targeted', 'demo-draw', 'demo-yours'];
// The draw-your-own figure has nothing to attack until the reader draws.
const STARTING_WIDGETS = WIDGETS.filter((id) => id !== 'demo-draw');
// Model downloads and preparation (EfficientNet-Lite0 is 19 MB) on a busy 2-core machine.
const SLOW = 180_000;

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

/** The article, with every fgsm-result recorded in `window.fgsmResults` as `{ id, detail }`. */
async function openArticle(options = { viewport: DESKTOP }) {
  const page = await newPage(env.browser, env.url, options);
  await page.addInitScript(() => {
    window.fgsmResults = [];
    document.addEventListener('fgsm-result', (event) => {
      const host = event.target.closest?.('fgsm-demo');
      window.fgsmResults.push({ id: host?.id ?? null, detail: JSON.parse(JSON.stringify(event.detail)) });
    });
    // The operations the page asks of its worker, to count the robustness batches.
    window.workerOps = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      if (message?.op) window.workerOps.push({ op: message.op, method: message.args?.method ?? null, noise: !!message.args?.noise });
      return post.call(this, message, ...rest);
    };
  });
  await page.goto(`${env.url}blog/`);
  await page.waitForFunction(() => window.blogFigures?.toy && window.blogFigures?.dims);
  return page;
}

/**
 * A digest of a canvas's pixels: how many differ from the first pixel, and a checksum, so a test
 * can tell a blank canvas from a drawn one, and one drawing from the next.
 */
function canvasDigest(page, selector) {
  return page.$eval(selector, (canvas) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let differing = 0;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2] || data[i + 3] !== data[3]) differing++;
      sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2] + 17 * data[i + 3]) % 1_000_000_007;
    }
    return { width, height, drawn: differing / (width * height), sum };
  });
}

async function assertDrawn(page, selector, min = 0.02) {
  const digest = await canvasDigest(page, selector);
  assert.ok(digest.width > 0 && digest.height > 0, `${selector} has a size`);
  assert.ok(digest.drawn >= min, `${selector} is drawn on (${(100 * digest.drawn).toFixed(1)} % of pixels differ from the corner)`);
  return digest;
}

const text = async (page, selector) => (await page.textContent(selector)).trim();

test('Figure 4, the 2-D toy: drawn, and dragging the point, the keys, ε and retraining all change it', async () => {
  const page = await openArticle();
  const toy = '#fig-toy';
  await page.locator(toy).scrollIntoViewIfNeeded();
  const plane = `${toy} .toy-plane`;
  const before = await assertDrawn(page, plane, 0.5);
  await assertDrawn(page, `${toy} .toy-losses`);
  const readout = await text(page, `${toy} .toy-readout`);
  assert.match(readout, /^The point at \(0\.35, 0\.75\) is blue \(9\d\s%\)/);
  assert.match(readout, /ε = 0\.20 .*orange .*: fooled\./, 'the figure opens on a point that the sign step fools');
  assert.equal(await page.getAttribute(plane, 'data-fooled'), 'true');
  assert.match(await page.getAttribute(plane, 'aria-label'), /Two classes of points.*The point at/);

  // Drag the point from where it is to the lower right: the point, the step and the picture change.
  const state = () => page.evaluate(() => {
    const { point, result } = window.blogFigures.toy.state;
    return { point: [...point], signStep: [...result.signStep], gradient: [...result.gradient] };
  });
  const start = await state();
  const box = await page.locator(plane).boundingBox();
  const toPixel = ([x, y]) => [box.x + ((x + 1.2) / 3.4) * box.width, box.y + ((1.325 - y) / 2.125) * box.height];
  const [fromX, fromY] = toPixel(start.point);
  const [toX, toY] = toPixel([1.3, -0.1]);
  await page.mouse.move(fromX, fromY);
  await page.mouse.down();
  await page.mouse.move((fromX + toX) / 2, (fromY + toY) / 2, { steps: 4 });
  await page.mouse.move(toX, toY, { steps: 4 });
  await page.mouse.up();
  const dragged = await state();
  assert.ok(Math.abs(dragged.point[0] - 1.3) < 0.02 && Math.abs(dragged.point[1] + 0.1) < 0.02, `the point follows the mouse: ${dragged.point}`);
  assert.notDeepEqual(dragged.signStep, start.signStep, 'the sign step moves with the point');
  assert.notDeepEqual(dragged.gradient, start.gradient, 'so does the gradient');
  const afterDrag = await canvasDigest(page, plane);
  assert.notEqual(afterDrag.sum, before.sum, 'the drawing changes');
  assert.match(await text(page, `${toy} .toy-readout`), /^The point at \(1\.30, -0\.10\)/);

  // The keyboard moves it too.
  await page.focus(plane);
  await page.keyboard.press('ArrowUp');
  const keyed = await state();
  assert.ok(Math.abs(keyed.point[1] - (dragged.point[1] + 0.05)) < 1e-9, 'ArrowUp moves the point up by 0.05');

  // ε sets the size of the square and of the step.
  const planeBefore = await canvasDigest(page, plane);
  const lossesBefore = await canvasDigest(page, `${toy} .toy-losses`);
  await page.locator(`${toy} .toy-eps`).fill('0.4');
  assert.equal(await text(page, `${toy} .toy-eps-value`), '0.40');
  const wide = await state();
  const side = Math.max(Math.abs(wide.signStep[0] - wide.point[0]), Math.abs(wide.signStep[1] - wide.point[1]));
  assert.ok(Math.abs(side - 0.4) < 1e-9, `the sign step reaches the corner of the square of half-side ε: ${side}`);
  assert.notEqual((await canvasDigest(page, plane)).sum, planeBefore.sum, 'the square and the step are redrawn');
  assert.notEqual((await canvasDigest(page, `${toy} .toy-losses`)).sum, lossesBefore.sum, 'the attack plot marks the new ε');

  // Training again replays the descent and ends where it started.
  await page.click(`${toy} .toy-train`);
  await page.waitForFunction(() => window.blogFigures.toy.state.curve.length === 301 && !document.querySelector('.toy-train').disabled);
  const curve = await page.evaluate(() => window.blogFigures.toy.state.curve);
  assert.ok(curve.at(-1) < curve[0] / 5, `training goes down the loss: ${curve[0]} → ${curve.at(-1)}`);

  assertClean(page);
  await page.close();
});

test('Figure 4 with reduced motion: retraining jumps to the end', async () => {
  const page = await openArticle({ viewport: DESKTOP, reducedMotion: 'reduce' });
  const length = await page.evaluate(() => {
    document.querySelector('.toy-train').click();
    return window.blogFigures.toy.state.curve.length;
  });
  assert.equal(length, 301, 'no animation: the curve is complete at once');
  await page.close();
});

test('Figure 5, the linear unit: drawn, and the sliders move the plotted change as ε·‖w‖₁', async () => {
  const page = await openArticle();
  const fig = '#fig-dims';
  await page.locator(fig).scrollIntoViewIfNeeded();
  const plot = `${fig} .dims-plot`;
  const before = await assertDrawn(page, plot);
  assert.equal(await text(page, `${fig} .dims-n-value`), '784');
  const values = () => page.evaluate(() => ({ ...window.blogFigures.dims.state.values, n: window.blogFigures.dims.state.n }));
  const at784 = await values();
  assert.ok(Math.abs(at784.sign / at784.paper - 1) < 0.1, 'the sign change follows ε·m·n');
  assert.ok(at784.sign > 10 * at784.typical, 'and beats random signs by far');

  // The n slider is logarithmic: its top is a 224×224 colour photo.
  await page.locator(`${fig} .dims-n`).fill('1000');
  assert.equal(await text(page, `${fig} .dims-n-value`), '150,528');
  const atPhoto = await values();
  assert.equal(atPhoto.n, 150528);
  const growth = atPhoto.sign / at784.sign;
  assert.ok(growth > 150 && growth < 240, `192× the inputs, about 192× the change: ${growth}`);
  const randomGrowth = atPhoto.typical / at784.typical;
  assert.ok(randomGrowth > 10 && randomGrowth < 18, `random signs grow like √n (√192 ≈ 13.9): ${randomGrowth}`);
  assert.match(await text(page, `${fig} .dims-readout`), /^With 150,528 inputs each moved by ε = 1\/255/);
  const afterN = await canvasDigest(page, plot);
  assert.notEqual(afterN.sum, before.sum, 'the marker moves');

  // ε scales every change linearly.
  await page.locator(`${fig} .dims-eps`).fill('4');
  const atEps4 = await values();
  assert.ok(Math.abs(atEps4.sign / atPhoto.sign - 4) < 1e-9, '4× ε, 4× the change');
  assert.match(await text(page, `${fig} .dims-eps-value`), /^4\/255 = 0\.016/);
  assert.notEqual((await canvasDigest(page, plot)).sum, afterN.sum);

  // Keyboard: the sliders are ordinary range inputs.
  await page.focus(`${fig} .dims-n`);
  await page.keyboard.press('Home');
  assert.equal(await text(page, `${fig} .dims-n-value`), '1');
  assert.match(await page.getAttribute(plot, 'aria-label'), /^Log–log plot .*With 1 input each/);

  // New random signs change the random curve, not the sign curve.
  await page.locator(`${fig} .dims-n`).fill('525');
  const one = await values();
  await page.click(`${fig} .dims-redraw`);
  const two = await values();
  assert.equal(two.sign, one.sign);
  assert.notEqual(two.random, one.random);

  assertClean(page);
  await page.close();
});

/** Scrolls to a widget and waits for its first fgsm-result (lazy widgets start near the screen). */
async function firstResult(page, id) {
  await page.locator(`#${id}`).scrollIntoViewIfNeeded();
  await page.waitForFunction((wid) => window.fgsmResults.some((r) => r.id === wid), id, { timeout: SLOW });
  return page.evaluate((wid) => window.fgsmResults.filter((r) => r.id === wid).at(-1).detail, id);
}

/** Sets an attribute of a widget and waits for the fgsm-result that follows. */
async function resultAfter(page, id, name, value, matches) {
  const seen = await page.evaluate((wid) => window.fgsmResults.filter((r) => r.id === wid).length, id);
  await page.evaluate(([wid, n, v]) => document.getElementById(wid).setAttribute(n, v), [id, name, value]);
  await page.waitForFunction(([wid, count]) => window.fgsmResults.filter((r) => r.id === wid).length > count, [id, seen], { timeout: SLOW });
  const detail = await page.evaluate((wid) => window.fgsmResults.filter((r) => r.id === wid).at(-1).detail, id);
  if (matches) matches(detail);
  return detail;
}

/** Whether a widget shows pictures: some canvas or image in its (open) shadow root is drawn on. */
function widgetDrawn(page, id) {
  return page.evaluate((wid) => {
    const root = document.getElementById(wid).shadowRoot;
    if (!root) return { open: false };
    const canvases = [...root.querySelectorAll('canvas')].filter((c) => c.width > 0 && c.height > 0 && c.getClientRects().length);
    const drawn = canvases.filter((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) return true;
      return false;
    });
    const images = [...root.querySelectorAll('img')].filter((img) => img.complete && img.naturalWidth > 0);
    return { open: true, canvases: canvases.length, drawn: drawn.length, images: images.length };
  }, id);
}

test('the widget figures start when scrolled to, draw, emit fgsm-result and the prose follows', { timeout: 10 * SLOW }, async () => {
  const page = await openArticle();
  await page.waitForFunction(() => customElements.get('fgsm-demo'), null, { timeout: 30_000 });

  // Figure 1: the coffee cup, "espresso" at 94.5 %, is no longer espresso at ε = 1/255.
  const coffee = await firstResult(page, 'demo-coffee');
  assert.equal(coffee.model, 'efficientnet-lite0');
  assert.equal(coffee.labelName, 'espresso');
  assert.ok(Math.abs(coffee.probability - 0.945) < 0.01, `espresso at ${coffee.probability}`);
  assert.ok(Math.abs(coffee.eps - 1 / 255) < 1e-6, `ε = 1/255: ${coffee.eps}`);
  assert.equal(coffee.fooled, true, 'one grey level flips the coffee cup');
  assert.notEqual(coffee.adversarialName, 'espresso');
  assert.equal(await text(page, '[data-reaction-for="demo-coffee"]'),
    `At ε = 1/255 the network now says “${coffee.adversarialName}” (${(coffee.adversarialProbability * 100).toFixed(1)}\u00a0%) instead of “espresso” (${(coffee.probability * 100).toFixed(1)}\u00a0%). Fooled.`);
  // A change of ε is a new result, and the sentence follows it.
  await resultAfter(page, 'demo-coffee', 'eps', '0', (d) => {
    assert.equal(d.eps, 0);
    assert.equal(d.fooled, false);
  });
  assert.match(await text(page, '[data-reaction-for="demo-coffee"]'), /^At ε = 0 nothing changes: the network says “espresso”/);
  await resultAfter(page, 'demo-coffee', 'eps', '2/255', (d) => assert.ok(Math.abs(d.eps - 2 / 255) < 1e-6));

  // Figures 2, 3 and 6: the digit network.
  for (const id of ['demo-noise', 'demo-terms', 'demo-robustness']) {
    const d = await firstResult(page, id);
    assert.equal(d.model, 'mnist', id);
  }
  // Test digit 8, a confident "3", is misread after FGSM at ε = 0.25 (random ±ε noise leaves it a 3).
  const three = await page.evaluate(() => document.getElementById('demo-noise').result);
  assert.equal(three.labelName, '3');
  assert.equal(three.fooled, true);
  await resultAfter(page, 'demo-terms', 'eps', '0.1', (d) => assert.ok(Math.abs(d.eps - 0.1) < 1e-6));

  // Figure 7: targeted at "Persian cat".
  const cat = await firstResult(page, 'demo-targeted');
  assert.equal(cat.targeted, true);
  assert.equal(cat.targetName, 'Persian cat');
  assert.equal(cat.labelName, 'tiger cat');
  assert.equal(cat.fooled, cat.adversarialName === 'Persian cat', 'targeted "fooled" means the target was reached');
  assert.match(await text(page, '[data-reaction-for="demo-targeted"]'), /^At ε = 2\/255 the network says “/);

  // Figure 8: draw a stroke on the pad (inside the widget's shadow root), and it is attacked.
  await page.locator('#demo-draw').scrollIntoViewIfNeeded();
  const pad = page.locator('#demo-draw #draw-pad');
  await pad.waitFor({ state: 'visible', timeout: SLOW });
  const box = await pad.boundingBox();
  const at = (u, v) => [box.x + u * box.width, box.y + v * box.height];
  await page.mouse.move(...at(0.5, 0.15));
  await page.mouse.down();
  for (const [u, v] of [[0.5, 0.35], [0.52, 0.55], [0.5, 0.75], [0.5, 0.88]]) await page.mouse.move(...at(u, v), { steps: 5 });
  await page.mouse.up();
  const drawn = await firstResult(page, 'demo-draw');
  assert.equal(drawn.model, 'mnist');
  assert.match(await text(page, '[data-reaction-for="demo-draw"]'), /^At ε = 0\.2 the network /);

  // Figure 9.
  await firstResult(page, 'demo-yours');
  await resultAfter(page, 'demo-yours', 'eps', '3/255', (d) => assert.ok(Math.abs(d.eps - 3 / 255) < 1e-6));

  // Figures 2 and 6 show the same network's robustness: one measurement, shared, not two.
  await page.waitForFunction(([a, b]) => [a, b].every((id) => document.getElementById(id).shadowRoot.querySelector('#live')?.dataset.pgd === 'done'), ['demo-noise', 'demo-robustness'], { timeout: 5 * SLOW });
  const table = (id) => page.$eval(`#${id}`, (el) => [...el.shadowRoot.querySelectorAll('#live-figures td')].map((td) => td.textContent));
  assert.deepEqual(await table('demo-robustness'), await table('demo-noise'), 'the same figures in both');
  const batches = await page.evaluate(() => window.workerOps.filter((o) => o.op === 'attackMany'));
  const digits = await page.evaluate(async () => (await (await fetch('/models/mnist/model.json')).json()).test_digits.count);
  assert.equal(batches.filter((b) => b.noise).length, digits / 10, `one FGSM-and-noise run over the ${digits} digits, in batches of 10`);
  assert.equal(batches.filter((b) => b.method === 'pgd').length, 100, 'one PGD run over the first 100 digits');

  // Every widget shows pictures (where its shadow root is open to look into).
  for (const id of WIDGETS) {
    const drawn = await widgetDrawn(page, id);
    if (drawn.open) assert.ok(drawn.drawn + drawn.images > 0, `${id} shows something: ${JSON.stringify(drawn)}`);
  }
  assertClean(page);
  await page.close();
});

for (const [name, viewport] of [['1280', DESKTOP], ['360', PHONE]]) {
  test(`the whole article at ${name} px: every figure started, no horizontal scroll, screenshot`, { timeout: 10 * SLOW }, async () => {
    const page = await openArticle({ viewport });
    await assertNoHorizontalScroll(page);
    // Scroll to each figure like a reader, so each lazy widget starts (the page grows as they do).
    for (const id of STARTING_WIDGETS) await firstResult(page, id);
    // Text is readable: the column is at most ~700 px of text, and never wider than the screen.
    const column = await page.$eval('#confident p', (p) => p.getBoundingClientRect().width);
    assert.ok(column <= 700 && column >= Math.min(300, viewport.width - 40), `reading column ${column} px`);
    // The article's own figures (document.querySelectorAll does not look inside the widgets).
    const figures = await page.evaluate(() => [...document.querySelectorAll('figure')].map((f) => {
      const box = f.getBoundingClientRect();
      return { id: f.id, left: box.left, right: box.right, captions: f.querySelectorAll(':scope > figcaption').length };
    }));
    assert.equal(figures.length, 9, 'nine figures');
    for (const f of figures) {
      assert.ok(f.left >= 0 && f.right <= viewport.width, `${f.id} fits on the screen: ${f.left}–${f.right}`);
      assert.equal(f.captions, 1, `${f.id} has a caption`);
    }
    await assertNoHorizontalScroll(page);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath(`blog-${name}.png`), fullPage: true });
    assertClean(page);
    await page.close();
  });
}
