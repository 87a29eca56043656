// One FGSM demo: the markup of every panel in a root (the widget's shadow root), its state, and the
// wiring between its parts. Both the <fgsm-demo> element and the standalone page are this view.
import { MARKUP, PANELS, DEFAULT_PANELS } from './template.js';
import { SCALES, snapEps, parseEps } from './eps-scale.js';
import { RequestTokens } from './request-token.js';
import { StatusLine, Alerts } from './status.js';
import { SweepChart } from './sweep-chart.js';
import { RobustnessChart } from './robustness-chart.js';
import { sharedEngine } from './engine.js';
import { STALE } from './worker-client.js';
import { MODELS, LEAD } from './models.js';
import { POSTER } from './poster.js';
import { cropFraction } from './crop.js';
import { watchPictureSources } from './photo-input.js';
import { chooseModel, fillPicker, openOwnModel, useCustom, showDownload, showBuildReport } from './model-lifecycle.js';
import { setupDigits, selectTab, showTestDigit } from './digit-input.js';
import { usePicture, loadSample, loadPictureUrl, sampleIndex } from './photo-panel.js';
import { setupControls, configureGain, setEps, setTarget, resolveTarget, showTargetChip } from './controls.js';
import { runAttack, setupTerms } from './attack-view.js';
import { cancelSavedCheck } from './saved-check.js';
import { setupMethod, showMethod } from './method.js';
import { initialMethod, parseMethodName, parseParam, methodParams } from './method-params.js';
import { runSweep, showSweepPending } from './sweep.js';
import { runRobustness } from './robustness.js';

const CONTROLS = ['prev', 'next', 'random', 'find-fooled', 'eps', 'gain', 'model-file', 'builtin', 'tab-test', 'tab-draw', 'clear', 'photo-file', 'method', 'steps', 'alpha', 'momentum', 'seed'];

let views = 0;

export class DemoView {
  /**
   * @param {ShadowRoot} root where the markup goes
   * @param {{assets: string, onResult: (detail: object) => void}} options `assets`: the URL of the
   *   folder that holds pkg/ and models/.
   */
  constructor(root, { assets, onResult }) {
    this.root = root;
    this.assets = assets;
    this.onResult = onResult;
    this.customKey = `custom:${++views}`;
    /** The name under which the worker keeps this widget's image (one at a time). */
    this.imageSlot = `view:${views}`;
    /** The image last sent to the worker: {pixels, model, id (a promise of its id, or STALE)}. */
    this.workerImage = null;
    const template = document.createElement('template');
    template.innerHTML = MARKUP;
    root.append(template.content);
    this.$ = (id) => root.getElementById(id);
    this.tokens = new RequestTokens();
    this.status = new StatusLine(this.$);
    this.alerts = new Alerts(this.$);
    this.panels = new Set(DEFAULT_PANELS);
    this.pending = {};
    this.modelSpec = MODELS[0].name;
    this.loading = { model: { loaded: 0, total: 0 }, title: '' };
    this.modelDownload = null;
    this.waitingPicture = null;
    this.engine = null;
    this.started = false;
    this.state = {
      engine: null,
      ready: false,
      model: null,
      loaded: new Map(),
      customModel: null,
      lastSamples: null, // the shipped photo samples last shown (see photo-panel.js samples)
      loading: null,
      lastBuiltin: MODELS[0].name,
      digits: null,
      index: 0,
      source: 'test',
      drawings: 0,
      photo: null,
      photos: 0,
      pixels: null,
      imageKey: '',
      image: null,
      trueLabel: null,
      eps: { digits: SCALES.digits.initial, photo: SCALES.photo.initial },
      target: null,
      gain: 'fit',
      method: initialMethod(),
      sweep: null,
      speed: { gradientMs: null, forwardMs: null },
    };
    this.sweepChart = new SweepChart(this.$('sweep'), { max: SCALES.digits.max, onPick: (eps) => setEps(this, eps) });
    this.robustnessChart = new RobustnessChart(this.$('robustness'), { max: SCALES.digits.max });
    setupControls(this);
    setupMethod(this);
    setupDigits(this);
    setupTerms(this);
    this.#setupModelChoice();
    this.setEnabled(false);
    this.applyPanels();
    this.#setupViewer();
    // The reader's hand on the widget: background work (the robustness run) waits meanwhile.
    this.lastInput = -Infinity;
    this.attacking = 0;
    for (const type of ['input', 'pointerdown', 'keydown', 'wheel']) root.addEventListener(type, () => (this.lastInput = performance.now()), { passive: true });
    root.addEventListener('pointermove', (e) => e.buttons && (this.lastInput = performance.now()), { passive: true });
  }

  /**
   * Resolves once the reader has left the widget alone for `ms` and no attack they asked for is
   * still computing: the robustness run awaits it before each batch, so the slider goes first.
   */
  async quiet(ms = 300) {
    for (;;) {
      const wait = this.lastInput + ms - performance.now();
      if (wait <= 0 && !this.attacking) return;
      await new Promise((done) => setTimeout(done, Math.max(30, wait)));
    }
  }

  /** On a narrow widget one picture shows at a time: buttons (or a swipe) switch between them. */
  #setupViewer() {
    const results = this.$('results');
    const tabs = this.$('viewer-tabs');
    const order = ['original', 'perturbation', 'adversarial'];
    const show = (which) => {
      results.dataset.show = which;
      for (const b of tabs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.show === which));
    };
    tabs.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-show]');
      if (b) show(b.dataset.show);
    });
    let from = null;
    results.addEventListener('pointerdown', (e) => (from = { x: e.clientX, y: e.clientY }));
    results.addEventListener('pointerup', (e) => {
      if (!from || tabs.offsetParent === null) return;
      const dx = e.clientX - from.x;
      const dy = e.clientY - from.y;
      from = null;
      if (Math.abs(dx) < 40 || Math.abs(dx) < 2 * Math.abs(dy)) return;
      const i = order.indexOf(results.dataset.show);
      show(order[Math.max(0, Math.min(order.length - 1, i + (dx < 0 ? 1 : -1)))]);
    });
  }

  // --- what the host asks for -------------------------------------------------------------------

  /** Which panels show: a list of names from PANELS (unknown names are reported). */
  setPanels(list) {
    const names = list.map((p) => p.trim()).filter(Boolean);
    const unknown = names.filter((p) => !PANELS.includes(p));
    if (unknown.length) this.alerts.show(`Unknown panel ${unknown.map((p) => `“${p}”`).join(', ')}: the panels are ${PANELS.join(', ')}.`);
    this.panels = new Set(names.filter((p) => PANELS.includes(p)));
    this.applyPanels();
    if (this.state.ready) {
      if (this.kind() === 'digits') selectTab(this, this.has('input') || !this.has('draw') ? this.state.source : 'draw', { focus: false });
      runRobustness(this);
      this.runAttack();
      runSweep(this);
    }
  }

  has(panel) {
    return this.panels.has(panel);
  }

  applyPanels() {
    for (const el of this.root.querySelectorAll('[data-panel]')) {
      el.classList.toggle('panel-off', !el.dataset.panel.split(' ').some((p) => this.has(p)));
    }
    const columns = {
      attack: ['controls', 'triptych', 'noise', 'terms', 'bars'].some((p) => this.has(p)),
      input: ['input', 'draw', 'upload'].some((p) => this.has(p)),
      charts: ['sweep', 'robustness'].some((p) => this.has(p)),
      details: ['card', 'upload'].some((p) => this.has(p)),
    };
    for (const [name, on] of Object.entries(columns)) this.$(`column-${name}`).classList.toggle('panel-off', !on);
    this.$('layout').dataset.columns = Object.keys(columns).filter((c) => columns[c]).join(' ');
    // The story (a sentence at each step, and the steps' titles) where the widget is the whole demo,
    // with its model picker; in an article the article tells it. Titles also where a column holds
    // more than one thing to tell apart.
    const story = this.has('picker');
    this.$('fgsm').dataset.story = String(story);
    this.$('attack-title').classList.toggle('panel-off', !story && !(this.has('controls') && columns.input));
    this.$('charts-title').classList.toggle('panel-off', !story);
    if (this.has('upload') && !this.watchingPictures) this.#watchPictures();
  }

  /** The model attribute: a shipped model's name or an ONNX file's URL. */
  setModel(spec) {
    this.modelSpec = spec || MODELS[0].name;
    if (this.started) chooseModel(this, this.modelSpec);
  }

  /** The image attribute: a digit's or sample's number from 0, a sample's name, 'draw', or a picture's URL. */
  chooseImage(image) {
    if (!this.state.ready) {
      this.pending.image = image;
      return;
    }
    if (this.kind() === 'digits') {
      this.state.targetFor = null; // the author's target is for the picture they name
      if (image === 'draw') selectTab(this, 'draw', { focus: false });
      else if (/^\d+$/.test(image)) {
        this.state.source = 'test';
        selectTab(this, 'test', { focus: false });
        showTestDigit(this, Number(image));
      } else this.alerts.show(`The image “${image}” is not a test digit: digit models take a digit’s number or “draw”.`);
    } else {
      this.state.targetFor = null;
      const i = sampleIndex(this, image);
      if (i >= 0) loadSample(this, i);
      else if (/^[\w-]+$/.test(image)) this.alerts.show(`There is no sample photo “${image}”.`);
      else loadPictureUrl(this, image);
    }
  }

  setEpsText(text) {
    if (!this.state.ready) {
      this.pending.eps = text;
      return;
    }
    try {
      setEps(this, snapEps(this.kind(), parseEps(text)));
    } catch (e) {
      this.alerts.report(e);
    }
  }

  setTargetText(text) {
    if (!this.state.ready) {
      this.pending.target = text;
      return;
    }
    setTarget(this, resolveTarget(this, text));
  }

  /**
   * The method attributes: `method` (a name from METHODS; empty = FGSM) and its parameters `steps`,
   * `alpha` (empty = auto, following ε), `momentum`, `seed` (empty = the default). A bad value is
   * reported and leaves the setting as it was.
   */
  setMethodOption(name, text) {
    const defaults = initialMethod();
    const { value, error } =
      name === 'method' ? parseMethodName(text) : text === null || text === '' ? { value: defaults[name] } : parseParam(name, text);
    if (error) {
      this.alerts.show(error);
      return;
    }
    if (this.state.method[name] === value) return;
    this.state.method[name] = value;
    showMethod(this);
    if (this.state.ready) this.runAttack();
  }

  setGain(gain) {
    const value = gain === 'fit' || Number(gain) > 0 ? String(gain) : 'fit';
    if (gain && value !== String(gain)) this.alerts.show(`The gain “${gain}” is not a positive number (or “fit”).`);
    this.state.gain = value;
    if (!this.state.ready) {
      this.pending.gain = value;
      return;
    }
    configureGain(this);
    this.runAttack();
  }

  /** Starts the engine (shared by every widget on the page) and loads the model. */
  start() {
    if (this.started) return;
    this.started = true;
    this.$('fgsm').dataset.started = 'true';
    this.engine = sharedEngine(new URL('pkg/', this.assets).href);
    const client = this.engine.client;
    // Only the newest request of each kind runs: dragging the slider or drawing never queues old work.
    // The 8-bit check of the shown x′ has its own lane (see saved-check.js).
    this.lanes = { attack: client.lane(), check: client.lane(), sweep: client.lane(), centre: client.lane(), search: client.lane(), decode: client.lane(), image: client.lane() };
    // A new worker after a trap holds no image: the current one is set there again.
    this.engine.onRestart(() => this.state.pixels && this.#sendImage({ again: true }));
    this.$('poster-text').textContent = 'Loading the demo…';
    fillPicker(this, this.modelSpec);
    // The engine's download shows while this widget waits for a model (not over an error).
    const stop = this.engine.onProgress(() => !this.state.engine && this.state.loading && showDownload(this));
    this.engine.ready.then(
      (info) => {
        this.state.engine = info;
        stop();
      },
      stop,
    );
    if (location.protocol === 'file:') {
      this.status.set('error', 'This page must be served by a web server: browsers do not load modules or WebAssembly from file:// pages.');
      return;
    }
    chooseModel(this, this.modelSpec);
  }

  /** Shows the panels (once a model is ready) instead of the poster. */
  showLayout(on) {
    this.$('layout').hidden = !on;
    this.$('poster').hidden = on;
  }

  /**
   * `link()` gives the address of what the widget shows (the page's own address, kept up to date);
   * with it, a "Copy link to this view" button shows.
   */
  setShare(link) {
    this.shareLink = link;
    const button = this.$('copy-link');
    button.hidden = !link;
    if (this.sharing) return;
    this.sharing = true;
    button.addEventListener('click', async () => {
      const url = this.shareLink?.();
      if (!url) return;
      try {
        await navigator.clipboard.writeText(url);
        button.textContent = 'Link copied';
        button.dataset.copied = 'true';
        setTimeout(() => {
          button.textContent = 'Copy link to this view';
          delete button.dataset.copied;
        }, 2500);
      } catch {
        this.alerts.show(`The browser did not let the page copy; here is the link to this view: ${url}`);
      }
    });
  }

  /** Without model and image attributes: the lead picture, model and ε, or null. */
  setLead(lead) {
    this.lead = lead;
  }

  /**
   * The poster's still picture before the widget shows its first result: the sample photo `url`,
   * or with `lead` the still of the lead result (when it is the very result the widget will show).
   */
  setPoster(url, lead = false) {
    const still = lead && POSTER.model === LEAD.model && POSTER.image === LEAD.image && POSTER.eps === LEAD.eps;
    const img = this.$('poster-image');
    img.hidden = !url || still;
    if (url && !still) img.src = url;
    this.$('poster-lead').hidden = !still;
    if (!still || this.$('poster-original').getAttribute('src')) return;
    const file = (name) => new URL(`poster/${name}`, import.meta.url).href;
    const { $ } = this;
    $('poster-original').src = file(POSTER.files.original);
    $('poster-adversarial').src = file(POSTER.files.adversarial);
    $('poster-original-pred').textContent = POSTER.original.name;
    $('poster-original-conf').textContent = POSTER.original.percent;
    $('poster-adversarial-pred').textContent = POSTER.adversarial.name;
    $('poster-adversarial-conf').textContent = POSTER.adversarial.percent;
    $('poster-verdict').textContent = POSTER.verdict;
    $('poster-original').alt = `Original photo, read as ${POSTER.original.name} (${POSTER.original.percent})`;
    $('poster-adversarial').alt = `The same photo after one FGSM step of ε = ${POSTER.eps}, read as ${POSTER.adversarial.name} (${POSTER.adversarial.percent})`;
    $('poster-caption').textContent = 'A still picture of the result: the live demo replaces it in a moment.';
  }

  // --- shared by the parts ------------------------------------------------------------------------

  kind = () => this.state.model?.kind ?? 'digits';
  scale = () => SCALES[this.kind()];
  fmtEps = (eps) => this.scale().key(eps);
  className = (c) => this.state.model?.classes[c] ?? String(c);
  cropFractionOf = (model) => cropFraction(model.card, model.info.inputShape);

  setEnabled(on) {
    for (const id of CONTROLS) this.$(id).disabled = !on;
    for (const button of this.root.querySelectorAll('#samples button, #target-suggest button')) button.disabled = !on;
    if (this.picker) this.picker.disabled = !on;
    if (on && this.state.model?.kind === 'digits' && !this.state.digits) this.$('tab-test').disabled = true;
  }

  /** Which picture a key names: every stroke on the pad is the same picture, the drawing. */
  sameImage = (key) => (key.startsWith('drawing:') ? 'drawing' : key);

  /**
   * Attack a new image (or the same one with a new model or target). A target picked for another
   * picture goes (unless `keepTarget`: the author's attributes, or "next one fooled" which looked
   * for this target); a target given before there was a picture belongs to the first one.
   */
  setImage(pixels, { trueLabel, key, image, keepTarget = false }) {
    const { state } = this;
    const newImage = key !== state.imageKey;
    if (state.target !== null && state.targetFor !== null && state.targetFor !== this.sameImage(key) && !keepTarget) {
      state.target = null;
      this.picker.value = null;
      showTargetChip(this);
      this.$('target-note').textContent = 'A new picture: the target was cleared, the attack is untargeted.';
      this.$('target-note').hidden = false;
    } else if (newImage) this.$('target-note').hidden = true;
    if (state.target !== null) state.targetFor = this.sameImage(key);
    state.pixels = pixels;
    state.trueLabel = trueLabel;
    state.imageKey = key;
    state.image = image;
    state.sweep = null;
    this.#sendImage();
    // Until the new results arrive, nothing may describe the previous picture.
    if (newImage && !key.startsWith('drawing:')) this.$('results').dataset.pending = 'true';
    showSweepPending(this);
    this.runAttack();
    runSweep(this);
  }

  runAttack() {
    return runAttack(this);
  }

  /**
   * The current image's work still to come (its sweep's next chunks, its 8-bit check, a waiting
   * attack) stops: a new image replaces it, or is on its way (a photo being fetched or decoded),
   * and that work would hold the worker up before the new image's decode. Requests that name the
   * current image in the worker must also not reach it after the new one replaced it.
   */
  stopImageWork() {
    this.lanes.attack.drop();
    this.lanes.check.drop();
    this.lanes.sweep.drop();
    this.tokens.cancel('sweep');
    cancelSavedCheck(this);
  }

  /** A new image that was on its way did not come: the current one's attack and sweep run again. */
  resumeImageWork() {
    if (!this.state.ready || !this.state.pixels) return;
    this.runAttack();
    runSweep(this);
  }

  /**
   * Sets the current image (pixels, model) in the worker, once: attacks and sweeps then name it by
   * its id, and a slider step sends no pixels. The worker frees this widget's previous image, so
   * requests for it that are still waiting here are dropped first (they would name a freed image).
   */
  #sendImage({ again = false } = {}) {
    const { state } = this;
    const sent = this.workerImage;
    if (!again && sent && sent.pixels === state.pixels && sent.model === state.model) return;
    this.stopImageWork();
    // An untargeted FGSM or FGM attack follows, on the model's prediction: the worker learns the
    // prediction in the gradient pass it then needs anyway.
    const withGradient = state.target === null && ['fgsm', 'fgm'].includes(state.method.method);
    const args = { model: state.model.key, slot: this.imageSlot, pixels: state.pixels, withGradient };
    const id = this.lanes.image('setImage', args).then((r) => (r === STALE ? STALE : r.image));
    id.catch(() => {}); // reported by the attack that awaits it
    this.workerImage = { pixels: state.pixels, model: state.model, id };
  }

  /**
   * The current image as the worker holds it: {image (its id), current() (false once another
   * image replaced it)}, or null when a newer image (or the current model's) replaces it.
   */
  async workerImageId() {
    const sent = this.workerImage;
    // An image set on another model (the model changed, its image is on its way) is not asked for.
    if (!sent || sent.model !== this.state.model) return null;
    const image = await sent.id;
    const current = () => this.workerImage === sent;
    return image === STALE || !current() ? null : { image, current };
  }

  /** The fgsm-result event's detail: what the reader sees now. */
  emitResult({ eps, label, probability, adversarialLabel, adversarialProbability, target, fooled, image }) {
    const m = this.state.model;
    this.onResult({
      model: m.custom ? m.fileName : m.pickName,
      eps,
      label,
      labelName: this.className(label),
      probability,
      adversarialLabel,
      adversarialName: this.className(adversarialLabel),
      adversarialProbability,
      targeted: target !== null,
      target,
      targetName: target === null ? null : this.className(target),
      fooled,
      image,
      kind: m.kind,
      method: this.state.method.method,
      methodParams: methodParams(this.state.method),
    });
  }

  #setupModelChoice() {
    const { $ } = this;
    $('model-select').addEventListener('change', (e) => {
      const value = e.target.value;
      this.buildQuestion?.cancel();
      if (value === 'custom' && this.state.customModel) useCustom(this);
      else {
        showBuildReport(this, null);
        chooseModel(this, value);
      }
    });
    $('builtin').addEventListener('click', () => {
      showBuildReport(this, null);
      chooseModel(this, this.state.lastBuiltin);
    });
    $('model-file').addEventListener('change', (event) => {
      const input = event.target;
      const files = [...input.files];
      input.value = ''; // picking the same file again must fire again
      if (files.length) openOwnModel(this, files);
    });
  }

  #watchPictures() {
    this.watchingPictures = true;
    watchPictureSources({
      fileInput: this.$('photo-file'),
      overlay: this.$('drop-overlay'),
      accepting: () => this.has('upload') && (MODELS.some((m) => m.kind === 'photo') || this.state.model?.kind === 'photo'),
      onPicture: (file, meta) => {
        if (this.state.ready && this.state.model.kind === 'photo') return usePicture(this, file, meta);
        // Brought to the digits, or while a model loads: switch to the photo classifier (unless
        // it is already on its way) and use the picture once it is ready.
        this.waitingPicture = { file, meta };
        const photoModel = MODELS.find((m) => m.kind === 'photo');
        if (photoModel && this.state.loading !== photoModel.name) chooseModel(this, photoModel.name);
      },
      onModel: (files) => openOwnModel(this, files),
      onProblem: (message) => this.alerts.show(message, this.state.model?.kind === 'photo' ? 'photo-alert' : 'alert'),
    });
  }
}

