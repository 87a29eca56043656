// The <fgsm-demo> widget (www/embed/fgsm-demo.js) on host pages, in headless Chromium: every
// attribute and live changes to them, one worker for two widgets, the fgsm-result event, the
// iframe page that sizes its frame, a host whose CSS resets everything, lazy start, and
// screenshots of widgets in an article at 1280 and 360 px. The host pages are in fixtures/,
// served under /fixtures/ next to the built site.
//
//   node --test tests/browser/embed.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { REPO, SITE, start, newPage, screenshotPath, assertClean, assertNoHorizontalScroll } from '../support/browser.mjs';

const FIXTURES = join(REPO, 'tests', 'browser', 'fixtures');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript' };
const PHOTO = existsSync(join(SITE, 'models', 'efficientnet-lite0', 'model.json'));
const needsPhotoModel = { skip: PHOTO ? false : 'site/models/efficientnet-lite0/ is missing' };
const CARD = PHOTO ? JSON.parse(readFileSync(join(SITE, 'models', 'efficientnet-lite0', 'model.json'), 'utf8')) : null;
/** The number of the sample photo whose file is `name`.png (what the widget's image="name" picks). */
const sampleIndex = (name) => CARD.samples.findIndex((s) => s.file.split('/').pop().replace(/\.[^.]*$/, '') === name);

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

/**
 * A page showing fixtures/`name`, served at /fixtures/ on the site's server, counting the
 * workers it starts. Extra `routes` map URL globs to handlers.
 */
async function openFixture(name, { viewport = { width: 1280, height: 900 }, wait = true, ...options } = {}) {
  const page = await newPage(env.browser, env.url, { viewport, ...options });
  page.workers = [];
  page.on('worker', (w) => page.workers.push(w.url()));
  await page.route(`${env.url}fixtures/**`, (route) => {
    const file = join(FIXTURES, new URL(route.request().url()).pathname.replace(/^\/fixtures\//, ''));
    if (!existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: TYPES[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
  });
  await page.goto(`${env.url}fixtures/${name}`, { waitUntil: wait ? 'load' : 'commit' });
  return page;
}

/** Every fgsm-result event the page sees, by widget id, kept on window.__results. */
async function recordResults(page) {
  await page.evaluate(() => {
    window.__results = [];
    document.addEventListener('fgsm-result', (e) => window.__results.push({ id: e.target.id, detail: e.detail }));
  });
}
const lastResult = (page, id) => page.evaluate((id) => window.__results.filter((r) => r.id === id).at(-1)?.detail ?? null, id);

const text = async (page, selector) => (await page.textContent(selector)).trim();
const ready = (page, id, key, timeout = 120_000) => page.waitForSelector(`#${id} #results[data-for="${key}"]`, { timeout });

test('two widgets share one worker; every attribute shows, and changing one updates the widget', async () => {
  const page = await openFixture('two-widgets.html');
  await recordResults(page);
  await ready(page, 'a', 'test:12@0.100');
  await ready(page, 'b', 'test:3@0.250');
  assert.equal(page.workers.length, 1, `one worker for both widgets: ${page.workers.join(', ')}`);

  // a: the default panels (input, triptych, bars, controls) and ε written as a number.
  assert.match(await text(page, '#a #eps-value'), /^0\.100 \(25\.5\/255\)$/);
  assert.match(await text(page, '#a #digit-info'), /Test digit 13 of 500/);
  for (const id of ['prev', 'verdict', 'cv-adversarial', 'bars-original', 'eps']) assert.ok(await page.isVisible(`#a #${id}`), `a shows #${id}`);
  for (const id of ['sweep', 'noise', 'terms', 'live', 'model-select', 'model-file']) assert.ok(await page.isHidden(`#a #${id}`), `a hides #${id}`);

  // b: panels="triptych,noise,terms,sweep", a target and a gain.
  for (const id of ['verdict', 'noise', 'terms', 'sweep']) assert.ok(await page.isVisible(`#b #${id}`), `b shows #${id}`);
  for (const id of ['prev', 'eps', 'bars-original', 'target']) assert.ok(await page.isHidden(`#b #${id}`), `b hides #${id}`);
  assert.equal(await page.getAttribute('#b #results', 'data-target'), '7');
  await page.waitForSelector('#b #noise[data-for="test:3"]');
  await page.waitForSelector('#b #terms[data-for="test:3"]');
  await page.waitForSelector('#b #sweep-text[data-for="test:3"]');
  // gain="1": the perturbation at its true size, ±0.25 around mid-grey, never black or white.
  const range = (id, canvas) =>
    page.evaluate(([id, canvas]) => {
      const c = document.getElementById(id).shadowRoot.getElementById(canvas);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lo = 255, hi = 0;
      for (let i = 0; i < d.length; i += 4) (lo = Math.min(lo, d[i])), (hi = Math.max(hi, d[i]));
      return [lo, hi];
    }, [id, canvas]);
  assert.deepEqual(await range('b', 'cv-perturbation'), [64, 191], 'gain 1 on b');
  assert.deepEqual(await range('a', 'cv-perturbation'), [0, 255], 'a: the default gain fills the range');

  // The fgsm-result event of each: the same numbers the widget shows.
  const a = await lastResult(page, 'a');
  assert.equal(a.model, 'mnist');
  assert.equal(a.eps, 0.1);
  assert.equal(a.targeted, false);
  assert.equal(a.target, null);
  assert.equal(a.image, '12');
  assert.equal(String(a.label), await text(page, '#a #original-pred'));
  assert.equal(a.labelName, String(a.label));
  assert.equal(String(a.adversarialLabel), await text(page, '#a #adversarial-pred'));
  assert.equal(a.fooled, a.adversarialLabel !== a.label);
  assert.equal(String(a.fooled), await page.getAttribute('#a #verdict', 'data-fooled'));
  assert.ok(a.probability > 0 && a.probability <= 1 && a.adversarialProbability > 0);
  const b = await lastResult(page, 'b');
  assert.equal(b.targeted, true);
  assert.equal(b.target, 7);
  assert.equal(b.targetName, '7');
  assert.equal(b.fooled, b.adversarialLabel === 7 && b.label !== 7);
  assert.deepEqual(await page.evaluate(() => document.getElementById('b').result.target), 7, 'the element keeps its latest result');

  // Random ±ε noise against FGSM: each with the model's verdict.
  assert.match(await text(page, '#b #noise-verdict'), /^(Not fooled|Fooled): read as \d \(/);
  assert.match(await text(page, '#b #noise-fgsm-verdict'), /^(Not fooled|Fooled): read as \d \(/);
  assert.equal(await page.getAttribute('#b #noise-fgsm-verdict', 'data-class'), String(b.adversarialLabel));
  // The terms: pointing at one explains it; so does focusing it.
  await page.hover('#b .term[data-term="sign"]');
  assert.match(await text(page, '#b #term-text'), /^sign\(∇ₓJ\): only the direction/);
  await page.focus('#b .term[data-term="gradient"]');
  assert.match(await text(page, '#b #term-text'), /^∇ₓJ: how much the loss/);
  assert.equal(await page.getAttribute('#b #terms', 'data-active'), 'gradient');
  assert.match(await text(page, '#b #term-step-name'), /^−ε/, 'a targeted step goes down the loss');

  // Live changes, by attribute and by property.
  await page.evaluate(() => document.getElementById('a').setAttribute('eps', '0.25'));
  await ready(page, 'a', 'test:12@0.250');
  assert.equal((await lastResult(page, 'a')).eps, 0.25);
  await page.evaluate(() => (document.getElementById('a').image = '13'));
  await ready(page, 'a', 'test:13@0.250');
  await page.evaluate(() => (document.getElementById('a').target = '3'));
  await page.waitForSelector('#a #results[data-target="3"][data-for="test:13@0.250"]');
  assert.equal((await lastResult(page, 'a')).target, 3);
  await page.evaluate(() => (document.getElementById('a').target = ''));
  await page.waitForSelector('#a #results[data-target=""]');
  await page.evaluate(() => (document.getElementById('a').gain = '1'));
  await page.waitForFunction(() => document.getElementById('a').shadowRoot.getElementById('gain').value === '1');
  await page.waitForFunction(() => {
    const c = document.getElementById('a').shadowRoot.getElementById('cv-perturbation');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return d.every((v, i) => i % 4 === 3 || v !== 0);
  });
  await page.evaluate(() => (document.getElementById('a').panels = 'triptych,sweep,robustness'));
  assert.equal(await page.getAttribute('#a', 'panels'), 'triptych,sweep,robustness', 'the property sets the attribute');
  await page.waitForSelector('#a #sweep', { state: 'visible' });
  await page.waitForSelector('#a #sweep-text[data-for="test:13"]');
  await page.waitForSelector('#a #live', { state: 'visible' });
  assert.ok(await page.isHidden('#a #bars-original'));
  assert.ok(await page.isHidden('#a #prev'));
  // A value that means nothing is said in plain words, and the widget keeps working.
  await page.evaluate(() => (document.getElementById('a').eps = 'lots'));
  await page.waitForSelector('#a #alert:not([hidden])');
  assert.match(await text(page, '#a #alert-text'), /ε "lots" is not a number: write it as 0\.25 or as 2\/255/);
  await page.evaluate(() => (document.getElementById('a').panels = 'triptych,wings'));
  assert.match(await text(page, '#a #alert-text'), /Unknown panel “wings”: the panels are picker, input/);
  assert.equal(page.workers.length, 1, 'still one worker');

  // The widget's styles stay inside it: the host's elements with the same class names are unstyled.
  const host = await page.evaluate(() =>
    ['host-verdict', 'host-panel'].map((id) => {
      const s = getComputedStyle(document.getElementById(id));
      return [s.backgroundColor, s.borderLeftWidth, s.fontWeight, s.fontSize];
    }),
  );
  assert.deepEqual(host, [['rgba(0, 0, 0, 0)', '0px', '400', '16px'], ['rgba(0, 0, 0, 0)', '0px', '400', '16px']]);
  await assertClean(page);
  await page.close();
});

test('model, image and eps as a photo model, a sample name and grey levels; an image URL', needsPhotoModel, async () => {
  const page = await openFixture('two-widgets.html');
  await recordResults(page);
  await ready(page, 'a', 'test:12@0.100');
  await page.evaluate(() => {
    const a = document.getElementById('a');
    a.model = 'efficientnet-lite0';
    a.image = 'coffee';
    a.eps = '2/255';
  });
  await ready(page, 'a', `sample:${sampleIndex('coffee')}@2/255`);
  const card = CARD;
  const coffee = card.samples[sampleIndex('coffee')];
  assert.equal(await text(page, '#a #original-pred'), coffee.predicted.class);
  assert.match(await text(page, '#a #eps-value'), /^2\/255 = 0\.0078$/);
  const r = await lastResult(page, 'a');
  assert.equal(r.model, 'efficientnet-lite0');
  assert.equal(r.kind, 'photo');
  assert.equal(r.image, 'coffee');
  assert.equal(r.labelName, coffee.predicted.class);
  assert.ok(Math.abs(r.eps - 2 / 255) < 1e-9);
  // A target by its name.
  await page.evaluate(() => (document.getElementById('a').target = 'hard disc'));
  await page.waitForSelector(`#a #results[data-target="${coffee.targeted.target_index}"]`);
  assert.equal((await lastResult(page, 'a')).targetName, 'hard disc');
  // A picture by URL, relative to the host page.
  await page.evaluate(() => (document.getElementById('a').image = '../models/efficientnet-lite0/samples/rocket.png'));
  await ready(page, 'a', 'photo:1@2/255');
  assert.match(await text(page, '#a #photo-caption'), /^rocket\.png/);
  assert.equal(await text(page, '#a #original-pred'), card.samples[sampleIndex('rocket')].predicted.class);
  assert.equal(page.workers.length, 1);
  await assertClean(page);
  await page.close();
});

test('assets and a model by URL: the files come from where the attributes say', async () => {
  const page = await openFixture('blank.html', { viewport: { width: 1000, height: 800 } });
  // /mirror/ serves the same site, as another folder of the host would.
  await page.route(`${env.url}mirror/**`, (route) => route.continue({ url: route.request().url().replace('/mirror/', '/') }));
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.evaluate((base) => {
    const demo = document.createElement('fgsm-demo');
    demo.id = 'm';
    demo.assets = `${base}mirror/`;
    demo.model = 'mirror/models/mnist/model.onnx'; // relative to the host page: /fixtures/mirror/…
    demo.image = '7';
    demo.loading = 'eager';
    document.body.append(demo);
  }, env.url);
  await page.waitForSelector('#m #status[data-state="error"], #m #results[data-for="test:7@0.250"]', { timeout: 120_000 });
  assert.match(await text(page, '#m #alert-text'), /could not load \S*\/fixtures\/mirror\/models\/mnist\/model\.onnx: HTTP 404/, 'a model URL is relative to the host page');
  assert.ok(requested.some((p) => /^\/mirror\/pkg\/fgsm_wasm_bg\.wasm$/.test(p)), `the engine from assets: ${requested.join(' ')}`);
  assert.ok(!requested.some((p) => /^\/pkg\/.*\.wasm$/.test(p)), 'no engine from the default place (the glue JS comes with the module)');

  await page.evaluate((base) => (document.getElementById('m').model = `${base}mirror/models/mnist/model.onnx`), env.url);
  await ready(page, 'm', 'test:7@0.250');
  assert.ok(requested.includes('/mirror/models/mnist/model.onnx'), requested.join(' '));
  assert.ok(requested.includes('/mirror/models/mnist/model.json'), 'the model.json beside a model given by URL names its classes and digits');
  assert.match(await text(page, '#m #digit-info'), /Test digit 8 of 500/);
  // The browser logs the 404 of the first address; nothing else may go wrong.
  assertClean(page, /404/);
  await page.close();
});

test('the iframe page tells its host its height, and the host snippet sizes the frame', async () => {
  const page = await openFixture('iframe-host.html');
  const frame = page.frameLocator('#frame');
  await frame.locator('#results[data-for="test:4@0.250"]').waitFor({ timeout: 120_000 });
  const fit = async () => {
    const [attr, inner] = await Promise.all([
      page.getAttribute('#frame', 'height'),
      page.frame({ url: /embed\.html/ }).evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height)),
    ]);
    return { attr: Number(attr), inner };
  };
  await page.waitForFunction(() => Number(document.getElementById('frame').height) > 200);
  let size = await fit();
  assert.ok(Math.abs(size.attr - size.inner) <= 1, `frame ${size.attr} px for content ${size.inner} px`);
  const box = await page.locator('#frame').boundingBox();
  assert.ok(Math.abs(box.height - size.inner) <= 2, `the frame is drawn ${box.height} px tall`);
  // More panels, more height: the frame follows.
  await page.frame({ url: /embed\.html/ }).evaluate(() => (document.querySelector('fgsm-demo').panels = 'triptych,bars,sweep'));
  await page.waitForFunction((before) => Number(document.getElementById('frame').height) > before + 100, size.attr);
  size = await fit();
  assert.ok(Math.abs(size.attr - size.inner) <= 1, `frame ${size.attr} px for content ${size.inner} px`);
  await assertClean(page);
  await page.close();
});

test('a host page with hostile CSS does not break the widget', async () => {
  const page = await openFixture('hostile.html');
  await page.waitForSelector('#results[data-for="test:5@0.250"]', { timeout: 120_000 });
  for (const id of ['cv-original', 'cv-perturbation', 'cv-adversarial', 'sweep']) {
    const box = await page.locator(`#${id}`).boundingBox();
    assert.ok(box && box.width > 40 && box.height > 40, `#${id} is drawn (${JSON.stringify(box)})`);
    assert.ok(await page.isVisible(`#${id}`));
  }
  assert.match(await text(page, '#verdict'), /^(Fooled|Not fooled): /);
  const verdict = await page.$eval('fgsm-demo', (el) => {
    const s = getComputedStyle(el.shadowRoot.getElementById('verdict'));
    return { size: s.fontSize, colour: s.color, display: s.display };
  });
  assert.notEqual(verdict.colour, 'rgb(255, 0, 0)', 'the host’s red does not reach in');
  assert.notEqual(verdict.size, '40px');
  assert.equal(verdict.display, 'block');
  assert.ok(await page.isVisible('#eps'), 'the slider shows');
  await page.locator('#eps').fill('0.1');
  await page.waitForSelector('#results[data-for="test:5@0.100"]');
  await page.screenshot({ path: screenshotPath('embed-hostile.png'), fullPage: true });
  await assertClean(page);
  await page.close();
});

test('a widget far below the fold loads only when scrolled near, with a poster until then', needsPhotoModel, async () => {
  const page = await openFixture('lazy.html', { viewport: { width: 1000, height: 700 } });
  const heavy = [];
  page.on('request', (r) => /\.(wasm|onnx)$/.test(r.url()) && heavy.push(r.url()));
  await page.waitForTimeout(1500);
  assert.deepEqual(page.workers, [], 'no worker yet');
  assert.deepEqual(heavy, [], 'neither the engine nor the model downloaded yet');
  assert.equal(await page.getAttribute('#far #status', 'data-state'), 'idle');
  assert.ok(await page.isVisible('#far #poster'));
  assert.match(await text(page, '#far #poster-text'), /loads when you scroll here/);
  const poster = await page.$eval('#far', (el) => {
    const img = el.shadowRoot.getElementById('poster-image');
    return { hidden: img.hidden, src: img.src };
  });
  assert.equal(poster.hidden, false, 'the sample photo is the poster');
  assert.match(poster.src, /models\/efficientnet-lite0\/samples\/coffee\.png$/);

  // Three screens above it: still nothing. Within one screen of it: it starts.
  const top = await page.$eval('#far', (el) => el.getBoundingClientRect().top + scrollY);
  await page.evaluate((y) => scrollTo(0, y), top - 4 * 700);
  await page.waitForTimeout(700);
  assert.deepEqual(page.workers, [], 'four screens away: not yet');
  await page.evaluate((y) => scrollTo(0, y), top - 1.5 * 700);
  await page.waitForSelector('#far #status[data-state="loading"], #far #status[data-state="ready"]', { state: 'attached', timeout: 10_000 });
  // The status says "loading" as soon as the widget starts; its worker follows a moment later.
  for (const until = Date.now() + 10_000; page.workers.length === 0 && Date.now() < until; ) await page.waitForTimeout(100);
  assert.equal(page.workers.length, 1, 'one worker, once it has started');
  await page.waitForSelector(`#far #results[data-for="sample:${sampleIndex('coffee')}@2/255"]`, { timeout: 120_000 });
  assert.ok(await page.isHidden('#far #poster'), 'the poster gives way to the widget');
  await assertClean(page);
  await page.close();
});

test('widgets in an article at 1280 and 360 px', needsPhotoModel, async () => {
  for (const [name, viewport, extra] of [
    ['desktop', { width: 1280, height: 900 }, {}],
    ['phone', { width: 360, height: 780 }, { deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ]) {
    const page = await openFixture('gallery.html', { viewport, ...extra });
    await page.waitForSelector(`#w-photo #results[data-for="sample:${sampleIndex('coffee')}@2/255"]`, { timeout: 120_000 });
    await page.waitForSelector('#w-noise #noise[data-for="test:0"]');
    await page.waitForSelector('#w-terms #terms[data-for="test:0"]');
    await page.waitForSelector('#w-robust #live[data-state="done"]', { timeout: 120_000 });
    await page.hover('#w-terms .term[data-term="sign"]');
    await assertNoHorizontalScroll(page);
    assert.equal(page.workers.length, 1, 'four widgets, one worker');
    await page.screenshot({ path: screenshotPath(`embed-article-${name}.png`), fullPage: true });
    // Each widget on its own too, at a size one can look at.
    for (const id of ['w-photo', 'w-noise', 'w-terms', 'w-robust']) {
      await page.locator(`#${id}`).screenshot({ path: screenshotPath(`embed-article-${name}-${id.slice(2)}.png`) });
    }
    await assertClean(page);
    await page.close();
  }
});

test('a widget without attributes opens on the lead photo, with its still until the engine is there', needsPhotoModel, async () => {
  const { LEAD } = await import('../../www/ui/models.js');
  const { POSTER } = await import('../../www/ui/poster.js');
  const page = await openFixture('blank.html', { viewport: { width: 1000, height: 800 } });
  await recordResults(page);
  let release;
  const held = new Promise((done) => (release = done));
  await page.route('**/fgsm_wasm_bg.wasm', async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await page.evaluate(() => {
    const demo = document.createElement('fgsm-demo');
    demo.id = 'd';
    demo.panels = 'triptych,controls';
    document.body.append(demo);
  });
  await page.waitForSelector('#d #poster-lead', { state: 'visible' });
  assert.equal(await text(page, '#d #poster-verdict'), POSTER.verdict);
  assert.equal(await page.isHidden('#d #poster-image'), true, 'the still, not a lone sample photo');
  release();
  const lead = sampleIndex(LEAD.image);
  await ready(page, 'd', `sample:${lead}@${LEAD.eps}`);
  const r = await lastResult(page, 'd');
  assert.equal(r.model, LEAD.model);
  assert.equal(r.image, LEAD.image);
  assert.equal(r.fooled, true);
  assert.equal(`${r.labelName} → ${r.adversarialName}`, `${POSTER.original.name} → ${POSTER.adversarial.name}`);
  // Explicit attributes still rule: the digits, by attribute.
  await page.evaluate(() => {
    const d = document.getElementById('d');
    d.model = 'mnist';
    d.image = '3';
    d.eps = '0.25';
  });
  await ready(page, 'd', 'test:3@0.250');
  assert.equal((await lastResult(page, 'd')).model, 'mnist');
  await assertClean(page);
  await page.close();
});
