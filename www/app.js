// The page: wires the controls to the worker (worker.js, through worker-client.js) and shows what
// comes back. All model work, and the decoding of pictures, happens in the worker; this thread
// only draws and formats.
import { WorkerClient, STALE } from './worker-client.js';
import { DrawPad } from './draw-pad.js';
import { fetchBytes, fetchJson, fetchBlob, TestDigits } from './model-files.js';
import { renderBars, percent } from './prob-bars.js';
import { SweepChart } from './sweep-chart.js';
import { measureRobustness } from './robustness.js';
import { RobustnessChart } from './robustness-chart.js';
import { MODELS, kindOf } from './models.js';
import { TargetPicker } from './target-picker.js';
import { watchPictureSources, drawCrop, renderSamples } from './photo-input.js';

const $ = (id) => document.getElementById(id);

/**
 * ε on each kind of page. Digits: 0 to 0.5 in steps of 0.005, as in the paper's MNIST figures.
 * Photos: whole grey levels, 0 to 16/255 (ImageNet attacks are quoted in /255), which also keeps
 * x′ on the 8-bit grid of the photo, so saving it as a PNG loses nothing.
 */
const SCALES = {
  digits: {
    max: 0.5,
    slider: { max: 0.5, step: 0.005 },
    toSlider: (eps) => eps,
    fromSlider: (v) => Math.round(Math.min(0.5, Math.max(0, v)) * 200) / 200, // the slider's steps of 0.005
    key: (eps) => eps.toFixed(3),
    full: (eps) => `${eps.toFixed(3)} (${(eps * 255).toFixed(1)}/255)`,
    pixels: (eps) => `${eps.toFixed(3)} × 255 = ${(eps * 255).toFixed(1)} grey levels`,
    grid: Array.from({ length: 101 }, (_, i) => (i * 0.5) / 100),
    chunk: 101,
    ticks: undefined,
    gains: [['fit', 'full range'], ['1', '×1 (true)'], ['2', '×2'], ['5', '×5'], ['10', '×10']],
  },
  photo: {
    max: 16 / 255,
    slider: { max: 16, step: 1 },
    toSlider: (eps) => Math.round(eps * 255),
    fromSlider: (v) => Math.round(Math.min(16, Math.max(0, v))) / 255,
    key: (eps) => `${Math.round(eps * 255)}/255`,
    full: (eps) => `${Math.round(eps * 255)}/255 = ${eps.toFixed(4)}`,
    pixels: (eps) => `${Math.round(eps * 255)}/255 = ${eps.toFixed(4)}: ${Math.round(eps * 255)} of 255 grey levels`,
    grid: Array.from({ length: 17 }, (_, i) => i / 255),
    chunk: 3, // forward passes per request, so that the slider is answered in between
    ticks: [0, 4, 8, 12, 16].map((v) => ({ value: v / 255, label: v ? `${v}/255` : '0' })),
    gains: [['fit', 'full range'], ['1', '×1 (true)'], ['5', '×5'], ['10', '×10'], ['25', '×25'], ['50', '×50']],
  },
};

const params = new URLSearchParams(location.search);
/** ?engine=simd forces the SIMD128 build (to compare it with the relaxed-SIMD one). */
const PREFER_ENGINE = ['simd', 'relaxed'].includes(params.get('engine')) ? params.get('engine') : undefined;

const client = new WorkerClient(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
// Only the newest request of each kind runs: dragging the slider or drawing never queues old work.
const attackLane = client.lane();
const sweepLane = client.lane();
const centreLane = client.lane();
const searchLane = client.lane();
const decodeLane = client.lane();

const state = {
  /** The engine build in use: {name, file, bytes, ms}. */
  engine: null,
  /** A promise of it, started with the page. */
  engineReady: null,
  ready: false,
  /**
   * The model in use: {key, name, title, kind, classes, card, custom, fileName, size, info,
   * timing: {bytes, downloadMs, prepareMs}, digits, folder}.
   */
  model: null,
  /** Each built-in model once loaded, by name (the worker keeps them prepared). */
  loaded: new Map(),
  /** The reader's own model, once loaded. */
  customModel: null,
  /** The name of the shipped model being fetched or prepared, if any. */
  loading: null,
  lastBuiltin: MODELS[0].name,
  // Digits.
  digits: null,
  index: 0,
  source: 'test', // 'test' | 'draw'
  drawings: 0,
  // Photos: {key, file, name, sample, decoded, shape} for the photo in use.
  photo: null,
  photos: 0,
  /** The image under attack (CHW floats in [0, 1]) and what it is. */
  pixels: null,
  imageKey: '',
  trueLabel: null,
  eps: { digits: 0.25, photo: 4 / 255 },
  target: null, // null = untargeted
  gain: 'fit',
  sweep: null,
  /** What the address asked for, applied when a model of its kind is ready. */
  pending: {},
  /** Latest timings measured in the worker for the model in use. */
  speed: { gradientMs: null, forwardMs: null },
};

const kind = () => state.model?.kind ?? 'digits';
const scale = () => SCALES[kind()];

// --- status and errors -----------------------------------------------------------------------------

let statusTicker = 0;

/**
 * The line under the model picker. `progress` is a fraction, `'busy'` for an indeterminate bar, or
 * null for none. `since` (a performance.now() time) appends the seconds elapsed, ticking.
 */
function setStatus(kindOfState, text, progress = null, { phase = '', since = null } = {}) {
  clearInterval(statusTicker);
  const status = $('status');
  status.dataset.state = kindOfState;
  status.dataset.phase = phase;
  const bar = $('status-progress');
  bar.hidden = progress === null;
  if (progress === 'busy') bar.removeAttribute('value');
  else if (progress !== null) bar.value = progress;
  const show = () => ($('status-text').textContent = since === null ? text : `${text} ${seconds(performance.now() - since)}`);
  show();
  if (since !== null) statusTicker = setInterval(show, 100);
}

/** Shows a message in the page's alert, or in another one (`model-alert`, `photo-alert`). */
function showAlert(text, where = 'alert') {
  $(`${where}-text`).textContent = text;
  $(where).hidden = false;
  $(where).scrollIntoView({ block: 'nearest' });
}

function hideAlerts() {
  for (const id of ['alert', 'model-alert', 'photo-alert']) $(id).hidden = true;
}

for (const id of ['alert', 'model-alert', 'photo-alert']) $(`${id}-close`).addEventListener('click', () => ($(id).hidden = true));

/** An error the user should see: in an alert, never as an uncaught exception. */
function report(error, context = '', where = 'alert') {
  const message = error instanceof Error ? error.message : String(error);
  showAlert(context ? `${context}: ${message}` : message, where);
}

const CONTROLS = ['prev', 'next', 'random', 'find-fooled', 'eps', 'gain', 'model-file', 'builtin', 'tab-test', 'tab-draw', 'clear', 'photo-file'];
function setEnabled(on) {
  for (const id of CONTROLS) $(id).disabled = !on;
  for (const button of document.querySelectorAll('#samples button, #target-suggest button')) button.disabled = !on;
  picker.disabled = !on;
  if (on && state.model?.kind === 'digits' && !state.digits) $('tab-test').disabled = true;
}

// --- formatting --------------------------------------------------------------------------------

const fmtEps = (eps) => scale().key(eps);
const levels = (v) => `${(v * 255).toFixed(1)}/255`;
const className = (c) => state.model?.classes[c] ?? String(c);
const quoted = (c) => `“${className(c)}”`;

function bytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} kB`;
}

function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
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

/** A class name as a file-name part: "giant panda, panda" → "giant-panda". */
const slug = (name) => name.split(',')[0].trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'class';

// --- the model picker and loading ---------------------------------------------------------------

/** Fills the picker: the shipped models, one named in the address, and the reader's own. */
function fillPicker(extraName = null) {
  const select = $('model-select');
  const options = MODELS.map((m) => new Option(m.title, m.name));
  if (extraName && !MODELS.some((m) => m.name === extraName)) options.push(new Option(extraName, extraName));
  if (state.customModel) options.push(new Option(`Yours: ${state.customModel.fileName}`, 'custom'));
  select.replaceChildren(...options);
}

$('model-select').addEventListener('change', (e) => {
  const value = e.target.value;
  if (value === 'custom' && state.customModel) useCustom();
  else chooseModel(value);
});

async function start() {
  readHash();
  const requested = params.get('model');
  const name = requested && /^[\w-]+$/.test(requested) ? requested : MODELS[0].name;
  fillPicker(name);
  setEnabled(false);
  if (location.protocol === 'file:') {
    setStatus('error', 'This page must be served by a web server: browsers do not load modules or WebAssembly from file:// pages.');
    return;
  }
  state.engineReady = quiet(
    client.call('init', { prefer: PREFER_ENGINE }, { onProgress: (p) => ((loading.engine = p), showDownload()) }).then((info) => (state.engine = info)),
  );
  await chooseModel(name);
}

/** Download progress: of the engine (first load only), then of the model. */
const loading = { engine: { loaded: 0, total: 0 }, model: { loaded: 0, total: 0 }, title: '' };
function showDownload() {
  const { loaded, total } = state.engine ? loading.model : loading.engine;
  const what = state.engine ? loading.title : 'the WebAssembly engine';
  const of = total ? ` of ${bytes(total)}` : '';
  setStatus('loading', `Downloading ${what}… ${bytes(loaded)}${of}`, total ? Math.min(1, loaded / total) : null, { phase: 'download' });
}

let modelRun = 0;
let modelDownload = null; // the AbortController of the model download under way

/** Switches to a shipped model: fetched and prepared the first time, instant after that. */
async function chooseModel(name) {
  const run = ++modelRun;
  modelDownload?.abort();
  const entry = MODELS.find((m) => m.name === name) ?? { name, folder: `models/${name}/`, kind: null, title: name };
  const previous = state.model;
  $('model-select').value = name;
  stopBackgroundWork();
  setEnabled(false);
  state.ready = false;
  const key = `builtin:${name}`;
  state.loading = name;
  try {
    let model = state.loaded.get(name);
    if (!model) {
      loading.title = entry.title.split(' · ')[1] ?? entry.title;
      loading.model = { loaded: 0, total: 0 };
      setStatus('loading', `Loading ${loading.title}…`, null, { phase: 'download' });
      const card = await fetchJson(`${entry.folder}model.json`);
      if (run !== modelRun) return;
      const controller = (modelDownload = new AbortController());
      const fileName = card.file ?? 'model.onnx';
      // The worker downloads and prepares the model: its 19 MB never pass through this thread.
      const url = new URL(`${entry.folder}${fileName}`, location.href).href;
      const onProgress = (p) => {
        if (run !== modelRun) return;
        if (p.phase === 'prepare') {
          setStatus('loading', `Preparing ${loading.title} (parsing and optimising ${bytes(p.bytes)} of ONNX)…`, 'busy', { phase: 'prepare', since: performance.now() });
        } else {
          loading.model = p;
          showDownload();
        }
      };
      await state.engineReady;
      if (run !== modelRun) return;
      const info = await client.call('load', { key, url }, { onProgress, signal: controller.signal });
      const digits = card.test_digits
        ? new TestDigits(await fetchBytes(`${entry.folder}${card.test_digits.file}`), card.test_digits.count)
        : null;
      model = modelRecord({
        key,
        name: card.name ?? name,
        pickName: name,
        title: loading.title,
        card,
        info,
        custom: false,
        fileName,
        folder: entry.folder,
        timing: { bytes: info.bytes, downloadMs: info.downloadMs, prepareMs: info.ms },
        digits,
        kind: entry.kind ?? kindOf(info.inputShape),
      });
      state.loaded.set(name, model);
      if (run !== modelRun) return; // stays prepared in the worker for when it is picked again
    }
    state.lastBuiltin = name;
    state.loading = null;
    setModelParam(name);
    useModel(model);
  } catch (e) {
    if (run !== modelRun || e.name === 'AbortError') return;
    state.loading = null;
    waitingPicture = null;
    if (previous) {
      report(e, `Could not load ${entry.title}; the page keeps using ${previous.name}`, 'model-alert');
      $('model-select').value = previous.custom ? 'custom' : previous.pickName;
      useModel(previous);
    } else {
      setStatus('error', 'The demo could not start.');
      report(e, 'The demo could not start');
    }
  }
}

/** Everything the page keeps about a loaded model. */
function modelRecord({ card, info, fileName, ...rest }) {
  const k = info.numClasses;
  const classes =
    Array.isArray(card?.classes) && card.classes.length === k ? card.classes.map(String) : Array.from({ length: k }, (_, i) => String(i));
  return { ...rest, card, info, fileName, classes, name: rest.name ?? card?.name ?? fileName };
}

function setModelParam(name) {
  const url = new URL(location.href);
  if (name === MODELS[0].name) url.searchParams.delete('model');
  else url.searchParams.set('model', name);
  history.replaceState(null, '', url);
}

/** Stops work that belongs to the model being left: the robustness run, pending sweeps. */
function stopBackgroundWork() {
  robustnessRun++;
  sweepRun++;
}

/** Makes a loaded model the page's model and shows the right input and image for it. */
function useModel(model) {
  const kindChanged = state.model?.kind !== model.kind;
  state.model = model;
  state.speed = { gradientMs: null, forwardMs: null };
  document.body.dataset.kind = model.kind;
  for (const el of document.querySelectorAll('[data-only]')) el.hidden = el.dataset.only !== model.kind;
  $('input-title-text').textContent = model.kind === 'digits' ? 'Choose a digit' : 'Choose a photo';

  // The target: kept when the model has that class (as when switching back), else from the address.
  const pending = state.pending[model.kind] ?? {};
  let target = kindChanged ? (pending.target ?? null) : state.target;
  if (target !== null && !(target >= 0 && target < model.classes.length)) target = null;
  state.target = target;
  picker.classes = model.classes;
  picker.value = target;
  if (pending.eps !== undefined) state.eps[model.kind] = pending.eps;
  configureEps();
  configureGain();
  renderModelCard();
  $('builtin').hidden = !model.custom;
  $('live').hidden = true;

  if (model.kind === 'digits') state.digits = model.digits ?? state.loaded.get('mnist')?.digits ?? null;
  state.ready = true;
  setEnabled(true);
  setStatus('ready', readyText(), null, { phase: 'ready' });
  const status = $('status');
  status.dataset.model = model.key;
  status.dataset.downloadMs = String(Math.round(model.timing.downloadMs ?? 0));
  status.dataset.prepareMs = String(Math.round(model.timing.prepareMs ?? 0));
  status.dataset.engine = state.engine?.name ?? '';

  if (model.kind === 'digits') {
    const source = pending.source ?? state.source;
    if (pending.digit !== undefined) state.index = pending.digit;
    selectTab(state.digits && source === 'test' ? 'test' : 'draw', { focus: false });
    runRobustness();
  } else {
    showSamples();
    const photo = state.photo;
    const shape = inputKey(model);
    const brought = waitingPicture;
    waitingPicture = null;
    if (brought) usePicture(brought.file, brought.meta);
    else if (pending.sample !== undefined && samples().list[pending.sample]) loadSample(pending.sample);
    else if (photo && photo.shape === shape) showPhoto(photo);
    else if (photo) usePicture(photo.file, photo.meta);
    else if (samples().list.length) loadSample(0);
    else clearResults('Pick a photo (or drop one on the page) to attack it.');
  }
  delete state.pending[model.kind];
}

function readyText() {
  const m = state.model;
  const parts = [];
  if (m.custom) parts.push(`Ready: your model ${m.name}, prepared in ${seconds(m.timing.prepareMs)}`);
  else if (m.timing.downloadMs != null) {
    parts.push(`Ready: ${m.name}, downloaded (${bytes(m.timing.bytes)}) in ${seconds(m.timing.downloadMs)}, prepared in ${seconds(m.timing.prepareMs)}`);
  }
  if (state.engine) parts.push(`engine: ${state.engine.name}, ${bytes(state.engine.bytes)}`);
  return `${parts.join(' · ')}.`;
}

// --- the reader's own model --------------------------------------------------------------------

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
  await loadCustom(onnxFile, card);
});

$('builtin').addEventListener('click', () => chooseModel(state.lastBuiltin));

async function loadCustom(file, card) {
  const run = ++modelRun;
  state.loading = null;
  modelDownload?.abort();
  const previous = state.model;
  stopBackgroundWork();
  setEnabled(false);
  state.ready = false;
  setStatus('loading', `Preparing ${file.name}…`, 'busy', { phase: 'prepare', since: performance.now() });
  try {
    // The worker reads the file itself.
    const info = await client.call('load', { key: 'custom', file });
    if (run !== modelRun) return;
    hideAlerts();
    state.customModel = modelRecord({
      key: 'custom',
      name: card?.name,
      card,
      info,
      custom: true,
      fileName: file.name,
      timing: { bytes: info.bytes, prepareMs: info.ms },
      kind: kindOf(info.inputShape),
    });
    fillPicker(state.lastBuiltin);
    $('model-select').value = 'custom';
    useModel(state.customModel);
  } catch (e) {
    if (run !== modelRun) return;
    const message = e instanceof Error ? e.message : String(e);
    showAlert(`Could not use ${file.name}: ${message.replace(/\.?$/, '.')} The page keeps using ${previous.name}.`, 'model-alert');
    useModel(previous);
  }
}

function useCustom() {
  ++modelRun;
  state.loading = null;
  modelDownload?.abort();
  stopBackgroundWork();
  useModel(state.customModel);
}

function renderModelCard() {
  const { card, custom, fileName, timing, info, classes, name } = state.model;
  const rows = [];
  rows.push(['Model', custom ? `${name} (yours${card ? '' : `, ${fileName}`})` : name]);
  if (card?.architecture) rows.push(['Layers', card.architecture, 'architecture']);
  rows.push(['Size', `${bytes(timing.bytes)}${card?.parameters ? `, ${card.parameters.toLocaleString('en')} parameters` : ''}`]);
  rows.push(['Input → output', `[${info.inputShape.join(', ')}] → ${classes.length.toLocaleString('en')} classes`]);
  if (card?.dataset) rows.push(['Trained on', card.dataset]);
  const licence = typeof card?.licence === 'string' ? card.licence : (card?.licence?.model ?? card?.licence?.weights);
  if (licence) rows.push(['Licence', licence]);
  $('model-card').replaceChildren(...rows.map(([term, detail, className]) => pair(term, detail, className)));
  // A long architecture: its name, and the rest behind "details".
  const layers = $('model-card').querySelector('.architecture');
  if (layers && card.architecture.length > 120 && card.architecture.includes(':')) {
    const [name, ...rest] = card.architecture.split(':');
    const more = document.createElement('details');
    more.append(Object.assign(document.createElement('summary'), { textContent: name }), rest.join(':').trim());
    layers.replaceChildren(more);
  }
  // A long licence: up to its first parenthesis, with the licence file linked when it names one.
  const terms = [...$('model-card').querySelectorAll('dt')].find((dt) => dt.textContent === 'Licence')?.nextElementSibling;
  if (terms && licence.length > 100) {
    const file = licence.match(/\b(LICENSE[\w.-]*)/)?.[1];
    terms.textContent = licence.split(' (')[0];
    if (file && state.model.folder) {
      terms.append(' (', Object.assign(document.createElement('a'), { href: `${state.model.folder}${file}`, textContent: file }), ')');
    }
  }
  renderMetrics();
  renderSpeed();
}

/** The figures measured when the model was made, if its model.json has them. */
function renderMetrics() {
  const metrics = state.model.card?.metrics;
  const box = $('measured');
  const figures = document.createElement('dl');
  if (typeof metrics?.clean_accuracy === 'number') figures.append(pair('Accuracy on clean images', percent(metrics.clean_accuracy)));
  for (const [eps, error] of Object.entries(metrics?.fgsm_error ?? {})) {
    if (typeof error === 'number') figures.append(pair(`FGSM error at ε = ${eps}`, percent(error)));
  }
  box.hidden = !figures.childElementCount;
  if (box.hidden) return;
  const unit = state.model.kind === 'digits' ? 'digits' : 'images';
  const n = metrics.heldout_count ? `${metrics.heldout_count.toLocaleString('en')} held-out ${unit}` : `held-out ${unit}`;
  const title = document.createElement('h3');
  title.textContent = `Measured on ${n}`;
  const note = document.createElement('p');
  note.textContent =
    `FGSM error: share of ${unit} misread after one FGSM step with y = the model’s own prediction. ` +
    `Computed ${metrics.computed_by ? `with ${metrics.computed_by.split(/[ +(]/).slice(0, 2).join(' ')} ` : ''}when the model was made.`;
  box.replaceChildren(title, figures, note);
}

/** How fast it all is here: the engine, the model's download and preparation, one attack. */
function renderSpeed() {
  const { timing } = state.model;
  const rows = [];
  if (state.engine) rows.push(['Engine', `${state.engine.name} (${bytes(state.engine.bytes)}, loaded in ${seconds(state.engine.ms)})`]);
  if (timing.downloadMs != null) rows.push(['Model download', `${bytes(timing.bytes)} in ${seconds(timing.downloadMs)}`]);
  rows.push(['Preparing the model', `${seconds(timing.prepareMs)} (parse and optimise)`]);
  const { gradientMs, forwardMs } = state.speed;
  if (gradientMs != null) rows.push(['FGSM on a new image', `${seconds(gradientMs)} (forward and backward pass for the gradient, forward pass of x′)`]);
  if (forwardMs != null) rows.push(['Another ε on the same image', `${seconds(forwardMs)} (the gradient is reused: one forward pass)`]);
  // For comparison: native onnxruntime on the machine that made the model, if model.json says.
  const made = state.model.card?.metrics?.timings;
  if (made?.forward_ms && made?.forward_and_gradient_ms) {
    const engine = String(made.engine ?? 'onnxruntime').split(',').map((p) => p.trim()).filter((p, i) => i === 0 || /thread/.test(p)).join(', ');
    rows.push(['Native, when the model was made', `${engine}: forward ${seconds(made.forward_ms)}, forward and gradient ${seconds(made.forward_and_gradient_ms)}`]);
  }
  const title = document.createElement('h3');
  title.textContent = 'Speed here, in your browser';
  $('speed').replaceChildren(title, ...rows.map(([t, d]) => pair(t, d)));
  $('speed').hidden = false;
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

// --- choosing a digit --------------------------------------------------------------------------

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
  const model = state.model.key;
  button.disabled = true;
  try {
    for (let offset = 1; offset < digits.count; offset += batch) {
      const count = Math.min(batch, digits.count - offset);
      const images = new Float32Array(count * size);
      for (let k = 0; k < count; k++) images.set(digits.pixels((from + offset + k) % digits.count), k * size);
      const eps = state.eps.digits;
      const args = { model, images, epsilons: [eps], label: state.target, targeted: state.target !== null };
      const r = await searchLane('attackMany', args, { transfer: [images.buffer] });
      if (r === STALE || model !== state.model.key) return;
      for (let k = 0; k < count; k++) {
        const fooled = state.target === null ? r.adversarial[k] !== r.clean[k] : r.adversarial[k] === state.target && r.clean[k] !== state.target;
        if (fooled) return showTestDigit(from + offset + k);
      }
    }
    showAlert(`No other test digit is ${state.target === null ? 'fooled' : `turned into ${quoted(state.target)}`} at ε = ${fmtEps(state.eps.digits)}. Try a larger ε.`);
  } catch (e) {
    report(e, 'Searching the test digits failed');
  } finally {
    button.disabled = !state.ready;
  }
});

const pad = new DrawPad($('draw-pad'), {
  onChange: () => state.model?.kind === 'digits' && useDrawing(),
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
  const latest = () => state.model?.kind === 'digits' && state.source === 'draw' && $('draw-pad').dataset.drawing === key;
  centreLane('centre', { rgba, width: pad.width, height: pad.height }, { transfer: [rgba.buffer] }).then(
    (r) => r !== STALE && latest() && setImage(r.pixels, { trueLabel: null, key }),
    (e) => latest() && report(e, 'Could not read the drawing'),
  );
}

$('clear').addEventListener('click', () => {
  pad.clear();
  useDrawing();
});

// --- choosing a photo --------------------------------------------------------------------------

/** The sample photos for the model in use (or, for one's own photo model, the shipped ones). */
function samples() {
  const m = state.model;
  if (Array.isArray(m?.card?.samples) && m.folder) return { list: m.card.samples, folder: m.folder };
  for (const other of state.loaded.values()) {
    if (Array.isArray(other.card?.samples)) return { list: other.card.samples, folder: other.folder };
  }
  return { list: [], folder: '' };
}

const sampleUrl = (folder, file) => `${folder}${file.includes('/') ? '' : 'samples/'}${file}`;

function showSamples() {
  const { list, folder } = samples();
  renderSamples($('samples'), list, (file) => sampleUrl(folder, file), (i) => loadSample(i));
  $('samples-title').hidden = !list.length;
  markSample();
}

function markSample() {
  for (const b of document.querySelectorAll('#samples button')) {
    b.setAttribute('aria-pressed', String(state.photo?.sample === Number(b.dataset.index)));
  }
}

let photoRun = 0;

async function loadSample(i) {
  const { list, folder } = samples();
  const sample = list[i];
  if (!sample) return;
  const run = ++photoRun;
  $('photo-busy').hidden = false;
  try {
    const blob = await fetchBlob(sampleUrl(folder, sample.file));
    if (run !== photoRun) return;
    await usePicture(blob, { name: sample.title ?? sample.file, sample: i }, run);
  } catch (e) {
    if (run === photoRun) {
      $('photo-busy').hidden = true;
      report(e, `Could not load the sample ${sample.title ?? sample.file}`, 'photo-alert');
    }
  }
}

/**
 * Decodes a picture in the worker (crop and scale to the model's input) and attacks it.
 * `meta`: {name, sample?}.
 */
async function usePicture(file, meta, run = ++photoRun) {
  const m = state.model;
  const [, channels, height, width] = m.info.inputShape;
  $('photo-busy').hidden = false;
  try {
    const r = await decodeLane('decode', { file, width, height, channels, cropFraction: cropFraction(m) });
    if (r === STALE || run !== photoRun || state.model !== m) {
      if (r !== STALE) r.preview.close();
      return;
    }
    $('photo-alert').hidden = true;
    state.photo?.decoded.preview.close();
    state.photo = {
      key: meta.sample !== undefined ? `sample:${meta.sample}` : `photo:${++state.photos}`,
      file,
      meta,
      sample: meta.sample ?? null,
      decoded: r,
      shape: inputKey(m),
    };
    showPhoto(state.photo);
  } catch (e) {
    if (run !== photoRun) return;
    const message = e instanceof Error ? e.message : String(e);
    const keeps = state.photo ? ' The page keeps the previous photo.' : '';
    showAlert(`Could not use ${meta.name}: ${message.replace(/\.?$/, '.')}${keeps}`, 'photo-alert');
  } finally {
    if (run === photoRun) $('photo-busy').hidden = true;
  }
}

/**
 * How much of the picture the model's training images kept: model.json's input.resize_short_side
 * (or its preprocess text, "resize so the short side is 256 px, then … centre 224x224 crop") gives
 * 224 / 256 = 0.875; without either, 1 (the largest centred crop).
 */
function cropFraction(model) {
  const input = model.card?.input ?? {};
  const [, , h, w] = model.info.inputShape;
  const short = Number(input.resize_short_side ?? String(input.preprocess ?? '').match(/short side (?:is |to )?(\d+)/)?.[1]);
  return short > 0 ? Math.min(1, Math.min(h, w) / short) : 1;
}

/** What a decoded photo depends on: the model's input shape and crop. */
const inputKey = (model) => `${model.info.inputShape.slice(1).join('×')}/${cropFraction(model)}`;

/** Shows the photo with its crop and caption, and attacks it. */
function showPhoto(photo) {
  const { decoded, meta, sample } = photo;
  const canvas = $('photo-source');
  drawCrop(canvas, decoded);
  const { source, crop, width, height } = decoded;
  const square = Math.abs(crop.width - crop.height) < 1 ? 'square' : 'rectangle';
  const whole = Math.abs(crop.width - source.width) < 1 && Math.abs(crop.height - source.height) < 1;
  const exact = source.width === width && source.height === height;
  canvas.setAttribute('aria-label', `${meta.name}, ${source.width} × ${source.height} pixels, with the centre ${square} the model sees outlined`);
  canvas.dataset.for = photo.key;
  const caption = $('photo-caption');
  const b = Object.assign(document.createElement('b'), { textContent: meta.name });
  const parts = [
    b,
    ` · ${source.width.toLocaleString('en')} × ${source.height.toLocaleString('en')} ${source.type.toUpperCase()}. `,
    exact
      ? `Already ${width} × ${height}: the model sees it as it is.`
      : whole
        ? `The model sees all of it, scaled to ${width} × ${height}.`
        : `The model sees the outlined centre ${square} at ${width} × ${height}${cropNote(state.model)}.`,
  ];
  const s = sample !== null ? samples().list[sample] : null;
  if (s) parts.push(' ', credit(s));
  caption.replaceChildren(...parts);
  markSample();
  showSuggestion(s);
  setImage(decoded.pixels, { trueLabel: null, key: photo.key });
}

function cropNote(model) {
  const f = cropFraction(model);
  if (f >= 1) return '';
  const [, , h, w] = model.info.inputShape;
  return ` (as in its training: short side scaled to ${Math.round(Math.min(h, w) / f)}, then the centre ${w} × ${h} kept)`;
}

/** "Photo: source (licence)", with the source as a link when it is one. */
function credit(sample) {
  const span = document.createElement('span');
  span.className = 'credit';
  const source = sample.source ?? '';
  const link = /^https?:\/\//.test(source);
  span.append('Photo: ');
  if (link) {
    const a = Object.assign(document.createElement('a'), { href: source, textContent: new URL(source).hostname, rel: 'noopener' });
    span.append(a);
  } else if (source) span.append(source);
  if (sample.licence) span.append(`${source ? ', ' : ''}${sample.licence}`);
  span.append('.');
  return span;
}

/** For a sample with a recorded targeted attack: a button that sets that target and ε. */
function showSuggestion(sample) {
  const box = $('target-suggest');
  const t = sample?.targeted;
  if (!t || !(t.target_index >= 0 && t.target_index < state.model.classes.length)) {
    box.hidden = true;
    return;
  }
  // The smallest ε that reached the target when the model was made (a list of whole ε/255).
  const reached = Array.isArray(t.eps_255_reached) ? t.eps_255_reached : [t.eps_255_reached];
  const first = Number(t.smallest_eps_255 ?? reached.find((e) => e > 0));
  if (!(first > 0)) {
    box.hidden = true;
    return;
  }
  const eps = Math.min(16, Math.round(first));
  const button = Object.assign(document.createElement('button'), {
    type: 'button',
    className: 'link',
    textContent: `make it a “${t.target_class ?? className(t.target_index)}” at ε = ${eps}/255`,
    onclick: () => {
      setTarget(t.target_index);
      setEps(eps / 255);
    },
  });
  box.replaceChildren('Try: ', button, ' (found when the model was made).');
  box.hidden = false;
}

/** A picture brought while no photo model is ready: used as soon as one is. */
let waitingPicture = null;

watchPictureSources({
  fileInput: $('photo-file'),
  overlay: $('drop-overlay'),
  accepting: () => MODELS.some((m) => m.kind === 'photo') || state.model?.kind === 'photo',
  onPicture: (file, meta) => {
    if (state.ready && state.model.kind === 'photo') return usePicture(file, meta);
    // Brought to the digits page, or while a model loads: switch to the photo classifier (unless
    // it is already on its way) and use the picture once it is ready.
    waitingPicture = { file, meta };
    const photoModel = MODELS.find((m) => m.kind === 'photo');
    if (photoModel && state.loading !== photoModel.name) chooseModel(photoModel.name);
  },
  onProblem: (message) => showAlert(message, state.model?.kind === 'photo' ? 'photo-alert' : 'alert'),
});

// --- the attack --------------------------------------------------------------------------------

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

function gain() {
  return state.gain === 'fit' ? 1 : 2 * Number(state.gain) * state.eps[kind()];
}

async function runAttack() {
  if (!state.ready || !state.pixels) return;
  const eps = state.eps[kind()];
  const about = { model: state.model, key: state.imageKey, eps, target: state.target, trueLabel: state.trueLabel };
  const args = { model: state.model.key, pixels: state.pixels, eps, label: state.target, targeted: state.target !== null, gain: gain() };
  try {
    const r = await attackLane('attack', args);
    // A result for an image or model that has since been replaced (or cleared) is not shown.
    if (r !== STALE && about.key === state.imageKey && about.model === state.model) showResult(r, about);
  } catch (e) {
    if (about.model === state.model) report(e, 'The attack failed');
  }
}

let sweepRun = 0;

/** The prediction at every ε of the slider's range, in chunks so that the slider is answered in between. */
async function runSweep() {
  if (!state.ready || !state.pixels) return;
  const run = ++sweepRun;
  const key = state.imageKey;
  const s = scale();
  const target = state.target;
  const acc = { eps: [], predicted: [], referenceProbs: [], reference: null, target, total: s.grid.length };
  try {
    for (let i = 0; i < s.grid.length; i += s.chunk) {
      const args = { model: state.model.key, pixels: state.pixels, eps: s.grid.slice(i, i + s.chunk), label: target, targeted: target !== null };
      const r = await sweepLane('sweep', args);
      if (r === STALE || run !== sweepRun || key !== state.imageKey) return;
      acc.eps.push(...r.eps);
      acc.predicted.push(...r.predicted);
      acc.referenceProbs.push(...r.referenceProbs);
      acc.reference = r.reference;
      state.sweep = acc;
      showSweep();
    }
  } catch (e) {
    if (run === sweepRun) report(e, 'The ε sweep failed');
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
  const what = kind() === 'digits' ? 'digit' : 'image';

  putImage($('cv-original'), r.images.original, r.width, r.height);
  putImage($('cv-perturbation'), r.images.perturbation, r.width, r.height);
  putImage($('cv-adversarial'), r.images.adversarial, r.width, r.height);
  $('original-title').textContent = about.key.startsWith('drawing') ? 'What the model sees, x' : 'Original x';
  $('original-pred').textContent = className(original);
  $('original-conf').textContent = percent(r.probs[original]);
  $('adversarial-pred').textContent = className(adversarial);
  $('adversarial-conf').textContent = percent(r.adversarialProbs[adversarial]);
  $('cv-original').setAttribute('aria-label', `Original ${what}, read as ${className(original)} (${percent(r.probs[original])})`);
  $('cv-adversarial').setAttribute('aria-label', `Adversarial ${what}, read as ${className(adversarial)} (${percent(r.adversarialProbs[adversarial])})`);
  $('cv-perturbation').setAttribute('aria-label', `Perturbation: each pixel moved by at most ${fmtEps(eps)}`);
  $('noise-legend').textContent =
    state.gain === 'fit'
      ? `Middle picture: ${kind() === 'photo' ? 'for each colour channel, bright = +ε, dark = −ε' : 'white = +ε, black = −ε'}, grey = unchanged (where the step would leave [0, 1], clipping cancels it).`
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
  verdict.dataset.reached = String(target !== null && adversarial === target && original !== target);

  // How long it took, in the worker.
  if (r.ms.gradient) state.speed.gradientMs = r.ms.fgsm;
  else state.speed.forwardMs = r.ms.fgsm;
  const passes = r.ms.gradient ? 'a forward and backward pass, then 2 forward passes' : '2 forward passes; the gradient of this image is reused';
  $('timing').textContent = `Computed in your browser in ${seconds(r.ms.total)} (${passes})${state.engine ? `, WebAssembly ${state.engine.name}` : ''}.`;
  renderSpeed();

  // Bars, with the classes that matter marked (by colour and by a word).
  const marks = (...pairs) => Object.fromEntries(pairs.filter(Boolean));
  const targetMark = target !== null && target !== original && target !== adversarial && [target, ['target', 'target']];
  renderBars($('bars-original'), r.probs, state.model.classes, {
    highlight: marks([original, ['original', '']], target !== original && targetMark),
  });
  renderBars($('bars-adversarial'), r.adversarialProbs, state.model.classes, {
    always: target !== null && target !== original ? [original, target] : [original],
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
  $('fact-eps').textContent = scale().pixels(eps);
  const clipped = r.linf < eps - 1e-6 ? ' (clipping to [0, 1] shortened every step)' : '';
  $('fact-linf').textContent = `${r.linf.toFixed(kind() === 'photo' ? 4 : 3)} = ${levels(r.linf)}${clipped}`;
  showPngCheck({ original, adversarial, rounded, r, eps, target });

  if (about.key.startsWith('drawing')) showDrawingReadout(original, adversarial, r, about);

  $('results').dataset.for = `${about.key}@${fmtEps(eps)}`;
  $('results').dataset.target = target ?? '';
  $('results').dataset.original = String(original);
  $('results').dataset.adversarial = String(adversarial);
  chart.eps = eps;
  robustnessChart.eps = eps;
}

/**
 * Whether x′ still does what it did once saved: a PNG stores 8 bits a channel, so x′ is rounded to
 * multiples of 1/255. The worker classified the rounded image too.
 */
function showPngCheck({ original, adversarial, rounded, r, eps, target }) {
  const fools = (c) => (target !== null ? c === target && original !== target : c !== original);
  const before = eps > 0 && fools(adversarial);
  const after = fools(rounded);
  const png = $('fact-png');
  const read = `read as ${className(rounded)} (${percent(r.roundedProbs[rounded])})`;
  png.textContent = before && after ? `still fools it: ${read} ✓ ` : before ? `${read}: the rounding undoes the attack ` : `${read} `;
  png.dataset.class = String(rounded);
  png.dataset.fools = String(before && after);
  const save = document.createElement('button');
  save.type = 'button';
  save.className = 'link';
  save.textContent = 'download x′';
  const name =
    kind() === 'digits'
      ? `adversarial-${className(original)}-to-${className(adversarial)}-eps${fmtEps(eps)}.png`
      : `adversarial-${slug(className(original))}-to-${slug(className(adversarial))}-eps${Math.round(eps * 255)}-255.png`;
  save.addEventListener('click', () => download($('cv-adversarial'), name));
  png.append(save);
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
  for (const id of ['original-conf', 'adversarial-conf', 'timing']) $(id).textContent = '';
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

function configureEps() {
  const s = scale();
  const input = $('eps');
  input.min = '0';
  input.max = String(s.slider.max);
  input.step = String(s.slider.step);
  input.value = String(s.toSlider(state.eps[kind()]));
  $('eps-value').textContent = s.full(state.eps[kind()]);
  chart.axis = { max: s.max, ticks: s.ticks };
  chart.eps = state.eps[kind()];
}

function configureGain() {
  const gains = scale().gains;
  if (!gains.some(([v]) => v === state.gain)) state.gain = 'fit';
  $('gain').replaceChildren(...gains.map(([value, text]) => new Option(text, value, false, value === state.gain)));
}

function setEps(eps, { fromSlider = false } = {}) {
  const s = scale();
  const value = s.fromSlider(s.toSlider(eps));
  state.eps[kind()] = value;
  if (!fromSlider) $('eps').value = String(s.toSlider(value));
  $('eps-value').textContent = s.full(value);
  chart.eps = value;
  robustnessChart.eps = value;
  writeHash();
  runAttack();
}

$('eps').addEventListener('input', (e) => setEps(scale().fromSlider(Number(e.target.value)), { fromSlider: true }));

const picker = new TargetPicker({
  input: $('target'),
  list: $('target-list'),
  clear: $('target-clear'),
  onChange: (value) => setTarget(value, { fromPicker: true }),
});

function setTarget(value, { fromPicker = false } = {}) {
  if (!fromPicker) picker.value = value;
  if (value === state.target) return;
  state.target = value;
  if (state.pixels) setImage(state.pixels, { trueLabel: state.trueLabel, key: state.imageKey });
}

$('gain').addEventListener('change', (e) => {
  state.gain = e.target.value;
  runAttack();
});

const chart = new SweepChart($('sweep'), { max: SCALES.digits.max, onPick: (eps) => setEps(eps) });

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

  const caption = $('sweep-text');
  const max = scale().max;
  if (s.eps.length < s.total) {
    caption.textContent = `Trying every ε from 0 to ${fmtEps(max)}… ${s.eps.length} of ${s.total}`;
    delete caption.dataset.for;
    return;
  }
  const first = s.predicted.findIndex((c) => changed(c) === 'fooled');
  const line = target !== null ? `Line: probability of the target ${quoted(target)}.` : `Line: probability of ${quoted(start)}.`;
  if (first < 0) {
    caption.textContent = `No ε up to ${fmtEps(max)} ${target !== null ? `turns this ${className(start)} into ${quoted(target)}` : `changes the prediction ${quoted(start)}`}. ${line}`;
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
      `${kind() === 'digits' ? ` (${levels(eps)})` : ''} on${target !== null ? '' : `, first as ${quoted(s.predicted[first])}`}. ${line}`,
    );
    caption.dataset.first = fmtEps(eps);
  }
  if (first < 0) delete caption.dataset.first;
  $('sweep').setAttribute('aria-label', `Chart: ${caption.textContent}`);
  caption.dataset.for = state.imageKey;
  caption.dataset.target = target ?? '';
}

// --- robustness of the model, measured here on the shipped test digits -------------------------

const robustnessChart = new RobustnessChart($('robustness'), { max: SCALES.digits.max });
let robustnessRun = 0;

/** FGSM error against ε over all test digits, in the worker, between the reader's own requests. */
async function runRobustness() {
  const run = ++robustnessRun;
  const digits = state.digits;
  const model = state.model;
  $('live').hidden = !digits || model.kind !== 'digits';
  if ($('live').hidden) return;
  const metrics = model.card?.metrics;
  // PyTorch's figures for these same digits, when the model's card has them.
  const reference = metrics?.test_digits?.count === digits.count ? metrics.test_digits : null;
  const max = SCALES.digits.max;
  const cardEps = Object.keys(metrics?.fgsm_error ?? {}).map(Number).filter((e) => e > 0 && e <= max);
  const grid = Array.from({ length: 11 }, (_, i) => (i * max) / 10);
  const epsilons = [...new Set([...grid, ...cardEps].map((e) => Math.round(e * 1000) / 1000))].sort((a, b) => a - b);

  $('live-title').textContent = `Measured here, in your browser, on the ${digits.count} shipped test digits`;
  const caveat = model.custom ? ' These digits are MNIST’s: the figures mean something only if your model reads MNIST digits as 0–9.' : '';
  $('live-figures').replaceChildren();
  delete $('live').dataset.state;
  robustnessChart.show(null);
  const started = performance.now();
  try {
    const call = (op, args, options) => client.call(op, { ...args, model: model.key }, options);
    const r = await measureRobustness(call, digits, epsilons, {
      onProgress: (partial) => {
        if (run !== robustnessRun) return;
        $('live-text').textContent = `Attacking every digit at ${epsilons.length} values of ε… ${partial.done} of ${partial.count}`;
        robustnessChart.show({ eps: epsilons, error: partial.error });
      },
      cancelled: () => run !== robustnessRun,
    });
    if (!r || run !== robustnessRun) return;
    const secs = (performance.now() - started) / 1000;
    const rows = [['Accuracy on clean digits', r.accuracy, reference?.clean_accuracy]];
    for (const e of cardEps) rows.push([`FGSM error at ε = ${e}`, r.error[epsilons.indexOf(e)], reference?.fgsm_error?.[String(e)]]);
    $('live-figures').replaceChildren(figuresTable(rows, reference ? 'PyTorch' : null));
    robustnessChart.show(
      { eps: epsilons, error: r.error },
      Object.entries(reference?.fgsm_error ?? {}).map(([e, error]) => ({ eps: Number(e), error })),
    );
    $('live-text').textContent =
      `Line: share of the ${r.count} digits misread after FGSM at each ε (y = the model’s own prediction), ` +
      `${epsilons.length * r.count} attacks in ${secs.toFixed(1)} s.${reference ? ' Rings: PyTorch on the same digits.' : ''}${caveat}`;
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

// --- the address: #digit=12&eps=0.25&target=3 or #sample=2&eps=4/255&target=368 ----------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const view = {};
  const target = p.get('target');
  if (target !== null && /^\d+$/.test(target)) view.target = Number(target);
  const eps = p.get('eps') ?? '';
  const photoEps = eps.match(/^(\d+)\/255$/);
  const sample = Number(p.get('sample'));
  if (p.has('sample') || photoEps) {
    if (Number.isInteger(sample) && sample >= 1) view.sample = sample - 1;
    if (photoEps) view.eps = SCALES.photo.fromSlider(Number(photoEps[1]));
    state.pending.photo = view;
  } else {
    const digit = Number(p.get('digit'));
    if (Number.isInteger(digit) && digit >= 1) view.digit = digit - 1;
    if (eps && Number.isFinite(Number(eps))) view.eps = SCALES.digits.fromSlider(Number(eps));
    if (p.get('draw') !== null) view.source = 'draw';
    state.pending.digits = view;
  }
}

function writeHash() {
  if (!state.ready) return;
  const parts = [];
  if (kind() === 'digits') {
    parts.push(state.source === 'test' ? `digit=${state.index + 1}` : 'draw');
    parts.push(`eps=${state.eps.digits}`);
  } else {
    if (state.photo?.sample != null) parts.push(`sample=${state.photo.sample + 1}`);
    parts.push(`eps=${Math.round(state.eps.photo * 255)}/255`);
  }
  if (state.target !== null) parts.push(`target=${state.target}`);
  history.replaceState(null, '', `${location.pathname}${location.search}#${parts.join('&')}`);
}

/** Marks a promise as handled now (it is awaited later), and returns it. */
function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

start();
