// The photo half of the demo page in headless Chromium: pick EfficientNet-Lite0 (ImageNet), bring a
// photo by file, paste and drop, attack it untargeted and targeted, download x′ and read it back,
// and check that the page never stops answering while the worker computes. Also which wasm engine
// build the worker picks. Timings are printed as diagnostics, never asserted except for a generous
// bound on how long the page's own thread may stall.
//
//   node --test tests/browser/photo.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, SITE, start, newPage, screenshotPath, assertClean, assertNoHorizontalScroll, oneModelInWorker } from '../support/browser.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const MODEL = 'efficientnet-lite0';
const MODEL_DIR = join(SITE, 'models', MODEL);
const CARD_FILE = join(MODEL_DIR, 'model.json');
const card = existsSync(CARD_FILE) ? JSON.parse(readFileSync(CARD_FILE, 'utf8')) : null;
/** Without the model every photo test would fail the same way: one test says so, the rest skip. */
const needsModel = { skip: card ? false : `site/models/${MODEL}/ is missing` };
const FIXTURE = join(REPO, 'tests', 'fixtures', 'efficientnet-input.png');
const GOLDEN = join(REPO, 'tests', 'fixtures', 'efficientnet-golden.json');

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

// --- helpers ----------------------------------------------------------------------------------------

const text = async (page, selector) => (await page.textContent(selector)).trim();

/** The page opened straight on the photo model (?model=…), with the first sample attacked. */
async function openPhotoPage(options = { viewport: DESKTOP }, hash = '') {
  const page = await newPage(env.browser, env.url, options);
  await page.goto(`${env.url}?model=${MODEL}${hash}`);
  // (attached: on a phone the ready line gives its room to the first result)
  await page.waitForSelector(`#status[data-state="ready"][data-model="${MODEL}"]`, { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="sample:"]', { timeout: 60_000 });
  return page;
}

/** Sets ε to n/255 as dragging the slider would, and waits for its result. */
async function setEps(page, n, key = null) {
  await page.locator('#eps').fill(String(n));
  await page.waitForSelector(key ? `#results[data-for="${key}@${n}/255"]` : `#results[data-for$="@${n}/255"]`, { timeout: 60_000 });
}

/** Waits until the ε sweep under the slider is complete for the image in use. */
async function waitForSweep(page) {
  await page.waitForFunction(() => {
    const caption = document.querySelector('fgsm-demo').shadowRoot.querySelector('#sweep-text');
    return caption.dataset.for && caption.dataset.for === document.querySelector('fgsm-demo').shadowRoot.querySelector('#photo-source').dataset.for;
  }, null, { timeout: 60_000 });
}

/**
 * Starts measuring how long the page's thread goes without running a 10 ms timer or an animation
 * frame; `stop()` returns {timerMax, frameMax, timers, frames} in ms.
 */
async function watchMainThread(page) {
  await page.evaluate(() => {
    const w = (window.__watch = { timerMax: 0, frameMax: 0, timers: 0, frames: 0, on: true });
    let lastTimer = performance.now();
    const timer = () => {
      const now = performance.now();
      w.timerMax = Math.max(w.timerMax, now - lastTimer);
      lastTimer = now;
      w.timers++;
      if (w.on) setTimeout(timer, 10);
    };
    setTimeout(timer, 10);
    let lastFrame = performance.now();
    const frame = (now) => {
      w.frameMax = Math.max(w.frameMax, now - lastFrame);
      lastFrame = now;
      w.frames++;
      if (w.on) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  return {
    stop: () =>
      page.evaluate(() => {
        window.__watch.on = false;
        const { timerMax, frameMax, timers, frames } = window.__watch;
        return { timerMax: Math.round(timerMax), frameMax: Math.round(frameMax), timers, frames };
      }),
  };
}



/** The top-5 class names shown for the original or the adversarial image. */
const topNames = (page, which) => page.$$eval(`#bars-${which} li:not(.bar-extra) .bar-class`, (els) => els.map((e) => e.textContent));

/** A file for setInputFiles from one of the model's sample photos. */
function sampleFile(sample) {
  const name = sample.file.split('/').pop();
  const mimeType = /\.png$/i.test(name) ? 'image/png' : 'image/jpeg';
  return { name, mimeType, buffer: readFileSync(join(MODEL_DIR, sample.file)) };
}

/** A PNG header that claims `w` × `h` pixels (no picture data follows). */
function pngHeader(w, h) {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b[24] = 8; // bit depth
  b[25] = 2; // RGB
  return b; // the CRC is left 0: the page must refuse it from the header alone
}

/** The start of a baseline JPEG that claims `w` × `h` pixels (a start-of-frame segment, no data). */
function jpegHeader(w, h) {
  const sof = [0xff, 0xc0, 0x00, 0x11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Buffer.from([0xff, 0xd8, ...sof]);
}

/** Hands `buffer` to the page as a File, then pastes or drops it there. */
function bring(page, how, buffer, name, type) {
  return page.evaluate(
    ({ how, b64, name, type }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      if (how === 'paste') {
        document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      } else {
        for (const type of ['dragenter', 'dragover', 'drop']) {
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
      }
    },
    { how, b64: buffer.toString('base64'), name, type },
  );
}

// --- tests ----------------------------------------------------------------------------------------

test('the site has the photo model and its sample photos', () => {
  assert.ok(card, `${CARD_FILE} exists (models/${MODEL}/ built and copied by ./build.sh site)`);
  assert.equal(card.classes.length, 1000);
  assert.ok(card.samples.length >= 1);
  for (const s of card.samples) assert.ok(existsSync(join(MODEL_DIR, s.file)), `${s.file} is on the site`);
});

test('switching to EfficientNet-Lite0 shows the download, then the preparation, then both times', needsModel, async (t) => {
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP });
  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"][data-model="mnist"]', { timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  assert.equal(await page.isVisible('#input-digits'), true);
  assert.equal(await page.isHidden('#input-photo'), true, 'no photo input on the digits page');

  // Changing one's mind during the download: the download stops and the digits are back at once.
  let slow = true;
  // The model travels as its NNEF file (src/nnef.rs), or as its ONNX file without one.
  const modelFile = /\/efficientnet-lite0\/model\.(onnx|nnef\.tar)$/;
  await page.route(modelFile, async (route) => {
    if (slow) await new Promise((done) => setTimeout(done, 500));
    slow = false;
    // The page may cancel this very download while it waits (that is the point of the test);
    // a cancelled request can no longer be continued.
    await route.continue().catch(() => {});
  });
  await page.selectOption('#model-select', MODEL);
  await page.waitForSelector('#status[data-phase="download"]');
  // Meanwhile the digits' input gives way: no "Choose a digit" under a photo classifier that loads.
  assert.match(await text(page, '#input-title-text'), /^Loading the photo classifier…$/);
  assert.equal(await page.isHidden('#input-digits'), true);
  await page.selectOption('#model-select', 'mnist');
  await page.waitForSelector('#status[data-state="ready"][data-model="mnist"]');
  await page.waitForSelector('#results[data-for^="test:"]');
  assert.equal(await page.isVisible('#input-digits'), true);
  await page.unroute(modelFile);

  // Record every state the status line goes through, and how long the page's thread ever stalls.
  await page.evaluate(() => {
    window.__states = [];
    const status = document.querySelector('fgsm-demo').shadowRoot.querySelector('#status');
    const record = () => {
      const bar = document.querySelector('fgsm-demo').shadowRoot.querySelector('#status-progress');
      window.__states.push({
        phase: status.dataset.phase,
        text: status.querySelector('#status-text').textContent,
        progress: bar.hidden ? null : bar.hasAttribute('value') ? bar.value : 'busy',
      });
    };
    new MutationObserver(record).observe(status, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const watch = await watchMainThread(page);
  // A reader's link (20 Mbit/s, 40 ms), so the 5 MB model takes long enough for the bar to move
  // several times; from the local server it would arrive in one piece.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 });
  const started = Date.now();
  await page.selectOption('#model-select', MODEL);
  await page.waitForSelector(`#status[data-state="ready"][data-model="${MODEL}"]`, { timeout: 120_000 });
  const switchMs = Date.now() - started;
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector('#results[data-for="sample:0@4/255"]', { timeout: 60_000 });
  const stalls = await watch.stop();
  const states = await page.evaluate(() => window.__states);

  const downloads = states.filter((s) => s.phase === 'download' && typeof s.progress === 'number');
  assert.ok(downloads.length >= 2, `several download steps were shown (${downloads.length})`);
  assert.ok(downloads.some((s) => s.progress > 0 && s.progress < 1), 'the bar moved between empty and full');
  assert.match(downloads.at(-1).text, /Downloading EfficientNet-Lite0.*… [\d.]+ [kM]B of [\d.]+ [kM]B$/);
  const preparing = states.filter((s) => s.phase === 'prepare');
  assert.ok(preparing.length >= 1, 'the preparation was shown');
  assert.match(preparing[0].text, /Preparing EfficientNet-Lite0/);
  assert.ok(preparing.every((s) => s.progress === 'busy'), 'an indeterminate bar while preparing');
  assert.ok(states.findIndex((s) => s.phase === 'prepare') > states.findIndex((s) => s.phase === 'download'), 'download, then preparation');

  // The status line in plain words; the figures are in the details.
  const status = await text(page, '#status');
  assert.equal(status, 'Ready: EfficientNet-Lite0, running in your browser. Nothing is sent anywhere.');
  const speed = await text(page, '#speed');
  assert.match(speed, /Model download[\d.]+ [kM]B in [\d.]+ m?s/);
  assert.match(speed, /Preparing the model[\d.]+ m?s/);
  const downloadMs = Number(await page.getAttribute('#status', 'data-download-ms'));
  const prepareMs = Number(await page.getAttribute('#status', 'data-prepare-ms'));
  assert.ok(downloadMs > 0 && prepareMs > 0, 'both times measured');
  const engine = await page.getAttribute('#status', 'data-engine');
  assert.equal(engine, 'SIMD128');
  assert.match(speed, new RegExp(`Engine${engine} \\([\\d.]+ MB`));
  t.diagnostic(`EfficientNet-Lite0: download ${downloadMs} ms, prepare (parse + optimise in the worker) ${prepareMs} ms, ` +
    `switch in all ${switchMs} ms; engine ${engine}`);
  t.diagnostic(`page thread during the switch: longest gap between 10 ms timers ${stalls.timerMax} ms, between frames ${stalls.frameMax} ms`);
  assert.ok(stalls.timerMax < 1000, `the page kept answering while the model loaded (longest stall ${stalls.timerMax} ms)`);

  // Only the photo parts now; the sample photo shows with the model's crop and named classes.
  assert.equal(await page.isHidden('#input-digits'), true);
  assert.equal(await page.isHidden('#live'), true, 'no robustness-over-500-digits for photos');
  assert.equal(await page.isVisible('#input-photo'), true);
  assert.equal(await page.locator('#samples button').count(), card.samples.length);
  assert.equal(await text(page, '#input-title-text'), 'Choose a photo');
  assert.match(await text(page, '#eps-value'), /^4\/255 = 0\.0157$/);
  const names = await topNames(page, 'original');
  assert.equal(names.length, 5);
  for (const name of names) assert.ok(card.classes.includes(name), `"${name}" is an ImageNet class`);
  assert.equal(await text(page, '#original-pred'), card.samples[0].predicted.class, 'the same top-1 as PyTorch when the model was made');

  // Back to the digits and again to the photos: the model left is freed, so the worker holds one
  // model at a time, and the one returned to comes again (from the browser's cache) and is prepared again.
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.selectOption('#model-select', 'mnist');
  await page.waitForSelector('#status[data-state="ready"][data-model="mnist"]');
  await page.waitForSelector('#results[data-for^="test:"]');
  assert.equal(await page.isVisible('#input-digits'), true);
  assert.equal(await page.isHidden('#input-photo'), true);
  // A photo dropped on the digits page switches to the photo classifier and is attacked there.
  const dropped = sampleFile(card.samples[0]);
  await bring(page, 'drop', dropped.buffer, dropped.name, dropped.mimeType);
  await page.waitForSelector(`#status[data-state="ready"][data-model="${MODEL}"]`);
  await page.waitForSelector('#results[data-for="photo:1@4/255"]');
  assert.equal(await text(page, '#original-pred'), card.samples[0].predicted.class);
  assert.deepEqual(
    requests.filter((u) => /\.(onnx|nnef\.tar)$/.test(u)).map((u) => new URL(u).pathname),
    ['/models/mnist/model.nnef.tar', `/models/${MODEL}/model.nnef.tar`],
    'each model is fetched again when it is returned to',
  );
  await oneModelInWorker(page);
  // (the address is written once results pause: page.js debounces it)
  await page.waitForURL(/\/#eps=4\/255$/); // the address says what is shown (the photo model is the default)
  await page.selectOption('#model-select', 'mnist');
  await page.waitForSelector('#status[data-state="ready"][data-model="mnist"]');
  await page.selectOption('#model-select', MODEL);
  await page.waitForSelector('#results[data-for="photo:1@4/255"]');
  assert.equal(await page.getAttribute('#photo-source', 'data-for'), 'photo:1', 'the photo is still there');
  await assertClean(page);
  await page.close();
});

test('a photo brought by file, paste or drop is cropped and classified; a non-image is refused', needsModel, async (t) => {
  const page = await openPhotoPage();
  // A sample photo through the file picker: not square, so the crop shows.
  const sample = card.samples.find((s) => s.stored_size && s.stored_size[0] !== s.stored_size[1]) ?? card.samples[0];
  await page.setInputFiles('#photo-file', sampleFile(sample));
  await page.waitForSelector('#results[data-for="photo:1@4/255"]', { timeout: 60_000 });
  const caption = await text(page, '#photo-caption');
  const [w, h] = sample.stored_size ?? [];
  const format = /\.png$/i.test(sample.file) ? 'PNG' : 'JPEG';
  if (w) assert.match(caption, new RegExp(`${w.toLocaleString('en')} × ${h.toLocaleString('en')} ${format}`));
  assert.match(caption, /The model sees the outlined centre square at 224 × 224/);
  // The preview keeps the picture's proportions and is drawn with the crop marked.
  const preview = await page.$eval('#photo-source', (c) => ({ ratio: c.width / c.height, dataFor: c.dataset.for }));
  if (w) assert.ok(Math.abs(preview.ratio - w / h) < 0.02, `preview ratio ${preview.ratio} vs ${w / h}`);
  assert.equal(preview.dataFor, 'photo:1');
  assert.equal(await text(page, '#original-pred'), sample.predicted.class, 'the same top-1 as on the sample itself');
  for (const name of await topNames(page, 'original')) assert.ok(card.classes.includes(name));
  for (const name of await topNames(page, 'adversarial')) assert.ok(card.classes.includes(name));

  // Not a picture: a text file named .png. A clear message, and the previous photo stays.
  await page.setInputFiles('#photo-file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('These are my notes, not a picture.\n') });
  await page.waitForSelector('#photo-alert:not([hidden])');
  const refused = await text(page, '#photo-alert-text');
  assert.match(refused, /^Could not use notes\.png: this is not a picture the browser can read/);
  assert.match(refused, /keeps the previous photo/);
  await page.screenshot({ path: screenshotPath('photo-bad-file.png') });
  // The previous photo's ε sweep, stopped when the new file came, runs again to its end.
  await waitForSweep(page);
  assert.equal(await page.$eval('#sweep-text', (c) => c.dataset.for), 'photo:1');
  await setEps(page, 2, 'photo:1'); // still working, on the same photo
  await page.click('#photo-alert-close');

  // Too large: refused from its header, before the browser decodes anything.
  await page.setInputFiles('#photo-file', { name: 'huge.png', mimeType: 'image/png', buffer: pngHeader(20000, 15000) });
  await page.waitForSelector('#photo-alert:not([hidden])');
  assert.match(await text(page, '#photo-alert-text'), /huge\.png: the picture is 20,000 × 15,000 pixels \(300 megapixels\); pictures up to 50 megapixels/);
  await page.click('#photo-alert-close');
  await page.setInputFiles('#photo-file', { name: 'panorama.jpg', mimeType: 'image/jpeg', buffer: jpegHeader(12000, 5000) });
  await page.waitForSelector('#photo-alert:not([hidden])');
  assert.match(await text(page, '#photo-alert-text'), /panorama\.jpg: the picture is 12,000 × 5,000 pixels \(60 megapixels\)/);
  await page.click('#photo-alert-close');
  assert.equal(await page.getAttribute('#photo-source', 'data-for'), 'photo:1', 'the photo before them stays');

  // Pasted (Ctrl+V) and dropped pictures arrive the same way.
  const fixture = existsSync(FIXTURE) ? readFileSync(FIXTURE) : null;
  const pasted = fixture ? { buffer: fixture, mimeType: 'image/png' } : sampleFile(card.samples[0]);
  await bring(page, 'paste', pasted.buffer, 'clipboard', pasted.mimeType);
  await page.waitForSelector('#results[data-for="photo:2@2/255"]', { timeout: 60_000 });
  assert.match(await text(page, '#photo-caption'), /^the pasted picture/);
  if (fixture && existsSync(GOLDEN)) {
    // The exact 224×224 input of the golden case is taken as it is: the page reads it as PyTorch did.
    assert.match(await text(page, '#photo-caption'), /Already 224 × 224/);
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8'));
    const expected = golden.label_class ?? card.classes[golden.label];
    assert.equal(await text(page, '#original-pred'), expected, 'the golden input gets PyTorch’s top-1');
    t.diagnostic(`golden input read as ${await text(page, '#original-pred')} ${await text(page, '#original-conf')}`);
  }
  const dropped = sampleFile(card.samples.at(-1));
  await bring(page, 'drop', dropped.buffer, dropped.name, dropped.mimeType);
  await page.waitForSelector('#results[data-for="photo:3@2/255"]', { timeout: 60_000 });
  assert.match(await text(page, '#photo-caption'), new RegExp(`^${dropped.name.replace('.', '\\.')}`));
  assert.equal(await text(page, '#original-pred'), card.samples.at(-1).predicted.class);
  assert.equal(await page.isHidden('#drop-overlay'), true, 'the drop overlay is gone after the drop');
  await assertClean(page);
  await page.close();
});

test('untargeted FGSM at a small ε flips the prediction of every sample', needsModel, async (t) => {
  const page = await openPhotoPage();
  for (const [i, sample] of card.samples.entries()) {
    if (i) {
      await page.click(`#samples button[data-index="${i}"]`);
      await page.waitForSelector(`#results[data-for^="sample:${i}@"]`, { timeout: 60_000 });
    }
    assert.equal(await text(page, '#original-pred'), sample.predicted.class);
    let fooledAt = null;
    for (let n = 1; n <= 4 && fooledAt === null; n++) {
      await setEps(page, n, `sample:${i}`);
      if ((await page.getAttribute('#verdict', 'data-fooled')) === 'true') fooledAt = n;
    }
    assert.ok(fooledAt !== null, `${sample.title}: fooled at some ε ≤ 4/255 (PyTorch: from ${sample.fgsm.smallest_flipping_eps_255}/255)`);
    const original = await text(page, '#original-pred');
    const adversarial = await text(page, '#adversarial-pred');
    assert.notEqual(adversarial, original);
    assert.equal(await text(page, '#verdict'), `Fooled: ${original} → ${adversarial} at ε = ${fooledAt}/255`);
    const pytorch = sample.fgsm.prediction_by_eps_255?.[String(fooledAt)];
    t.diagnostic(`${sample.title}: ${original} → ${adversarial} at ${fooledAt}/255 (PyTorch at that ε: ${pytorch ?? '–'})`);
    if (pytorch) assert.equal(adversarial, pytorch, 'the same adversarial class as PyTorch at that ε');
  }
  await assertClean(page);
  await page.close();
});

test('targeted FGSM reaches the recorded target; the downloaded PNG reads back as the page said', needsModel, async (t) => {
  // A sample whose target both the float64 and the float32 gradient reach, at the smallest such ε.
  const common = (s) => (s.targeted.eps_255_reached ?? []).filter((e) => (s.targeted.eps_255_reached_with_onnxruntime_gradient ?? s.targeted.eps_255_reached).includes(e));
  const i = card.samples.findIndex((s) => common(s).length);
  assert.ok(i >= 0, 'model.json records a reached target');
  const sample = card.samples[i];
  const { target_index: target, target_class: targetClass } = sample.targeted;
  const eps = common(sample)[0];

  const page = await openPhotoPage({ viewport: DESKTOP }, `#sample=${i + 1}`);
  await page.waitForSelector(`#results[data-for="sample:${i}@4/255"]`);
  // Search the 1,000 classes: type part of the name, pick it from the list.
  const query = targetClass.split(/[ ,]/)[0].slice(0, 6);
  await page.click('#target');
  await page.keyboard.type(query);
  const option = page.locator(`#target-list [role=option][data-value="${target}"]`);
  await option.waitFor();
  assert.ok((await page.locator('#target-list [role=option]').count()) < 60, `typing "${query}" narrows the 1,000 classes`);
  await page.screenshot({ path: screenshotPath('photo-target-search.png') });
  await option.click();
  assert.equal(await page.inputValue('#target'), targetClass);
  await page.waitForSelector(`#results[data-target="${target}"]`);
  await setEps(page, eps, `sample:${i}`);
  await page.waitForSelector(`#results[data-target="${target}"][data-for="sample:${i}@${eps}/255"]`);
  assert.equal(await page.getAttribute('#verdict', 'data-reached'), 'true', `${sample.title} → ${targetClass} at ε = ${eps}/255`);
  assert.equal(await text(page, '#adversarial-pred'), targetClass);
  assert.match(await text(page, '#verdict'), new RegExp(`→ ${targetClass.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, the target, at ε = ${eps}/255`));
  assert.match(await text(page, '#fact-label'), /the target class \(the step goes down its loss\)/);
  t.diagnostic(`${sample.title}: targeted toward ${targetClass} reached at ${eps}/255 (recorded: ${sample.targeted.eps_255_reached.join(', ')})`);

  // The 8-bit check: once ε rests, the page classified x′ rounded to 8 bits, as a PNG stores it.
  await page.waitForSelector('#fact-png[data-state="checked"]', { state: 'attached' });
  const reportedClass = card.classes[Number(await page.getAttribute('#fact-png', 'data-class'))];
  const factText = await text(page, '#fact-png');
  const reportedConf = factText.match(/\(([^)]*%)\)/)[1];
  t.diagnostic(`saved as PNG: ${factText}`);

  // Download x′: a 224 × 224 PNG whose pixels are exactly those on the page.
  assert.equal(await page.getAttribute('#download-row', 'data-fools'), 'true');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.match(download.suggestedFilename(), new RegExp(`^adversarial-[a-z0-9-]+-to-[a-z0-9-]+-eps${eps}-255\\.png$`));
  const png = readFileSync(await download.path());
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [224, 224], 'IHDR width and height');
  const differing = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const decoded = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const shown = document.querySelector('fgsm-demo').shadowRoot.querySelector('#cv-adversarial').getContext('2d').getImageData(0, 0, 224, 224).data;
    let n = 0;
    for (let k = 0; k < shown.length; k++) if (decoded[k] !== shown[k]) n++;
    return n;
  }, png.toString('base64'));
  assert.equal(differing, 0, 'the PNG holds exactly the pixels of x′ on the page');

  // Read it back through the page, as a reader would: the model says what the 8-bit check said.
  await page.setInputFiles('#photo-file', { name: 'adversarial.png', mimeType: 'image/png', buffer: png });
  await page.waitForSelector('#results[data-for^="photo:1@"]', { timeout: 60_000 });
  assert.match(await text(page, '#photo-caption'), /Already 224 × 224: the model sees it as it is/);
  assert.equal(await text(page, '#original-pred'), reportedClass, 'the saved PNG is classified as the page reported');
  assert.equal(await text(page, '#original-conf'), reportedConf, 'with the same probability');
  assert.equal(reportedClass, targetClass, 'and the attack survives the 8-bit rounding');
  await assertClean(page);
  await page.close();
});

test('the page keeps answering while a large photo is decoded and attacked, and the slider never queues stale work', needsModel, async (t) => {
  const page = await openPhotoPage();
  await waitForSweep(page);
  // A 24-megapixel photo-like picture, made in the page before the measurement starts.
  const made = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(6000, 4000);
    const ctx = canvas.getContext('2d');
    const gradient = ctx.createLinearGradient(0, 0, 6000, 4000);
    gradient.addColorStop(0, '#1d5fd1');
    gradient.addColorStop(1, '#e59400');
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, 6000, 4000);
    for (let i = 0; i < 400; i++) {
      ctx.fillStyle = `hsl(${(i * 37) % 360} 70% 50%)`;
      ctx.beginPath();
      ctx.arc((i * 733) % 6000, (i * 397) % 4000, 40 + (i % 7) * 30, 0, 2 * Math.PI);
      ctx.fill();
    }
    window.__big = new File([await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 })], 'big.jpg', { type: 'image/jpeg' });
    return window.__big.size;
  });

  const watch = await watchMainThread(page);
  const started = Date.now();
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(window.__big);
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('#results[data-for="photo:1@4/255"]', { timeout: 60_000 });
  const firstResultMs = Date.now() - started;
  assert.match(await text(page, '#photo-caption'), /6,000 × 4,000 JPEG/);
  // Drag the slider across its range while the new image's gradient and sweep are computed:
  // 16 moves in quick succession; only the newest is computed once the one in flight is done.
  await page.evaluate(() => {
    let n = 0;
    new MutationObserver(() => n++).observe(document.querySelector('fgsm-demo').shadowRoot.querySelector('#results'), { attributes: true, attributeFilter: ['data-for'] });
    window.__attacks = () => n;
  });
  for (let n = 16; n >= 1; n--) await page.locator('#eps').fill(String(n));
  await page.waitForSelector('#results[data-for="photo:1@1/255"]', { timeout: 60_000 });
  await waitForSweep(page);
  const shown = await page.evaluate(() => window.__attacks());
  const stalls = await watch.stop();
  t.diagnostic(`24 MP JPEG (${(made / 1e6).toFixed(1)} MB) dropped: decoded, cropped and attacked in ${firstResultMs} ms`);
  t.diagnostic(`16 slider moves → ${shown} results shown (latest wins); timing line: ${await text(page, '#timing')}`);
  t.diagnostic(`page thread: longest gap between 10 ms timers ${stalls.timerMax} ms (${stalls.timers} timers), between frames ${stalls.frameMax} ms (${stalls.frames} frames)`);
  assert.ok(shown < 16, `stale slider values were dropped (${shown} of 16 shown)`);
  assert.ok(stalls.timerMax < 1000, `the page's thread never stalled for long (${stalls.timerMax} ms)`);
  assert.equal(await page.inputValue('#eps'), '1');
  await assertClean(page);
  await page.close();
});

test('a new photo does not wait behind the previous one’s sweep or 8-bit check', needsModel, async () => {
  const page = await openPhotoPage();
  const first = await page.getAttribute('#results', 'data-for');
  // While the first photo's ε sweep is still under way (17 passes, one per request)…
  await page.waitForFunction(() => /\d+ of 17/.test(document.querySelector('fgsm-demo').shadowRoot.querySelector('#sweep-text').textContent), null, { timeout: 60_000 });
  const next = await page.evaluate(() => {
    window.__sent = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message, ...rest) {
      if (message?.op) window.__sent.push(message.op);
      return post.call(this, message, ...rest);
    };
    const button = [...document.querySelector('fgsm-demo').shadowRoot.querySelectorAll('#samples button')].find((b) => b.getAttribute('aria-pressed') !== 'true');
    button.click();
    return `sample:${button.dataset.index}`;
  });
  assert.notEqual(next, first.split('@')[0]);
  await page.waitForSelector(`#results[data-for^="${next}@"]`, { timeout: 60_000 });
  const sent = await page.evaluate(() => window.__sent);
  // …the click sends the new photo's decode and then sets it: nothing more for the old photo.
  const before = sent.slice(0, sent.indexOf('setImage'));
  assert.ok(sent.includes('setImage'), JSON.stringify(sent));
  assert.deepEqual(before.filter((op) => op !== 'decode'), [], `requests between the click and the new image: ${JSON.stringify(before)}`);
  // Its own sweep then runs to the end.
  await waitForSweep(page);
  assert.match(await text(page, '#sweep-text'), /ε/);
  await assertClean(page);
  await page.close();
});

test('the photo page on a laptop and on a phone', needsModel, async () => {
  const sample = card.samples.findIndex((s) => s.targeted?.smallest_eps_255);
  const eps = card.samples[Math.max(0, sample)].targeted?.smallest_eps_255 ?? 4;
  const target = card.samples[Math.max(0, sample)].targeted?.target_index;
  const hash = `#sample=${Math.max(0, sample) + 1}&eps=${eps}/255${target !== undefined ? `&target=${target}` : ''}`;
  for (const [name, options] of [['desktop', { viewport: DESKTOP }], ['phone', PHONE]]) {
    const page = await openPhotoPage(options, hash);
    await page.waitForSelector(`#results[data-for="sample:${Math.max(0, sample)}@${eps}/255"]`);
    await waitForSweep(page);
    await assertNoHorizontalScroll(page);
    if (name === 'desktop') {
      // The keyboard reaches every photo control, in reading order.
      const reached = [];
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press('Tab');
        reached.push(await page.evaluate(() => { let a = document.activeElement; while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement; return a?.id || a?.className || a?.tagName; }));
      }
      for (const id of ['model-select', 'photo-file', 'sample', 'eps', 'gain', 'target', 'target-clear', 'model-file']) {
        assert.ok(reached.includes(id), `${id} is reachable with Tab (reached: ${reached.join(', ')})`);
      }
      assert.ok(reached.indexOf('eps') < reached.indexOf('photo-file'), 'the result and ε come first, then the choice of photo');
    }
    await page.screenshot({ path: screenshotPath(`photo-${name}.png`), fullPage: true });
    if (name === 'phone') await page.screenshot({ path: screenshotPath('photo-phone-top.png') });
    await assertClean(page);
    await page.close();
  }
});

test('the worker loads the one engine build, and asks for no other wasm', async () => {
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP });
  const asked = [];
  page.on('request', (r) => /\.wasm$/.test(r.url()) && asked.push(r.url().split('/').pop()));
  await page.goto(`${env.url}?model=mnist`);
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  assert.equal(await page.getAttribute('#status', 'data-engine'), 'SIMD128');
  assert.deepEqual(asked, ['fgsm_wasm_bg.wasm']);
  assert.match(await text(page, '#speed'), /EngineSIMD128 \([\d.]+ MB, loaded in/);
  await assertClean(page);
  await page.close();
});

// --- the reader's first minute --------------------------------------------------------------------

const { POSTER } = await import('../../www/ui/poster.js');
const { LEAD } = await import('../../www/ui/models.js');
const leadIndex = card ? card.samples.findIndex((s) => s.file.split('/').pop().replace(/\.[^.]*$/, '') === LEAD.image) : -1;

test('the page opens on a photo flipped at a small ε, with an honest still of it while the engine loads', needsModel, async () => {
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP });
  // Hold the engine back, as a slow network would, to look at the page meanwhile.
  let release;
  const held = new Promise((done) => (release = done));
  await page.route('**/fgsm_wasm_bg.wasm', async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await page.goto(env.url);
  await page.waitForSelector('#poster-lead', { state: 'visible' });
  await page.waitForFunction(() => ['poster-original', 'poster-adversarial'].every((id) => document.querySelector('fgsm-demo').shadowRoot.getElementById(id).naturalWidth === 224));
  assert.equal(await page.isHidden('#layout'), true, 'no empty panels (black squares and dashes) while loading');
  assert.equal(await text(page, '#poster-original-pred'), POSTER.original.name);
  assert.equal(await text(page, '#poster-adversarial-pred'), POSTER.adversarial.name);
  assert.equal(await text(page, '#poster-verdict'), POSTER.verdict);
  assert.notEqual(POSTER.original.name, POSTER.adversarial.name, 'the still shows a flipped photo');
  await page.screenshot({ path: screenshotPath('page-poster.png') });
  release();

  // The live result is the one the still showed: same labels, same probabilities, same verdict.
  assert.ok(leadIndex >= 0, `the lead sample ${LEAD.image} is one of the model's samples`);
  await page.waitForSelector(`#results[data-for="sample:${leadIndex}@${LEAD.eps}"]`, { timeout: 120_000 });
  assert.equal(await page.isHidden('#poster'), true);
  assert.equal(await page.inputValue('#model-select'), MODEL);
  assert.deepEqual((await page.$$eval('#model-select option', (os) => os.map((o) => o.value))).slice(0, 2), [MODEL, 'mnist'], 'digits are the second choice (the paper’s digit models follow)');
  assert.equal(await page.getAttribute('#verdict', 'data-fooled'), 'true');
  assert.equal(await text(page, '#verdict'), POSTER.verdict);
  assert.equal(await text(page, '#original-pred'), POSTER.original.name);
  assert.equal(await text(page, '#original-conf'), POSTER.original.percent);
  assert.equal(await text(page, '#adversarial-pred'), POSTER.adversarial.name);
  assert.equal(await text(page, '#adversarial-conf'), POSTER.adversarial.percent);
  assert.equal(Number(await page.inputValue('#eps')), 2, 'a small ε: 2/255');
  assert.equal(await text(page, '#input-title-text'), 'Choose a photo');
  // The pictures themselves: the still's adversarial picture is the live one (lossy WebP: close).
  const diff = await page.evaluate(async () => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    const img = root.getElementById('poster-adversarial');
    const c = new OffscreenCanvas(224, 224);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const still = ctx.getImageData(0, 0, 224, 224).data;
    const live = root.getElementById('cv-adversarial').getContext('2d').getImageData(0, 0, 224, 224).data;
    let sum = 0;
    for (let i = 0; i < live.length; i += 4) sum += Math.abs(still[i] - live[i]) + Math.abs(still[i + 1] - live[i + 1]) + Math.abs(still[i + 2] - live[i + 2]);
    return sum / (224 * 224 * 3);
  });
  assert.ok(diff < 4, `the still's x′ is the live x′ (mean difference ${diff.toFixed(2)} grey levels)`);
  // Story first: the numbers wait in a closed "Details".
  assert.equal(await page.$eval('fgsm-demo', (el) => el.shadowRoot.getElementById('details').open), false);
  assert.equal(await page.isHidden('#speed'), true);
  assert.match(await text(page, '#eps-story'), /^No pixel changes by more than 2 of its 255 brightness levels, too little to see\./);
  await page.waitForURL((url) => new RegExp(`^#sample=${LEAD.image}&eps=2/255$`).test(url.hash));
  // No literal backticks anywhere the reader can read.
  assert.doesNotMatch(await page.$eval('fgsm-demo', (el) => el.shadowRoot.getElementById('fgsm').textContent), /`/);
  await assertClean(page);
  await page.close();
});

test('the target is a chip beside ε, and it goes when the picture changes (a sample or an upload)', needsModel, async () => {
  const page = await openPhotoPage();
  const pick = async () => {
    await page.click('#target');
    await page.keyboard.type('goldfish');
    await page.locator('#target-list [role=option]').first().click();
    await page.waitForSelector('#results:not([data-target=""])');
    assert.ok(await page.isVisible('#target-chip'));
    assert.equal(await text(page, '#target-chip-name'), 'goldfish');
  };
  await pick();
  await page.click('#samples button[data-index="1"]');
  await page.waitForSelector('#results[data-for^="sample:1@"][data-target=""]', { timeout: 60_000 });
  assert.equal(await page.isHidden('#target-chip'), true);
  assert.equal(await page.inputValue('#target'), '');
  assert.match(await text(page, '#target-note'), /new picture: the target was cleared/i);
  await pick();
  await page.setInputFiles('#photo-file', sampleFile(card.samples[0]));
  await page.waitForSelector('#results[data-for^="photo:1@"][data-target=""]', { timeout: 60_000 });
  assert.equal(await page.isHidden('#target-chip'), true, 'an upload clears the target too');
  // The chip's own button clears it.
  await pick();
  await page.click('#target-chip-clear');
  await page.waitForSelector('#results[data-target=""]');
  await assertClean(page);
  await page.close();
});

test('on a phone: large pictures one at a time, ε and the verdict stay in view, and a link to the view', needsModel, async () => {
  const page = await newPage(env.browser, env.url, { ...PHONE, permissions: ['clipboard-read', 'clipboard-write'] });
  await page.goto(env.url);
  await page.waitForSelector(`#results[data-for="sample:${leadIndex}@${LEAD.eps}"]`, { timeout: 120_000 });
  await waitForSweep(page);
  await assertNoHorizontalScroll(page);
  // The first screen holds the verdict and the flipped picture.
  const viewport = PHONE.viewport;
  const adversarial = await page.locator('#cv-adversarial').boundingBox();
  assert.ok(adversarial.width >= 300, `x′ is ${adversarial.width} px wide`);
  assert.ok(adversarial.y + adversarial.height / 2 < viewport.height, 'x′ is on the first screen');
  assert.ok(await page.isHidden('#cv-original'), 'one picture at a time');
  await page.screenshot({ path: screenshotPath('photo-phone-first.png') });
  await page.click('#viewer-tabs button[data-show="original"]');
  assert.ok(await page.isVisible('#cv-original'));
  assert.ok(await page.isHidden('#cv-adversarial'));
  assert.equal(await text(page, '#original-pred'), POSTER.original.name);
  // Down at the charts, ε and the verdict are still on screen.
  await page.locator('#sweep').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, 200));
  for (const id of ['#verdict', '#eps']) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box.y >= 0 && box.y + box.height <= viewport.height, `${id} is in view while scrolling the results (${JSON.stringify(box)})`);
  }
  const sweep = await page.locator('#sweep').boundingBox();
  assert.ok(sweep.y < viewport.height, 'the chart is in view too');
  await page.locator('#eps').fill('5');
  await page.waitForSelector(`#results[data-for="sample:${leadIndex}@5/255"]`);
  await page.screenshot({ path: screenshotPath('photo-phone-scrolled.png') });
  // Copy link to this view.
  await page.click('#copy-link');
  await page.waitForSelector('#copy-link[data-copied="true"]');
  assert.equal(await text(page, '#copy-link'), 'Link copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, new RegExp(`#sample=${LEAD.image}&eps=5/255$`), 'the link is the view now, even before the address catches up');
  await page.waitForURL(copied);
  await assertClean(page);
  await page.close();
});
