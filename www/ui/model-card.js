// The model card: what the model is, the figures measured when it was made, and how fast it runs here.
import { bytes, seconds, percent } from './format.js';

/** Fills the card of the view's model. */
export function renderModelCard(v) {
  const { card, custom, fileName, timing, info, classes, name } = v.state.model;
  const $ = v.$;
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
    const [title, ...rest] = card.architecture.split(':');
    const more = document.createElement('details');
    more.append(Object.assign(document.createElement('summary'), { textContent: title }), rest.join(':').trim());
    layers.replaceChildren(more);
  }
  // A long licence: up to its first parenthesis, with the licence file linked when it names one.
  const terms = [...$('model-card').querySelectorAll('dt')].find((dt) => dt.textContent === 'Licence')?.nextElementSibling;
  if (terms && licence.length > 100) {
    const file = licence.match(/\b(LICENSE[\w.-]*)/)?.[1];
    terms.textContent = licence.split(' (')[0];
    if (file && v.state.model.folder) {
      terms.append(' (', Object.assign(document.createElement('a'), { href: new URL(file, v.state.model.folder).href, textContent: file }), ')');
    }
  }
  renderMetrics(v);
  renderSpeed(v);
}

/** The figures measured when the model was made, if its model.json has them. */
function renderMetrics(v) {
  const metrics = v.state.model.card?.metrics;
  const box = v.$('measured');
  const figures = document.createElement('dl');
  if (typeof metrics?.clean_accuracy === 'number') figures.append(pair('Accuracy on clean images', percent(metrics.clean_accuracy)));
  for (const [eps, error] of Object.entries(metrics?.fgsm_error ?? {})) {
    if (typeof error === 'number') figures.append(pair(`FGSM error at ε = ${eps}`, percent(error)));
  }
  // One set of figures: where the widget measures them live on the digits, the card's stay out.
  const live = v.state.model.kind === 'digits' && v.has('robustness') && !!(v.state.model.digits ?? v.state.digits);
  box.hidden = !figures.childElementCount || live;
  if (box.hidden) return;
  const unit = v.state.model.kind === 'digits' ? 'digits' : 'images';
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
export function renderSpeed(v) {
  const { timing } = v.state.model;
  const engine = v.state.engine;
  const rows = [];
  if (engine) rows.push(['Engine', `${engine.name} (${bytes(engine.bytes)}, loaded in ${seconds(engine.ms)})`]);
  if (timing.downloadMs != null) rows.push(['Model download', `${bytes(timing.bytes)} in ${seconds(timing.downloadMs)}`]);
  // engine-warmup.js: a small network run while the model downloaded, so that its first passes ran in compiled code.
  if (timing.warmUp?.steps && timing.warmUp.ms != null) rows.push(['Engine warm-up', `${seconds(timing.warmUp.ms)}, while the model downloaded`]);
  rows.push(['Preparing the model', `${seconds(timing.prepareMs)} (parse and optimise)`]);
  const { gradientMs, forwardMs } = v.state.speed;
  if (gradientMs != null) rows.push(['FGSM on a new image', `${seconds(gradientMs)} (forward and backward pass for the gradient, forward pass of x′)`]);
  if (forwardMs != null) rows.push(['Another ε on the same image', `${seconds(forwardMs)} (the gradient is reused: one forward pass)`]);
  // For comparison: native onnxruntime on the machine that made the model, if model.json says.
  const made = v.state.model.card?.metrics?.timings;
  if (made?.forward_ms && made?.forward_and_gradient_ms) {
    const name = String(made.engine ?? 'onnxruntime').split(',').map((p) => p.trim()).filter((p, i) => i === 0 || /thread/.test(p)).join(', ');
    rows.push(['Native, when the model was made', `${name}: forward ${seconds(made.forward_ms)}, forward and gradient ${seconds(made.forward_and_gradient_ms)}`]);
  }
  const title = document.createElement('h3');
  title.textContent = 'Speed here, in your browser';
  v.$('speed').replaceChildren(title, ...rows.map(([t, d]) => pair(t, d)));
  v.$('speed').hidden = false;
}

/** A <div><dt>term</dt><dd>detail</dd></div> for a description list. */
export function pair(term, detail, className = '') {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = detail;
  if (className) dd.className = className;
  div.append(dt, dd);
  return div;
}
