// Which model a widget uses: a shipped one by name, one by URL, or the reader's own file; loading
// it (through the page's shared engine) with progress, and switching between them.
import { MODELS, kindOf } from './models.js';
import { bytes, looksLikeOnnx } from './format.js';
import { readableError } from './status.js';
import { renderModelCard } from './model-card.js';
import { showSamples, showPhoto, usePicture, loadSample, loadPictureUrl, samples, sampleIndex } from './photo-panel.js';
import { selectTab } from './digit-input.js';
import { configureEps, configureGain, resolveTarget, showTargetChip } from './controls.js';
import { runRobustness } from './robustness.js';
import { clearResults } from './attack-view.js';
import { snapEps, parseEps } from './eps-scale.js';
import { sortModelFiles, parseLabels, classNames, blockedMessage, defaultNormalisation, normalisationOptions, describeBuild, NORMALISATIONS } from './own-model.js';

const NAME = /^[\w-]+$/;

/** Fills the model picker: the shipped models, one named in `model`, and the reader's own. */
export function fillPicker(v, extraName = null) {
  const options = MODELS.map((m) => new Option(m.title, m.name));
  if (extraName && !MODELS.some((m) => m.name === extraName)) options.push(new Option(extraName, extraName));
  if (v.state.customModel) options.push(new Option(`Yours: ${v.state.customModel.fileName}`, 'custom'));
  v.$('model-select').replaceChildren(...options);
}

/** Shows the engine's download, then the model's. */
export function showDownload(v) {
  const engineDone = !!v.state.engine;
  const { loaded, total } = engineDone ? v.loading.model : v.engine.progress;
  const what = engineDone ? v.loading.title : 'the WebAssembly engine';
  const of = total ? ` of ${bytes(total)}` : '';
  v.status.set('loading', `Downloading ${what}… ${bytes(loaded)}${of}`, total ? Math.min(1, loaded / total) : null, { phase: 'download' });
}

/**
 * Switches to a model: `spec` is a shipped model's name (its folder is models/<name>/ under the
 * assets) or the URL of an ONNX file. Fetched and prepared the first time, instant after that.
 */
export async function chooseModel(v, spec) {
  const token = v.tokens.begin('model');
  v.modelDownload?.abort();
  v.tokens.cancel('photo');
  const byName = NAME.test(spec);
  const entry = byName
    ? (MODELS.find((m) => m.name === spec) ?? { name: spec, folder: `models/${spec}/`, kind: null, title: spec })
    : { name: spec, folder: null, kind: null, title: spec.split('/').pop() };
  const previous = v.state.model;
  v.$('model-select').value = spec;
  stopBackgroundWork(v);
  v.setEnabled(false);
  v.state.ready = false;
  v.state.loading = spec;
  delete v.$('fgsm').dataset.loadingKind;
  if (previous && entry.kind && entry.kind !== previous.kind) {
    v.$('input-title-text').textContent = `Loading the ${entry.kind === 'photo' ? 'photo' : 'digit'} classifier…`;
    v.$('fgsm').dataset.loadingKind = entry.kind;
  }
  try {
    let model = v.state.loaded.get(spec);
    if (!model) {
      v.loading.title = entry.title.split(' · ')[1] ?? entry.title;
      v.loading.model = { loaded: 0, total: 0 };
      v.status.set('loading', `Loading ${v.loading.title}…`, null, { phase: 'download' });
      let url;
      let folder;
      let card;
      if (byName) {
        folder = new URL(entry.folder, v.assets).href;
        card = await v.engine.card(new URL('model.json', folder).href);
        url = new URL(card.file ?? 'model.onnx', folder).href;
      } else {
        url = new URL(spec, document.baseURI).href;
        folder = new URL('./', url).href;
        card = await v.engine.card(new URL('model.json', folder).href, { optional: true });
      }
      if (!token.current) return;
      const controller = (v.modelDownload = new AbortController());
      const onProgress = (p) => {
        if (!token.current) return;
        if (p.phase === 'prepare') {
          v.status.set('loading', `Preparing ${v.loading.title} (${p.format === 'nnef' ? 'reading' : 'parsing'} and optimising ${bytes(p.bytes)} of ${p.format === 'nnef' ? 'NNEF' : 'ONNX'})…`, 'busy', { phase: 'prepare', since: performance.now() });
        } else {
          v.loading.model = p;
          showDownload(v);
        }
      };
      // A shipped model picked by name may come as its NNEF file (beside its ONNX file, see
      // engine.js); a model given by its address comes from that file.
      const loaded = await v.engine.loadModel({ url, card, folder, preferNnef: byName }, { onProgress, signal: controller.signal });
      model = modelRecord({
        ...loaded,
        name: card?.name ?? entry.name,
        pickName: spec,
        title: v.loading.title,
        custom: false,
        fileName: url.split('/').pop(),
        folder,
        kind: entry.kind ?? loaded.kind,
      });
      v.state.loaded.set(spec, model);
      if (!token.current) {
        leaveModel(v, model); // the reader moved on while it loaded
        return;
      }
    }
    if (byName) v.state.lastBuiltin = spec;
    v.state.loading = null;
    useModel(v, model);
    if (previous && previous !== model) leaveModel(v, previous);
  } catch (e) {
    if (!token.current || e.name === 'AbortError') return;
    v.state.loading = null;
    v.waitingPicture = null;
    if (previous) {
      v.alerts.report(e, `Could not load ${entry.title}; the page keeps using ${previous.name}`, v.has('upload') ? 'model-alert' : 'alert');
      v.$('model-select').value = previous.custom ? 'custom' : previous.pickName;
      useModel(v, previous);
    } else {
      v.status.set('error', 'The demo could not start.');
      v.alerts.report(e, 'The demo could not start');
      v.showLayout(true);
    }
  }
}

/** Everything a widget keeps about a loaded model. */
export function modelRecord({ card, info, fileName, ...rest }) {
  const k = info.numClasses;
  const classes =
    Array.isArray(card?.classes) && card.classes.length === k ? card.classes.map(String) : Array.from({ length: k }, (_, i) => String(i));
  return { ...rest, card, info, fileName, classes, name: rest.name ?? card?.name ?? fileName };
}

/**
 * Frees a model the widget no longer shows, so that memory holds only the model in use (an
 * EfficientNet takes some 60 MB of wasm memory). A shipped model is released to the page's engine,
 * which frees it once no other widget of the page uses it; picking it again fetches it (from the
 * browser's cache) and prepares it again. The reader's own model is freed at once and prepared
 * again from its file if it is picked again.
 */
function leaveModel(v, model) {
  if (model.custom) {
    model.freed = true;
    v.engine.unload(model.key).catch(() => {});
  } else if (v.state.loaded.get(model.pickName) === model) {
    v.state.loaded.delete(model.pickName);
    v.engine.release(model).catch(() => {});
  }
}

/** Stops work that belongs to the model being left: the robustness run, pending sweeps. */
export function stopBackgroundWork(v) {
  v.tokens.cancel('robustness', 'sweep');
}

/**
 * Files the reader picked or dropped: an ONNX model, and beside it a labels file (one class name
 * per line) or a model.json to name the classes.
 */
export async function openOwnModel(v, files) {
  const { model, labels, card: cardFile } = sortModelFiles(files);
  if (!model) {
    v.alerts.show('Pick an .onnx file (a labels .txt file, one class name per line, may come along with it).', 'model-alert');
    return;
  }
  let card = null;
  if (cardFile) {
    try {
      card = JSON.parse(await cardFile.text());
    } catch (e) {
      v.alerts.show(`${cardFile.name} is not valid JSON (${e.message}); the page keeps using ${v.state.model.name}.`, 'model-alert');
      return;
    }
  }
  await loadCustom(v, model, card, labels);
}

/**
 * The reader's own ONNX file, prepared in the worker. One without a gradient graph gets one built
 * there, after the reader says which normalisation it expects. `labels` (a File, one class name
 * per line) or `card` (a model.json's contents) name the classes; else they are "class k".
 */
export async function loadCustom(v, file, card = null, labels = null, again = null) {
  const token = v.tokens.begin('model');
  v.state.loading = null;
  v.modelDownload?.abort();
  v.buildQuestion?.cancel();
  const previous = v.state.model;
  v.$('build-report').hidden = true;
  let disabled = false;
  try {
    // A picture or a text file is told apart at once, from its first bytes; the worker reads the rest.
    if (!looksLikeOnnx(new Uint8Array(await file.slice(0, 4).arrayBuffer()))) throw new Error('this file is not an ONNX model');
    v.status.set('loading', `Reading ${file.name}…`, 'busy', { phase: 'prepare', since: performance.now() });
    // `again`: the same file prepared once more after it was freed, with the answers given then.
    const found = again ? { gradientGraph: !again.build } : await v.engine.client.call('inspect', { file });
    if (!token.current) return;
    let build = again?.build ?? null;
    let normalisation = again?.normalisation ?? null;
    if (!found.gradientGraph && !build) {
      if (found.blockers.length) throw new Error(blockedMessage(found.blockers));
      // The previous model stays in use while the reader answers.
      v.status.set('ready', readyText(v), null, { phase: 'ready' });
      const answer = await askNormalisation(v, file.name, found.inputShape);
      if (!answer || !token.current) return;
      ({ build, normalisation } = answer);
    }
    stopBackgroundWork(v);
    v.setEnabled(false);
    disabled = true;
    v.state.ready = false;
    const since = performance.now();
    v.status.set('loading', `${build ? 'Building the gradient graph of' : 'Preparing'} ${file.name}…`, 'busy', { phase: 'prepare', since });
    const onProgress = (p) => {
      if (token.current && p.phase === 'prepare' && build) v.status.set('loading', `Preparing ${file.name} (parsing and optimising)…`, 'busy', { phase: 'prepare', since });
    };
    const info = await v.engine.client.call('load', { key: v.customKey, file, build }, { onProgress });
    if (!token.current) {
      v.engine.unload(v.customKey).catch(() => {});
      return;
    }
    v.alerts.hide();
    const named = await classesFor(v, info.numClasses, card, labels);
    v.state.customModel = modelRecord({
      key: v.customKey,
      name: card?.name,
      pickName: 'custom',
      card: { ...card, classes: named },
      info,
      custom: true,
      fileName: file.name,
      file,
      timing: { bytes: info.bytes, prepareMs: info.ms },
      kind: kindOf(info.inputShape),
      built: info.built && { ...info.built, normalisation, options: build },
    });
    fillPicker(v, v.state.lastBuiltin);
    v.$('model-select').value = 'custom';
    useModel(v, v.state.customModel);
    showBuildReport(v);
    if (previous && !previous.custom) leaveModel(v, previous);
  } catch (e) {
    if (!token.current) return;
    const message = readableError(e);
    v.alerts.show(`Could not use ${file.name}: ${message.replace(/\.?$/, '.')} The page keeps using ${previous.name}.`, 'model-alert');
    if (disabled) useModel(v, previous);
    else v.status.set('ready', readyText(v), null, { phase: 'ready' });
  }
}

/**
 * The class names of the reader's model: from the labels file, else from model.json, else
 * "class k". A labels file that does not fit is said so, and not used.
 */
async function classesFor(v, count, card, labels) {
  if (labels) {
    const { classes, problem } = parseLabels(await labels.text(), count, labels.name);
    if (classes) return classes;
    v.alerts.show(`${problem}.`, 'model-alert');
  } else if (Array.isArray(card?.classes) && card.classes.length === count) {
    return card.classes.map(String);
  }
  return classNames(count);
}

/**
 * Asks, in the upload panel, which normalisation a model without a gradient graph expects.
 * → {build: the builder's options, normalisation: its name in words}, or null if the reader
 * cancelled or brought another model.
 */
function askNormalisation(v, fileName, inputShape) {
  const { $ } = v;
  const form = $('build-form');
  const channels = inputShape[1];
  $('build-intro').textContent =
    `${fileName} has no gradient graph yet (input [${inputShape.join(', ')}]). The page will build one here, ` +
    'in your browser, so that it can be attacked.';
  const example = Array(channels).fill('0.5').join(', ');
  $('norm-mean').placeholder = example;
  $('norm-std').placeholder = example;
  const preset = defaultNormalisation(inputShape);
  for (const radio of form.elements.normalisation) radio.checked = radio.value === preset;
  $('build-problem').hidden = true;
  form.hidden = false;
  form.scrollIntoView({ block: 'nearest' });
  $('build-go').focus({ preventScroll: true });
  return new Promise((resolve) => {
    const done = (answer) => {
      form.hidden = true;
      form.removeEventListener('submit', submit);
      $('build-cancel').removeEventListener('click', cancel);
      v.buildQuestion = null;
      resolve(answer);
    };
    const submit = (event) => {
      event.preventDefault();
      const name = form.elements.normalisation.value;
      try {
        const build = normalisationOptions(name, { mean: $('norm-mean').value, std: $('norm-std').value }, channels);
        const words = NORMALISATIONS.find((n) => n.name === name)?.title.split(':')[0] ?? `Mean ${build.mean.join(', ')}, std ${build.std.join(', ')}:`;
        done({ build, normalisation: words.replace(/:$/, '') });
      } catch (e) {
        $('build-problem').textContent = `${e.message}.`;
        $('build-problem').hidden = false;
      }
    };
    const cancel = () => done(null);
    form.addEventListener('submit', submit);
    $('build-cancel').addEventListener('click', cancel);
    v.buildQuestion = { cancel };
  });
}

/** What the builder did for `model` (default: the widget's), under the upload button; null hides it. */
export function showBuildReport(v, model = v.state.model) {
  const built = model?.built;
  const report = v.$('build-report');
  report.hidden = !built;
  if (built) report.textContent = describeBuild(built, built.normalisation);
}

/** Switches back to the reader's own model: prepared again from its file if it was freed. */
export function useCustom(v) {
  const mine = v.state.customModel;
  if (mine.freed) return loadCustom(v, mine.file, mine.card, null, mine.built ? { build: mine.built.options, normalisation: mine.built.normalisation } : { build: null });
  v.tokens.begin('model');
  v.state.loading = null;
  v.modelDownload?.abort();
  stopBackgroundWork(v);
  const previous = v.state.model;
  useModel(v, mine);
  showBuildReport(v);
  if (previous && previous !== mine) leaveModel(v, previous);
}

/** Makes a loaded model the widget's model and shows the right input and image for it. */
export function useModel(v, model) {
  const { state, $ } = v;
  const kindChanged = state.model?.kind !== model.kind;
  state.model = model;
  state.speed = { gradientMs: null, forwardMs: null };
  $('fgsm').dataset.kind = model.kind;
  delete $('fgsm').dataset.loadingKind;
  for (const el of v.root.querySelectorAll('[data-only]')) el.hidden = el.dataset.only !== model.kind;
  $('input-title-text').textContent = model.kind === 'digits' ? 'Choose a digit' : 'Choose a photo';

  // What the attributes asked for, applied once a model is there to read them; the first time, the
  // lead picture and ε when the widget has no model and image attributes.
  const pending = v.pending;
  v.pending = {};
  if (v.lead && !v.leadUsed && model.pickName === v.lead.model) {
    pending.image ??= v.lead.image;
    pending.eps ??= v.lead.eps;
  }
  v.leadUsed = true;
  let target = 'target' in pending ? resolveTarget(v, pending.target) : kindChanged ? null : state.target;
  if (target !== null && !(target >= 0 && target < model.classes.length)) target = null;
  if ('target' in pending || target === null) state.targetFor = null;
  state.target = target;
  v.picker.classes = model.classes;
  v.picker.value = target;
  showTargetChip(v);
  if ('eps' in pending) {
    try {
      state.eps[model.kind] = snapEps(model.kind, parseEps(pending.eps));
    } catch (e) {
      v.alerts.report(e);
    }
  }
  if ('gain' in pending) state.gain = pending.gain;
  configureEps(v);
  configureGain(v);
  renderModelCard(v);
  $('builtin').hidden = !model.custom;
  $('live').hidden = true;

  if (model.kind === 'digits') state.digits = model.digits ?? state.digits ?? null; // one's own digit model borrows the last shipped one's test digits
  state.ready = true;
  v.setEnabled(true);
  v.status.set('ready', readyText(v), null, { phase: 'ready' });
  const status = $('status');
  status.dataset.model = model.pickName;
  status.dataset.downloadMs = String(Math.round(model.timing.downloadMs ?? 0));
  status.dataset.prepareMs = String(Math.round(model.timing.prepareMs ?? 0));
  status.dataset.engine = state.engine?.name ?? '';
  v.showLayout(true);

  const image = pending.image;
  if (model.kind === 'digits') {
    if (image !== undefined && /^\d+$/.test(image)) state.index = Number(image);
    const source = image === 'draw' ? 'draw' : image !== undefined ? 'test' : v.has('draw') && !v.has('input') ? 'draw' : state.source;
    if (image !== undefined && !/^\d+$/.test(image) && image !== 'draw') {
      v.alerts.show(`The image “${image}” is not a test digit: digit models take a digit’s number (0 to ${(state.digits?.count ?? 1) - 1}) or “draw”.`);
    }
    selectTab(v, state.digits && source === 'test' ? 'test' : 'draw', { focus: false });
    runRobustness(v);
  } else {
    showSamples(v);
    const photo = state.photo;
    const brought = v.waitingPicture;
    v.waitingPicture = null;
    const wanted = image === undefined ? -1 : sampleIndex(v, image);
    if (brought) usePicture(v, brought.file, brought.meta);
    else if (wanted >= 0) loadSample(v, wanted);
    else if (image !== undefined && image !== 'draw' && !/^\d+$/.test(image) && !NAME.test(image)) loadPictureUrl(v, image);
    else if (photo && photo.shape === inputKey(v, model)) showPhoto(v, photo);
    else if (photo) usePicture(v, photo.file, photo.meta);
    else if (samples(v).list.length) loadSample(v, 0);
    else clearResults(v, 'Pick a photo (or drop one on the page) to attack it.');
    if (image !== undefined && wanted < 0 && (NAME.test(image) || /^\d+$/.test(image)) && samples(v).list.length) {
      v.alerts.show(`There is no sample photo “${image}”; the samples are ${samples(v).list.map((s) => sampleName(s)).join(', ')}.`);
    }
  }
}

/** A sample's name as the `image` attribute writes it: its file's stem ("chelsea"). */
export function sampleName(sample) {
  return sample.file.split('/').pop().replace(/\.[^.]*$/, '');
}

/** What a decoded photo depends on: the model's input shape and crop. */
export function inputKey(v, model) {
  return `${model.info.inputShape.slice(1).join('×')}/${v.cropFractionOf(model)}`;
}

/** The status line once a model is ready, in plain words; the numbers are in the details. */
function readyText(v) {
  const m = v.state.model;
  if (m.custom) return `Ready: your model ${m.name}, running in your browser.`;
  return `Ready: ${m.title || m.name}, running in your browser. Nothing is sent anywhere.`;
}
