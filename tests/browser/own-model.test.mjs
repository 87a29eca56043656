// The reader's own forward-only classifier in the page: dropped or picked, it gets its gradient
// graph from the Rust builder in the worker (after the page asks for its normalisation), joins the
// model picker and is attacked; a labels file names its classes; an operation without a gradient
// rule is refused in plain words. Also in the embeddable widget, and the builder in the wasm
// against float64 autograd.
//
//   node --test --test-concurrency=1 tests/browser/own-model.test.mjs      (after ./build.sh site)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start, newPage, screenshotPath, assertClean, assertNoHorizontalScroll } from '../support/browser.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const FIXTURES = join(REPO, 'tests', 'fixtures', 'architectures');
/** A LeNet with MaxPool and Tanh, random weights, exported forward-only by torch (no gradient graph). */
const LENET = readFileSync(join(FIXTURES, 'lenet-torchscript.onnx'));
const DIGIT_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

async function openPage(viewport = DESKTOP, path = '?model=mnist') {
  const page = await newPage(env.browser, env.url, { viewport });
  await page.goto(env.url + path);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.waitForSelector('#results[data-for^="test:"]');
  return page;
}

const text = async (page, selector) => (await page.textContent(selector)).trim();

/** Drops `files` ({name, bytes}) on the page as a reader dragging them from their desktop would. */
async function drop(page, files) {
  await page.evaluate((files) => {
    const transfer = new DataTransfer();
    for (const f of files) transfer.items.add(new File([new Uint8Array(f.bytes)], f.name));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  }, files.map((f) => ({ name: f.name, bytes: [...f.bytes] })));
}

/** The lenet fixture with its Tanh operations renamed Selu: a valid model with no gradient rule. */
function withSelu(bytes) {
  const from = Buffer.from('\x22\x04Tanh', 'latin1'); // NodeProto.op_type = "Tanh"
  const out = Buffer.from(bytes);
  let found = 0;
  for (let i = out.indexOf(from); i >= 0; i = out.indexOf(from, i + 1), found++) out.write('Selu', i + 2, 'latin1');
  assert.equal(found, 3, 'the fixture has three Tanh nodes');
  return out;
}

test('a forward-only model dropped with its labels gets a gradient graph and is attacked', async () => {
  const page = await openPage();
  const digit = await page.getAttribute('#results', 'data-for');
  await drop(page, [
    { name: 'lenet.onnx', bytes: LENET },
    { name: 'digits.txt', bytes: Buffer.from(`${DIGIT_NAMES.join('\n')}\n`) },
  ]);
  // The page asks for the normalisation first; a grey 28 × 28 input starts on "none".
  await page.waitForSelector('#build-form:not([hidden])');
  assert.match(await text(page, '#build-intro'), /lenet\.onnx has no gradient graph yet \(input \[1, 1, 28, 28\]\)/);
  assert.equal(await page.isChecked('#build-form input[value="none"]'), true);
  assert.equal(await page.getAttribute('#status', 'data-model'), 'mnist', 'the built-in model stays in use while the page asks');
  await page.screenshot({ path: screenshotPath('own-model-question.png') });
  await page.click('#build-go');

  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]', { timeout: 60_000 });
  await page.waitForSelector('#build-form', { state: 'hidden' });
  const report = await text(page, '#build-report');
  assert.match(report, /^Gradient graph built here in \d+ ms: 10 operations from the image to the logits \(Conv ×2, Flatten, Gemm ×2, MaxPool ×2, Tanh ×3\)/);
  assert.match(report, /no normalisation/);
  assert.match(report, /\d+ nodes added for the loss and its gradient\.$/);
  assert.match(await page.$eval('#model-select', (s) => s.selectedOptions[0].textContent), /^Yours: lenet\.onnx$/);
  assert.match(await text(page, '#model-card'), /lenet\.onnx \(yours\)/);

  // The same test digit, attacked with the new model, its classes named by the labels file.
  await page.waitForFunction(() => document.querySelector('fgsm-demo').result?.model === 'lenet.onnx', null, { timeout: 30_000 });
  const result = await page.evaluate(() => document.querySelector('fgsm-demo').result);
  assert.equal(await page.getAttribute('#results', 'data-for'), digit, 'the same digit');
  assert.ok(DIGIT_NAMES.includes(result.labelName), `the class is named by digits.txt: ${result.labelName}`);
  assert.ok(DIGIT_NAMES.includes(await text(page, '#original-pred')));
  assert.ok(Number.isFinite(result.probability) && result.probability > 0 && result.probability <= 1);
  const said = await text(page, '#fact-loss');
  const loss = Number(said.match(/\d+(\.\d+)?(e-?\d+)?/)?.[0]);
  assert.ok(Number.isFinite(loss) && loss > 0, `a finite loss: ${said}`);

  // A larger ε moves the image, and the gradient step raises the loss of the clean class.
  await page.locator('#eps').fill('0.3');
  await page.waitForFunction(() => document.querySelector('fgsm-demo').result?.eps > 0.29);
  const strong = await page.evaluate(() => document.querySelector('fgsm-demo').result);
  assert.ok(DIGIT_NAMES.includes(strong.adversarialName));
  assert.ok(strong.adversarialProbability <= 1);
  await page.screenshot({ path: screenshotPath('own-model-built.png') });
  await page.locator('#build-report').scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshotPath('own-model-report.png') });

  // Back to the built-in model and to the reader's again, from the picker. The model left is
  // freed; the reader's is built again from its file with the answers given the first time, so
  // the page does not ask again.
  await page.click('#builtin');
  await page.waitForSelector('#status[data-state="ready"][data-model="mnist"]');
  assert.equal(await page.isHidden('#build-report'), true);
  await page.selectOption('#model-select', 'custom');
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]');
  assert.equal(await page.isHidden('#build-form'), true, 'no second question');
  assert.match(await text(page, '#build-report'), /^Gradient graph built here/);
  await page.waitForSelector('#results[data-for^="test:"]');
  await assertClean(page);
  await page.close();
});

test('picked without labels: the page checks the numbers typed in, and the classes are "class k"', async () => {
  const page = await openPage();
  await page.setInputFiles('#model-file', [
    { name: 'lenet.onnx', mimeType: 'application/octet-stream', buffer: LENET },
    { name: 'three.txt', mimeType: 'text/plain', buffer: Buffer.from('a\nb\nc\n') },
  ]);
  await page.waitForSelector('#build-form:not([hidden])');
  await page.check('#build-form input[value="other"]');
  await page.fill('#norm-mean', '0.5, 0.5');
  await page.fill('#norm-std', '0.25');
  await page.click('#build-go');
  assert.match(await text(page, '#build-problem'), /the mean has 2 numbers; give one, or one for each of the 1 channels/);
  await page.fill('#norm-mean', '0.5');
  await page.fill('#norm-std', '0');
  await page.click('#build-go');
  assert.match(await text(page, '#build-problem'), /standard deviation must be above 0/);
  await page.check('#build-form input[value="mnist"]');
  await page.click('#build-go');
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]', { timeout: 60_000 });
  assert.match(await text(page, '#build-report'), /MNIST normalisation put in front/);
  // Three names for ten classes: said, and not used.
  await page.waitForSelector('#model-alert:not([hidden])');
  assert.match(await text(page, '#model-alert-text'), /three\.txt has 3 lines and the model 10 classes, so the classes are called “class 0” to “class 9”/);
  await page.waitForFunction(() => document.querySelector('fgsm-demo').result?.model === 'lenet.onnx', null, { timeout: 30_000 });
  assert.match(await page.evaluate(() => document.querySelector('fgsm-demo').result.labelName), /^class \d$/);
  assert.match(await text(page, '#original-pred'), /^class \d$/);

  // Cancelling the question changes nothing.
  await page.setInputFiles('#model-file', { name: 'again.onnx', mimeType: 'application/octet-stream', buffer: LENET });
  await page.waitForSelector('#build-form:not([hidden])');
  await page.click('#build-cancel');
  await page.waitForSelector('#build-form', { state: 'hidden' });
  assert.equal(await page.getAttribute('#status', 'data-model'), 'custom');
  assert.match(await page.$eval('#model-select', (s) => s.selectedOptions[0].textContent), /lenet\.onnx/);
  await assertClean(page);
  await page.close();
});

test('an operation without a gradient rule is refused by name, and the page keeps working', async () => {
  const page = await openPage();
  await page.setInputFiles('#model-file', { name: 'selu-net.onnx', mimeType: 'application/octet-stream', buffer: withSelu(LENET) });
  await page.waitForSelector('#model-alert:not([hidden])');
  const message = await text(page, '#model-alert-text');
  assert.match(message, /^Could not use selu-net\.onnx: it has no gradient graph, and the page cannot build one: Selu \(nodes “[^”]+”, “[^”]+” and “[^”]+”\): no gradient rule\. The page keeps using mnist-cnn\.$/);
  assert.equal(await page.isHidden('#build-form'), true, 'nothing to ask');
  assert.equal(await page.getAttribute('#status', 'data-model'), 'mnist');
  await page.waitForSelector('#status[data-state="ready"]');
  await page.screenshot({ path: screenshotPath('own-model-refused.png') });
  const key = await page.getAttribute('#results', 'data-for');
  await page.click('#next');
  await page.waitForFunction((k) => document.querySelector('fgsm-demo').shadowRoot.querySelector('#results').dataset.for !== k, key);
  await assertClean(page);
  await page.close();
});

test('on a phone: the question and the report fit the screen', async () => {
  const page = await openPage(PHONE);
  await page.setInputFiles('#model-file', { name: 'a-rather-long-model-file-name-from-an-export.onnx', mimeType: 'application/octet-stream', buffer: LENET });
  await page.waitForSelector('#build-form:not([hidden])');
  await page.locator('#build-form').scrollIntoViewIfNeeded();
  await assertNoHorizontalScroll(page);
  await page.screenshot({ path: screenshotPath('own-model-question-phone.png') });
  await page.click('#build-go');
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]', { state: 'attached', timeout: 60_000 });
  await page.locator('#build-report').scrollIntoViewIfNeeded();
  await assertNoHorizontalScroll(page);
  await page.screenshot({ path: screenshotPath('own-model-built-phone.png') });
  await assertClean(page);
  await page.close();
});

test('the embeddable widget builds a gradient graph for a model picked in it', async () => {
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP });
  await page.goto(`${env.url}embed.html?model=mnist&panels=upload,input,triptych,bars,controls`);
  await page.waitForSelector('#status[data-state="ready"]', { state: 'attached', timeout: 120_000 });
  await page.setInputFiles('#model-file', [
    { name: 'lenet.onnx', mimeType: 'application/octet-stream', buffer: LENET },
    { name: 'digits.txt', mimeType: 'text/plain', buffer: Buffer.from(DIGIT_NAMES.join('\n')) },
  ]);
  await page.waitForSelector('#build-form:not([hidden])');
  await page.click('#build-go');
  await page.waitForSelector('#status[data-state="ready"][data-model="custom"]', { state: 'attached', timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('fgsm-demo').result?.model === 'lenet.onnx', null, { timeout: 30_000 });
  assert.ok(DIGIT_NAMES.includes(await page.evaluate(() => document.querySelector('fgsm-demo').result.labelName)));
  assert.match(await text(page, '#build-report'), /^Gradient graph built here/);
  await assertClean(page);
  await page.close();
});

test('the wasm builder gives the gradient of float64 autograd on the fixture', async () => {
  // The engine on the page's thread: buildGradientGraph, then the built model's input_grad against
  // the fixture's float64 PyTorch reference (tests/grad_architectures.rs checks the native build).
  const page = await newPage(env.browser, env.url, { viewport: DESKTOP });
  await page.goto(`${env.url}embed.html?model=mnist&loading=lazy`);
  const bin = readFileSync(join(FIXTURES, 'lenet-torchscript.bin'));
  const meta = JSON.parse(readFileSync(join(FIXTURES, 'lenet-torchscript.json'), 'utf8'));
  const checked = await page.evaluate(async ({ onnx, bin, label }) => {
    const glue = await import('./pkg/fgsm_wasm.js');
    await glue.default({ module_or_path: './pkg/fgsm_wasm_bg.wasm' });
    const floats = new Float32Array(new Uint8Array(bin).buffer);
    const pixels = floats.slice(0, floats.length / 2);
    const reference = floats.slice(floats.length / 2);
    const found = glue.inspectOnnx(new Uint8Array(onnx));
    const { onnx: built, report } = glue.buildGradientGraph(new Uint8Array(onnx), {});
    const model = new glue.Model(built);
    const { grad, loss } = model.inputGradient(pixels, label);
    let diff = 0;
    let scale = 0;
    grad.forEach((g, i) => {
      diff = Math.max(diff, Math.abs(g - reference[i]));
      scale = Math.max(scale, Math.abs(reference[i]));
    });
    let refused = null;
    try {
      glue.buildGradientGraph(built, {});
    } catch (e) {
      refused = e.message;
    }
    let badOption = null;
    try {
      glue.buildGradientGraph(new Uint8Array(onnx), { mean: [0.5, 0.5], std: [1] });
    } catch (e) {
      badOption = e.message;
    }
    return { found, report, loss, diff, scale, refused, badOption, again: glue.inspectOnnx(built).gradientGraph };
  }, { onnx: [...LENET], bin: [...bin], label: meta.label });
  assert.deepEqual(checked.found, { gradientGraph: false, inputShape: [1, 1, 28, 28], blockers: [] });
  assert.equal(checked.report.classes, 10);
  assert.equal(checked.report.stripped, null);
  assert.equal(checked.again, true, 'the built file reads as one with a gradient graph');
  assert.ok(checked.scale > 0);
  assert.ok(checked.diff <= 1e-4 * checked.scale, `max |Δgrad| ${checked.diff} vs max |grad| ${checked.scale}`);
  assert.ok(Math.abs(checked.loss - meta.loss) <= 1e-5 * Math.max(1, meta.loss), `loss ${checked.loss} vs ${meta.loss}`);
  assert.match(checked.refused, /already .*gradient graph/);
  assert.match(checked.badOption, /--mean has 2 values; the image has 1 channels/);
  await page.close();
});
