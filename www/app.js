// The page: wires the controls to the worker (worker.js, through worker-client.js) and shows what
// comes back. All model work happens in the worker; this thread only draws and formats.
import { WorkerClient, STALE } from './worker-client.js';
import { DrawPad } from './draw-pad.js';
import { fetchBytes, fetchJson, TestDigits } from './model-files.js';
import { renderBars, percent } from './prob-bars.js';
import { SweepChart } from './sweep-chart.js';
import { measureRobustness } from './robustness.js';
import { RobustnessChart } from './robustness-chart.js';

const EPS_MAX = 0.5;
const SWEEP_STEPS = 100; // the chart's ε grid: the slider's own step, 0.005
/** The only input this page handles for now: one 28×28 grey-scale image. */
const INPUT_SHAPE = [1, 1, 28, 28];

const $ = (id) => document.getElementById(id);

// models/<name>/ next to the page; ?model=<name> picks another one shipped with the site.
const MODEL_DIR = (() => {
  const name = new URLSearchParams(location.search).get('model');
  return `models/${name && /^[\w-]+$/.test(name) ? name : 'mnist'}/`;
})();

const client = new WorkerClient(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
// Only the newest request of each kind runs: dragging the slider or drawing never queues old work.
const attackLane = client.lane();
const sweepLane = client.lane();
const centreLane = client.lane();
const searchLane = client.lane();

const state = {
  ready: false,
  /** {name, classes, card, custom, fileName, size, ms} */
  model: null,
  /** The shipped model's bytes and card, to come back to after trying one's own. */
  builtin: null,
  /** @type {TestDigits | null} */
  digits: null,
  index: 0,
  source: 'test', // 'test' | 'draw'
  /** The image under attack (CHW floats in [0, 1]) and what it is. */
  pixels: null,
  imageKey: '',
  trueLabel: null,
  eps: 0.25,
  target: null, // null = untargeted
  gain: 'fit',
  drawings: 0,
  sweep: null,
  loadInfo: '',
};

// --- status and errors -----------------------------------------------------------------------------

function setStatus(kind, text, progress = null) {
  $('status').dataset.state = kind;
  $('status-text').textContent = text;
  const bar = $('status-progress');
  bar.hidden = progress === null;
  if (progress !== null) bar.value = progress;
}

/** Shows a message in the page's alert, or in another one (`model-alert`, by the model picker). */
function showAlert(text, where = 'alert') {
  $(`${where}-text`).textContent = text;
  $(where).hidden = false;
  $(where).scrollIntoView({ block: 'nearest' });
}

function hideAlerts() {
  $('alert').hidden = true;
  $('model-alert').hidden = true;
}

$('alert-close').addEventListener('click', () => ($('alert').hidden = true));
$('model-alert-close').addEventListener('click', () => ($('model-alert').hidden = true));

/** An error the user should see: in an alert, never as an uncaught exception. */
function report(error, context = '', where = 'alert') {
  const message = error instanceof Error ? error.message : String(error);
  showAlert(context ? `${context}: ${message}` : message, where);
}

const CONTROLS = ['prev', 'next', 'random', 'find-fooled', 'eps', 'target', 'gain', 'model-file', 'builtin', 'tab-test', 'tab-draw', 'clear'];
function setEnabled(on) {
  for (const id of CONTROLS) $(id).disabled = !on;
}

// --- formatting --------------------------------------------------------------------------------

const fmtEps = (eps) => eps.toFixed(3);
const levels = (v) => `${(v * 255).toFixed(1)}/255`;
const className = (c) => state.model?.classes[c] ?? String(c);
const quoted = (c) => `“${className(c)}”`;

function bytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} kB`;
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Cross-entropy of one probability, shown sensibly when the softmax underflows to 0. */
function crossEntropy(p) {
  return p > 0 ? (-Math.log(p)).toFixed(p > 0.999 ? 5 : 3) : '> 87 (p underflows to 0)';
}

// --- loading -----------------------------------------------------------------------------------

async function start() {
  setEnabled(false);
  readHash();
  if (location.protocol === 'file:') {
    setStatus('error', 'This page must be served by a web server: browsers do not load modules or WebAssembly from file:// pages.');
    return;
  }
  const loaded = { engine: { loaded: 0, total: 0 }, model: { loaded: 0, total: 0 } };
  const showProgress = () => {
    const done = loaded.engine.loaded + loaded.model.loaded;
    const total = loaded.engine.total + loaded.model.total;
    const of = total ? ` of ${bytes(total)}` : '';
    setStatus('loading', `Loading the engine and the model… ${bytes(done)}${of}`, total ? Math.min(1, done / total) : null);
  };
  setStatus('loading', 'Loading the engine and the model…');
  try {
    // Started together; each handled at once so that an early failure is never "unhandled".
    const engine = quiet(client.call('init', {}, { onProgress: (p) => ((loaded.engine = p), showProgress()) }));
    const card = await fetchJson(`${MODEL_DIR}model.json`);
    const onnx = quiet(fetchBytes(`${MODEL_DIR}${card.file ?? 'model.onnx'}`, (p) => ((loaded.model = p), showProgress())));
    const digits = card.test_digits
      ? quiet(fetchBytes(`${MODEL_DIR}${card.test_digits.file}`).then((b) => new TestDigits(b, card.test_digits.count)))
      : Promise.resolve(null);
    const [engineInfo, onnxBytes] = await Promise.all([engine, onnx]);
    setStatus('loading', 'Preparing the model…');
    // Copied, not transferred: the page keeps the bytes to come back to after a user's model.
    const info = await client.call('load', { bytes: onnxBytes, expectShape: INPUT_SHAPE });
    state.builtin = { bytes: onnxBytes, card, fileName: card.file ?? 'model.onnx' };
    state.loadInfo = `engine ${bytes(engineInfo.bytes)} in ${Math.round(engineInfo.ms)} ms`;
    useModel({ card, info, custom: false, fileName: state.builtin.fileName, size: onnxBytes.length });
    state.digits = await digits;
    state.ready = true;
    setEnabled(true);
    setStatus('ready', readyText());
    if (!state.digits) $('tab-test').disabled = true;
    selectTab(state.digits && state.source === 'test' ? 'test' : 'draw', { focus: false });
    runRobustness();
  } catch (e) {
    setStatus('error', 'The demo could not start.');
    report(e, 'The demo could not start');
  }
}

/** Marks a promise as handled now (it is awaited later), and returns it. */
function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

function readyText() {
  const m = state.model;
  const what = m.custom ? `your model ${m.name}` : m.name;
  return `Ready: ${what} prepared in ${Math.round(m.ms)} ms (${state.loadInfo}).`;
}

/** Makes a just-loaded model the page's model and redoes the current image with it. */
function useModel({ card, info, custom, fileName, size }) {
  const k = info.numClasses;
  const classes =
    Array.isArray(card?.classes) && card.classes.length === k ? card.classes.map(String) : Array.from({ length: k }, (_, i) => String(i));
  state.model = { name: card?.name ?? fileName, classes, card, custom, fileName, size, ms: info.ms, info };
  if (state.target !== null && state.target >= k) state.target = null;
  fillTargets();
  renderModelCard();
  $('builtin').hidden = !custom;
  if (state.pixels) setImage(state.pixels, { trueLabel: state.trueLabel, key: state.imageKey });
}

function fillTargets() {
  const select = $('target');
  const options = [new Option('none (untargeted)', '')];
  state.model.classes.forEach((name, c) => options.push(new Option(`“${name}” (targeted)`, String(c))));
  select.replaceChildren(...options);
  select.value = state.target === null ? '' : String(state.target);
}

function renderModelCard() {
  const { card, custom, fileName, size, info, classes, name } = state.model;
  const rows = [];
  rows.push(['Model', custom ? `${name} (yours${card ? '' : `, ${fileName}`})` : name]);
  if (card?.architecture) rows.push(['Layers', card.architecture, 'architecture']);
  rows.push(['Size', `${bytes(size)}${card?.parameters ? `, ${card.parameters.toLocaleString('en')} parameters` : ''}`]);
  rows.push(['Input → output', `[${info.inputShape.join(', ')}] → ${classes.length} classes`]);
  if (card?.dataset) rows.push(['Trained on', card.dataset]);
  $('model-card').replaceChildren(...rows.map(([term, detail, className]) => pair(term, detail, className)));

  // The figures measured when the model was made, if its model.json has them.
  const metrics = card?.metrics;
  const box = $('measured');
  box.hidden = !metrics;
  if (!metrics) return;
  const n = metrics.heldout_count ? `${metrics.heldout_count.toLocaleString('en')} held-out digits` : 'held-out digits';
  const title = document.createElement('h3');
  title.textContent = `Measured on ${n}`;
  const figures = document.createElement('dl');
  if (typeof metrics.clean_accuracy === 'number') figures.append(pair('Accuracy on clean digits', percent(metrics.clean_accuracy)));
  for (const [eps, error] of Object.entries(metrics.fgsm_error ?? {})) {
    figures.append(pair(`FGSM error at ε = ${eps}`, percent(error)));
  }
  const note = document.createElement('p');
  note.textContent =
    'FGSM error: share of digits misread after one FGSM step with y = the model’s own prediction. ' +
    `Computed ${metrics.computed_by ? `with ${metrics.computed_by.split(/[ +(]/).slice(0, 2).join(' ')} ` : ''}when the model was made.`;
  box.replaceChildren(title, figures, note);
}

/** A <div><dt>term</dt><dd>detail</dd></div> for a description list. */
function pair(term, detail, className = '') {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = detail;
  if (className) dd.className = className;
  div.append(dt, dd);
  return div;
}

// --- the user's own model ----------------------------------------------------------------------

$('model-file').addEventListener('change', async (event) => {
  const input = event.target;
  const files = [...input.files];
  input.value = ''; // picking the same file again must fire again
  if (!files.length) return;
  const onnxFile = files.find((f) => /\.onnx$/i.test(f.name)) ?? files.find((f) => !/\.json$/i.test(f.name));
  const cardFile = files.find((f) => /\.json$/i.test(f.name));
  if (!onnxFile) {
    showAlert('Pick an .onnx file (a model.json may come along with it, to name the classes).', 'model-alert');
    return;
  }
  let card = null;
  if (cardFile) {
    try {
      card = JSON.parse(await cardFile.text());
    } catch (e) {
      showAlert(`${cardFile.name} is not valid JSON (${e.message}); the page keeps using ${state.model.name}.`, 'model-alert');
      return;
    }
  }
  await switchModel(onnxFile.name, async () => new Uint8Array(await onnxFile.arrayBuffer()), card, true);
});

$('builtin').addEventListener('click', () => {
  const { bytes: b, card, fileName } = state.builtin;
  switchModel(fileName, async () => b.slice(), card, false);
});

async function switchModel(fileName, readBytes, card, custom) {
  const previous = state.model.name;
  setEnabled(false);
  setStatus('loading', `Preparing ${fileName}…`);
  try {
    const data = await readBytes();
    const info = await client.call('load', { bytes: data, expectShape: INPUT_SHAPE }, { transfer: [data.buffer] });
    hideAlerts();
    useModel({ card, info, custom, fileName, size: data.length });
    runRobustness();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    showAlert(`Could not use ${fileName}: ${message.replace(/\.?$/, '.')} The page keeps using ${previous}.`, 'model-alert');
  } finally {
    setEnabled(true);
    if (!state.digits) $('tab-test').disabled = true;
    setStatus('ready', readyText());
  }
}

// --- choosing the image ------------------------------------------------------------------------

function selectTab(which, { focus = true } = {}) {
  for (const name of ['test', 'draw']) {
    const on = name === which;
    const tab = $(`tab-${name}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${name}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  state.source = which;
  writeHash();
  if (which === 'test') showTestDigit(state.index);
  else useDrawing();
}

$('tab-test').addEventListener('click', () => state.source !== 'test' && selectTab('test'));
$('tab-draw').addEventListener('click', () => state.source !== 'draw' && selectTab('draw'));
document.querySelector('[role=tablist]').addEventListener('keydown', (e) => {
  if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
  e.preventDefault();
  const next = state.source === 'test' ? 'draw' : 'test';
  if (next === 'test' && !state.digits) return;
  selectTab(next);
});

function showTestDigit(i) {
  const digits = state.digits;
  if (!digits) return;
  state.index = ((i % digits.count) + digits.count) % digits.count;
  const label = digits.label(state.index);
  $('digit-info').replaceChildren(
    Object.assign(document.createElement('span'), { textContent: `Test digit ${state.index + 1} of ${digits.count}` }),
    Object.assign(document.createElement('span'), { textContent: `true label ${className(label)}` }),
  );
  setImage(digits.pixels(state.index), { trueLabel: label, key: `test:${state.index}` });
}

$('prev').addEventListener('click', () => showTestDigit(state.index - 1));
$('next').addEventListener('click', () => showTestDigit(state.index + 1));
$('random').addEventListener('click', () => {
  const n = state.digits.count;
  showTestDigit((state.index + 1 + Math.floor(Math.random() * (n - 1))) % n);
});

// Steps forward to the next test digit that the current ε and target fool, checking a batch of
// digits at a time in the worker.
$('find-fooled').addEventListener('click', async () => {
  const digits = state.digits;
  const from = state.index;
  const button = $('find-fooled');
  const size = digits.side * digits.side;
  const batch = 50;
  button.disabled = true;
  try {
    for (let offset = 1; offset < digits.count; offset += batch) {
      const count = Math.min(batch, digits.count - offset);
      const images = new Float32Array(count * size);
      for (let k = 0; k < count; k++) images.set(digits.pixels((from + offset + k) % digits.count), k * size);
      const eps = state.eps;
      const r = await searchLane('attackMany', { images, epsilons: [eps], label: state.target, targeted: state.target !== null }, { transfer: [images.buffer] });
      if (r === STALE) return;
      for (let k = 0; k < count; k++) {
        const fooled = state.target === null ? r.adversarial[k] !== r.clean[k] : r.adversarial[k] === state.target && r.clean[k] !== state.target;
        if (fooled) return showTestDigit(from + offset + k);
      }
    }
    showAlert(`No other test digit is ${state.target === null ? 'fooled' : `turned into ${quoted(state.target)}`} at ε = ${fmtEps(state.eps)}. Try a larger ε.`);
  } catch (e) {
    report(e, 'Searching the test digits failed');
  } finally {
    button.disabled = false;
  }
});

const pad = new DrawPad($('draw-pad'), {
  onChange: () => useDrawing(),
});

/** Attacks the drawing as it is now; every change of the pad is numbered, and only the latest counts. */
function useDrawing() {
  const key = `drawing:${++state.drawings}`;
  $('draw-pad').dataset.drawing = key;
  if (pad.isEmpty) {
    state.pixels = null;
    state.imageKey = key;
    clearResults('Draw a digit in the box to attack it.');
    return;
  }
  const rgba = pad.rgba();
  const latest = () => state.source === 'draw' && $('draw-pad').dataset.drawing === key;
  centreLane('centre', { rgba, width: pad.width, height: pad.height }, { transfer: [rgba.buffer] }).then(
    (r) => r !== STALE && latest() && setImage(r.pixels, { trueLabel: null, key }),
    (e) => latest() && report(e, 'Could not read the drawing'),
  );
}

$('clear').addEventListener('click', () => {
  pad.clear();
  useDrawing();
});

/** Attack a new image (or the same one with a new model or target). */
function setImage(pixels, { trueLabel, key }) {
  state.pixels = pixels;
  state.trueLabel = trueLabel;
  state.imageKey = key;
  state.sweep = null;
  writeHash();
  runAttack();
  runSweep();
}

// --- the attack --------------------------------------------------------------------------------

function gain() {
  return state.gain === 'fit' ? 1 : 2 * Number(state.gain) * state.eps;
}

async function runAttack() {
  if (!state.ready || !state.pixels) return;
  const about = { key: state.imageKey, eps: state.eps, target: state.target, trueLabel: state.trueLabel };
  const args = { pixels: state.pixels, eps: state.eps, label: state.target, targeted: state.target !== null, gain: gain() };
  try {
    const r = await attackLane('attack', args);
    // A result for an image that has since been replaced (or cleared) is not shown.
    if (r !== STALE && about.key === state.imageKey) showResult(r, about);
  } catch (e) {
    report(e, 'The attack failed');
  }
}

async function runSweep() {
  if (!state.ready || !state.pixels) return;
  const key = state.imageKey;
  const args = { pixels: state.pixels, steps: SWEEP_STEPS, max: EPS_MAX, label: state.target, targeted: state.target !== null };
  try {
    const r = await sweepLane('sweep', args);
    if (r === STALE || key !== state.imageKey) return;
    state.sweep = { ...r, target: args.label };
    showSweep();
  } catch (e) {
    report(e, 'The ε sweep failed');
  }
}

function putImage(canvas, rgba, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const data = rgba instanceof Uint8ClampedArray ? rgba : new Uint8ClampedArray(rgba);
  canvas.getContext('2d').putImageData(new ImageData(data, width, height), 0, 0);
}

function showResult(r, about) {
  const original = argmax(r.probs);
  const adversarial = argmax(r.adversarialProbs);
  const rounded = argmax(r.roundedProbs);
  const { eps, target, trueLabel } = about;

  putImage($('cv-original'), r.images.original, r.width, r.height);
  putImage($('cv-perturbation'), r.images.perturbation, r.width, r.height);
  putImage($('cv-adversarial'), r.images.adversarial, r.width, r.height);
  $('original-title').textContent = about.key.startsWith('drawing') ? 'What the model sees, x' : 'Original x';
  $('original-pred').textContent = className(original);
  $('original-conf').textContent = percent(r.probs[original]);
  $('adversarial-pred').textContent = className(adversarial);
  $('adversarial-conf').textContent = percent(r.adversarialProbs[adversarial]);
  $('cv-original').setAttribute('aria-label', `Original digit, read as ${className(original)} (${percent(r.probs[original])})`);
  $('cv-adversarial').setAttribute('aria-label', `Adversarial digit, read as ${className(adversarial)} (${percent(r.adversarialProbs[adversarial])})`);
  $('cv-perturbation').setAttribute('aria-label', `Perturbation: each pixel moved by at most ${fmtEps(eps)}`);
  $('noise-legend').textContent =
    state.gain === 'fit'
      ? `Middle picture: white = +ε, black = −ε, grey = unchanged (where the step would leave [0, 1], clipping cancels it).`
      : `Middle picture: x′ − x around mid-grey, ${state.gain === '1' ? 'at its true size' : `magnified ×${state.gain}`}; grey = unchanged.`;

  // The verdict.
  const verdict = $('verdict');
  const changed = adversarial !== original;
  let text;
  if (target !== null && original === target) text = `The model already reads this as ${quoted(target)}: pick another target.`;
  else if (eps === 0) text = 'ε = 0: the image is unchanged. Move the slider to attack.';
  else if (target !== null && adversarial === target) text = `Fooled: ${className(original)} → ${className(adversarial)}, the target, at ε = ${fmtEps(eps)}`;
  else if (changed) text = `Fooled: ${className(original)} → ${className(adversarial)} at ε = ${fmtEps(eps)}${target !== null ? ` (the target was ${quoted(target)})` : ''}`;
  else text = `Not fooled at ε = ${fmtEps(eps)}: still ${className(original)} (${percent(r.adversarialProbs[original])})`;
  if (trueLabel !== null && original !== trueLabel) text += `. The model already misreads this ${className(trueLabel)}.`;
  verdict.textContent = text;
  verdict.dataset.fooled = String(eps > 0 && changed && original !== target);

  // Bars, with the classes that matter marked (by colour and by a word).
  const marks = (...pairs) => Object.fromEntries(pairs.filter(Boolean));
  const targetMark = target !== null && target !== original && target !== adversarial && [target, ['target', 'target']];
  renderBars($('bars-original'), r.probs, state.model.classes, {
    highlight: marks([original, ['original', '']], target !== original && targetMark),
  });
  renderBars($('bars-adversarial'), r.adversarialProbs, state.model.classes, {
    always: [original],
    highlight: marks(
      [original, ['original', changed ? 'original' : '']],
      targetMark,
      changed && [adversarial, ['fooled', adversarial === target ? 'target' : '']],
    ),
  });

  // The numbers.
  const y = r.label;
  $('fact-label').textContent = `${className(y)}: ${target !== null ? 'the target class (the step goes down its loss)' : 'the model’s own prediction, not the true label'}`;
  $('fact-loss').textContent = `${crossEntropy(r.probs[y])} on x → ${crossEntropy(r.adversarialProbs[y])} on x′`;
  $('fact-eps').textContent = `${fmtEps(eps)} × 255 = ${(eps * 255).toFixed(1)} grey levels`;
  const clipped = r.linf < eps - 1e-6 ? ' (clipping to [0, 1] shortened every step)' : '';
  $('fact-linf').textContent = `${r.linf.toFixed(3)} = ${levels(r.linf)}${clipped}`;
  const png = $('fact-png');
  png.textContent = rounded === adversarial ? `still read as ${className(rounded)} ✓ ` : `read as ${className(rounded)}: the rounding undoes the attack `;
  const save = document.createElement('button');
  save.type = 'button';
  save.className = 'link';
  save.textContent = 'download x′';
  save.addEventListener('click', () => download($('cv-adversarial'), `adversarial-${className(original)}-to-${className(adversarial)}-eps${fmtEps(eps)}.png`));
  png.append(save);

  if (about.key.startsWith('drawing')) showDrawingReadout(original, adversarial, r, about);

  $('results').dataset.for = `${about.key}@${fmtEps(eps)}`;
  $('results').dataset.target = target ?? '';
  chart.eps = eps;
  robustnessChart.eps = eps;
}

/** One line under the pad, so that the result shows while drawing even on a small screen. */
function showDrawingReadout(original, adversarial, r, { eps }) {
  const b = (t) => Object.assign(document.createElement('b'), { textContent: t });
  const more = Object.assign(document.createElement('button'), {
    type: 'button',
    className: 'link',
    textContent: 'details',
    onclick: () =>
      $('verdict').scrollIntoView({ behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth', block: 'start' }),
  });
  $('draw-result').replaceChildren(
    'Read as ', b(className(original)), ` (${percent(r.probs[original])}); at ε = ${fmtEps(eps)}: `,
    b(className(adversarial)), adversarial === original ? ' (not fooled) ' : ' (fooled) ', more,
  );
}

function clearResults(message) {
  $('draw-result').textContent = '';
  for (const id of ['cv-original', 'cv-perturbation', 'cv-adversarial']) {
    const canvas = $(id);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  for (const id of ['original-pred', 'adversarial-pred', 'fact-label', 'fact-loss', 'fact-linf', 'fact-png']) $(id).textContent = '–';
  for (const id of ['original-conf', 'adversarial-conf']) $(id).textContent = '';
  $('bars-original').replaceChildren();
  $('bars-adversarial').replaceChildren();
  $('verdict').textContent = message;
  $('verdict').dataset.fooled = '';
  $('results').dataset.for = '';
  $('sweep-text').textContent = '–';
  chart.show(null, {});
}

function download(canvas, name) {
  canvas.toBlob((blob) => {
    const url = URL.createObjectURL(blob);
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, 'image/png');
}

// --- ε, target, gain ---------------------------------------------------------------------------

function setEps(eps, { fromSlider = false } = {}) {
  state.eps = Math.round(Math.min(EPS_MAX, Math.max(0, eps)) * 1000) / 1000;
  if (!fromSlider) $('eps').value = String(state.eps);
  $('eps-value').textContent = `${fmtEps(state.eps)} (${levels(state.eps)})`;
  chart.eps = state.eps;
  robustnessChart.eps = state.eps;
  writeHash();
  runAttack();
}

$('eps').addEventListener('input', (e) => setEps(Number(e.target.value), { fromSlider: true }));

$('target').addEventListener('change', (e) => {
  state.target = e.target.value === '' ? null : Number(e.target.value);
  if (state.pixels) setImage(state.pixels, { trueLabel: state.trueLabel, key: state.imageKey });
});

$('gain').addEventListener('change', (e) => {
  state.gain = e.target.value;
  runAttack();
});

const chart = new SweepChart($('sweep'), { max: EPS_MAX, onPick: (eps) => setEps(Math.round(eps / 0.005) * 0.005) });

function showSweep() {
  const s = state.sweep;
  const start = s.predicted[0];
  const target = s.target;
  const changed = (c) => {
    if (target === null) return c !== start ? 'fooled' : null;
    if (start === target) return null;
    return c === target ? 'fooled' : c !== start ? 'other' : null;
  };
  chart.show(s, { changed, classes: state.model.classes });

  const first = s.predicted.findIndex((c) => changed(c) === 'fooled');
  const caption = $('sweep-text');
  const line = target !== null ? `Line: probability of the target ${quoted(target)}.` : `Line: probability of ${quoted(start)}.`;
  if (first < 0) {
    caption.textContent = `No ε up to ${EPS_MAX} ${target !== null ? `turns this ${className(start)} into ${quoted(target)}` : `changes the prediction ${quoted(start)}`}. ${line}`;
  } else {
    const eps = s.eps[first];
    caption.replaceChildren(
      `${target !== null ? `Becomes ${quoted(target)}` : `Fooled (shaded)`} from `,
      Object.assign(document.createElement('button'), {
        type: 'button',
        className: 'link',
        textContent: `ε = ${fmtEps(eps)}`,
        title: 'Set the slider to this ε',
        onclick: () => setEps(eps),
      }),
      ` (${levels(eps)}) on, first as ${quoted(s.predicted[first])}. ${line}`,
    );
  }
  $('sweep').setAttribute('aria-label', `Chart: ${caption.textContent}`);
  caption.dataset.for = state.imageKey;
  caption.dataset.target = target ?? '';
}

// --- robustness of the model, measured here on the shipped test digits -------------------------

const robustnessChart = new RobustnessChart($('robustness'), { max: EPS_MAX });
let robustnessRun = 0;

/** FGSM error against ε over all test digits, in the worker, between the reader's own requests. */
async function runRobustness() {
  const run = ++robustnessRun;
  const digits = state.digits;
  $('live').hidden = !digits;
  if (!digits) return;
  const metrics = state.model.card?.metrics;
  // PyTorch's figures for these same digits, when the model's card has them.
  const reference = metrics?.test_digits?.count === digits.count ? metrics.test_digits : null;
  const cardEps = Object.keys(metrics?.fgsm_error ?? {}).map(Number).filter((e) => e > 0 && e <= EPS_MAX);
  const grid = Array.from({ length: 11 }, (_, i) => (i * EPS_MAX) / 10);
  const epsilons = [...new Set([...grid, ...cardEps].map((e) => Math.round(e * 1000) / 1000))].sort((a, b) => a - b);

  $('live-title').textContent = `Measured here, in your browser, on the ${digits.count} shipped test digits`;
  const caveat = state.model.custom ? ' These digits are MNIST’s: the figures mean something only if your model reads MNIST digits as 0–9.' : '';
  $('live-figures').replaceChildren();
  delete $('live').dataset.state;
  robustnessChart.show(null);
  const started = performance.now();
  try {
    const r = await measureRobustness((op, args, options) => client.call(op, args, options), digits, epsilons, {
      onProgress: (partial) => {
        if (run !== robustnessRun) return;
        $('live-text').textContent = `Attacking every digit at ${epsilons.length} values of ε… ${partial.done} of ${partial.count}`;
        robustnessChart.show({ eps: epsilons, error: partial.error });
      },
      cancelled: () => run !== robustnessRun,
    });
    if (!r) return;
    const seconds = (performance.now() - started) / 1000;
    const rows = [['Accuracy on clean digits', r.accuracy, reference?.clean_accuracy]];
    for (const e of cardEps) rows.push([`FGSM error at ε = ${e}`, r.error[epsilons.indexOf(e)], reference?.fgsm_error?.[String(e)]]);
    $('live-figures').replaceChildren(figuresTable(rows, reference ? 'PyTorch' : null));
    robustnessChart.show(
      { eps: epsilons, error: r.error },
      Object.entries(reference?.fgsm_error ?? {}).map(([e, error]) => ({ eps: Number(e), error })),
    );
    $('live-text').textContent =
      `Line: share of the ${r.count} digits misread after FGSM at each ε (y = the model’s own prediction), ` +
      `${epsilons.length * r.count} attacks in ${seconds.toFixed(1)} s.${reference ? ' Rings: PyTorch on the same digits.' : ''}${caveat}`;
    $('live').dataset.state = 'done';
  } catch (e) {
    if (run === robustnessRun) $('live-text').textContent = `Could not measure: ${e.message}`;
  }
}

/** A table of [name, measured here, reference or undefined] rows, as percentages. */
function figuresTable(rows, referenceName) {
  const row = (cells, header = false) => {
    const tr = document.createElement('tr');
    cells.forEach((cell, i) => {
      const td = document.createElement(header || i === 0 ? 'th' : 'td');
      if (header || i === 0) td.scope = header ? 'col' : 'row';
      td.textContent = typeof cell === 'number' ? percent(cell) : (cell ?? '');
      if (typeof cell === 'number') td.dataset.value = String(cell);
      tr.append(td);
    });
    return tr;
  };
  const head = document.createElement('thead');
  head.append(row(['', 'here', ...(referenceName ? [referenceName] : [])], true));
  const body = document.createElement('tbody');
  for (const [name, here, reference] of rows) body.append(row([name, here, ...(referenceName ? [reference] : [])]));
  const fragment = document.createDocumentFragment();
  fragment.append(head, body);
  return fragment;
}

// --- the address bar: #digit=12&eps=0.25&target=3 makes a view shareable ------------------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const digit = Number(p.get('digit'));
  if (Number.isInteger(digit) && digit >= 1) state.index = digit - 1;
  const eps = Number(p.get('eps'));
  if (p.has('eps') && Number.isFinite(eps)) state.eps = Math.min(EPS_MAX, Math.max(0, eps));
  const target = p.get('target');
  if (target !== null && /^\d+$/.test(target)) state.target = Number(target);
  if (p.get('draw') !== null) state.source = 'draw';
  $('eps').value = String(state.eps);
  $('eps-value').textContent = `${fmtEps(state.eps)} (${levels(state.eps)})`;
}

function writeHash() {
  if (!state.ready) return;
  const p = new URLSearchParams();
  if (state.source === 'test') p.set('digit', String(state.index + 1));
  else p.set('draw', '');
  p.set('eps', String(state.eps));
  if (state.target !== null) p.set('target', String(state.target));
  history.replaceState(null, '', `#${p}`.replace('draw=&', 'draw&').replace(/draw=$/, 'draw'));
}

start();
