// The attack and what it shows: the triptych x + ε·sign(∇J) = x′, the verdict, top-5 bars, the
// facts (label, loss, ε, L∞), random noise beside FGSM, and the equation's terms. The 8-bit PNG
// check and the download follow once the slider rests (saved-check.js).
import { STALE } from './worker-client.js';
import { renderBars } from './prob-bars.js';
import { argmax, percent, crossEntropy, levels, seconds } from './format.js';
import { verdict, lossLine } from './verdict.js';
import { checkSavedAtRest, cancelSavedCheck } from './saved-check.js';
import { dropOwnTarget } from './controls.js';
import { gainFactor } from './eps-scale.js';
import { renderSpeed } from './model-card.js';
import { methodArgs, startRun, showRun, showMethod } from './method.js';
import { METHODS } from './method-params.js';

/** Attacks the current image at the current ε, target and gain; shows the newest answer. */
export async function runAttack(v) {
  const { state } = v;
  if (!state.ready || !state.pixels) return;
  const eps = state.eps[v.kind()];
  const about = { model: state.model, key: state.imageKey, image: state.image, eps, target: state.target, trueLabel: state.trueLabel };
  const args = {
    eps,
    label: state.target,
    targeted: state.target !== null,
    gain: gainFactor(state.gain, eps),
    noise: v.has('noise'),
    terms: v.has('terms'),
    method: methodArgs(v, eps),
  };
  if (args.method) showMethod(v); // α's default follows ε
  // Any new attack cancels an iterative one still running (see method.js).
  const { controller, options } = startRun(v, args.method, v.fmtEps(eps));
  v.attacking++;
  try {
    // The image was set in the worker once (DemoView.setImage); the attack names it.
    const held = await v.workerImageId();
    if (!held) return; // a newer image replaced it: its own attack follows
    const r = await v.lanes.attack('attack', { ...args, image: held.image }, options);
    // A result for an image or model that has since been replaced (or cleared) is not shown, nor
    // one that a newer attack cut short.
    if (r === STALE || controller?.signal.reason === 'superseded' || about.key !== state.imageKey || about.model !== state.model) return;
    showResult(v, r, { ...about, held: held.image });
    if (controller) showRun(v, r, { controller, target: about.target, labelName: v.className(r.label) });
  } catch (e) {
    if (about.model === state.model && e?.name !== 'AbortError') v.alerts.report(e, 'The attack failed');
  } finally {
    v.attacking--;
  }
}

export function putImage(canvas, rgba, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const data = rgba instanceof Uint8ClampedArray ? rgba : new Uint8ClampedArray(rgba);
  canvas.getContext('2d').putImageData(new ImageData(data, width, height), 0, 0);
}

function showResult(v, r, about) {
  const { $, state } = v;
  const original = argmax(r.probs);
  const adversarial = argmax(r.adversarialProbs);
  const { eps, target, trueLabel } = about;
  const what = v.kind() === 'digits' ? 'digit' : 'image';
  const name = (c) => v.className(c);
  // A target the model already gives this image (e.g. from a shared link): nothing to aim for.
  if (target !== null && original === target) {
    dropOwnTarget(v, target, what);
    return;
  }

  putImage($('cv-original'), r.images.original, r.width, r.height);
  putImage($('cv-perturbation'), r.images.perturbation, r.width, r.height);
  putImage($('cv-adversarial'), r.images.adversarial, r.width, r.height);
  $('original-title').textContent = about.key.startsWith('drawing') ? 'What the model sees, x' : 'Original x';
  $('original-pred').textContent = name(original);
  $('original-conf').textContent = percent(r.probs[original]);
  $('adversarial-pred').textContent = name(adversarial);
  $('adversarial-conf').textContent = percent(r.adversarialProbs[adversarial]);
  $('cv-original').setAttribute('aria-label', `Original ${what}, read as ${name(original)} (${percent(r.probs[original])})`);
  $('cv-adversarial').setAttribute('aria-label', `Adversarial ${what}, read as ${name(adversarial)} (${percent(r.adversarialProbs[adversarial])})`);
  $('cv-perturbation').setAttribute('aria-label', `Perturbation: each pixel moved by at most ${v.fmtEps(eps)}`);
  $('noise-legend').textContent =
    state.gain === 'fit'
      ? `Middle picture: ${v.kind() === 'photo' ? 'for each colour channel, bright = +ε, dark = −ε' : 'white = +ε, black = −ε'}, grey = unchanged (where the step would leave [0, 1], clipping cancels it).`
      : `Middle picture: x′ − x around mid-grey, ${state.gain === '1' ? 'at its true size' : `magnified ×${state.gain}`}; grey = unchanged.`;

  const said = verdict({
    label: original,
    adversarial,
    target,
    eps,
    trueLabel,
    name,
    epsText: v.fmtEps(eps),
    stillProb: percent(r.adversarialProbs[original]),
    how: r.params ? ` by ${METHODS[r.params.method].name}` : '',
  });
  const box = $('verdict');
  box.textContent = said.text;
  box.dataset.fooled = String(said.fooled);
  box.dataset.verdict = said.kind;
  box.dataset.reached = String(said.fooled && target !== null);
  $('results').dataset.verdict = said.kind;

  // How long it took, in the worker.
  if (r.ms.gradient) state.speed.gradientMs = r.ms.fgsm;
  else state.speed.forwardMs = r.ms.fgsm;
  // The noise panel's reading is one more forward pass; the 8-bit check comes later, on its own.
  const forward = (n) => (n === 1 ? 'a forward pass' : `${n} forward passes`);
  const extra = r.noise ? 1 : 0;
  const passes = r.params
    ? r.params.method === 'noise'
      ? `${forward(1 + extra)}, no gradient`
      : `${r.steps} gradient step${r.steps === 1 ? '' : 's'}, each a forward and backward pass${extra ? ', then a forward pass' : ''}`
    : r.ms.gradient
      ? `a forward and backward pass, then ${forward(1 + extra)}`
      : `${forward(1 + extra)}; the gradient of this image is reused`;
  $('timing').textContent = `Computed in your browser in ${seconds(r.ms.total)} (${passes})${state.engine ? `, WebAssembly ${state.engine.name}` : ''}.`;
  renderSpeed(v);

  // Bars, with the classes that matter marked (by colour and by a word).
  const changed = adversarial !== original;
  const missed = said.kind === 'missed';
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
      changed && [adversarial, missed ? ['other', 'not the target'] : ['fooled', adversarial === target ? 'target' : '']],
    ),
  });

  // The numbers.
  const y = r.label;
  $('fact-label').textContent = `${name(y)}: ${target !== null ? 'the target class (the step goes down its loss)' : 'the model’s own prediction, not the true label'}`;
  const loss = lossLine({ targeted: target !== null, name: name(y), before: r.probs[y], after: r.adversarialProbs[y] });
  $('fact-loss').textContent = loss.text;
  $('fact-loss').dataset.direction = loss.direction;
  $('fact-eps').textContent = v.scale().pixels(eps);
  const clipped = r.linf < eps - 1e-6 ? ' (clipping to [0, 1] shortened every step)' : '';
  $('fact-linf').textContent = `${r.linf.toFixed(v.kind() === 'photo' ? 4 : 3)} = ${levels(r.linf)}${clipped}`;
  checkSavedAtRest(v, { image: about.held, attackId: r.attackId, original, adversarial, eps, target, fooled: said.fooled });
  if (about.key.startsWith('drawing')) showDrawingReadout(v, original, adversarial, r, { ...about, said });
  if (r.noise) showNoise(v, r, { original, adversarial, target, key: about.key, said });
  if (r.terms) showTerms(v, r, { eps, target, key: about.key });
  $('noise-eps').textContent = ` = ${v.fmtEps(eps)}`;
  $('terms-eps').textContent = ` (ε = ${v.fmtEps(eps)})`;

  const results = $('results');
  results.dataset.pending = 'false';
  results.dataset.for = `${about.key}@${v.fmtEps(eps)}`;
  results.dataset.target = target ?? '';
  results.dataset.method = r.params?.method ?? 'fgsm';
  results.dataset.original = String(original);
  results.dataset.adversarial = String(adversarial);
  v.sweepChart.eps = eps;
  v.robustnessChart.eps = eps;
  v.emitResult({
    eps,
    label: original,
    probability: r.probs[original],
    adversarialLabel: adversarial,
    adversarialProbability: r.adversarialProbs[adversarial],
    target,
    fooled: said.fooled,
    image: about.image,
  });
}

/** One line under the pad, so that the result shows while drawing even on a small screen. */
function showDrawingReadout(v, original, adversarial, r, { eps, said }) {
  const b = (t) => Object.assign(document.createElement('b'), { textContent: t });
  const more = Object.assign(document.createElement('button'), { type: 'button', className: 'link', textContent: 'details' });
  more.addEventListener('click', () =>
    v.$('verdict').scrollIntoView({ behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth', block: 'start' }),
  );
  v.$('draw-result').replaceChildren(
    'Read as ', b(v.className(original)), ` (${percent(r.probs[original])}); at ε = ${v.fmtEps(eps)}: `,
    b(v.className(adversarial)), said.kind === 'fooled' ? ' (fooled) ' : said.kind === 'missed' ? ' (target not reached) ' : ' (not fooled) ', more,
  );
}

/** Random ±ε noise beside FGSM at the same ε, each with the model's reading. */
function showNoise(v, r, { original, adversarial, key, said }) {
  const { $ } = v;
  const noisy = argmax(r.noise.probs);
  putImage($('cv-noise'), r.noise.perturbation, r.width, r.height);
  putImage($('cv-noisy'), r.noise.image, r.width, r.height);
  putImage($('cv-noise-fgsm'), r.images.perturbation, r.width, r.height);
  putImage($('cv-noise-adversarial'), r.images.adversarial, r.width, r.height);
  const say = (el, cls, probs, kind) => {
    const words = { fooled: 'Fooled', missed: 'Target not reached' }[kind] ?? 'Not fooled';
    el.textContent = `${words}: read as ${v.className(cls)} (${percent(probs[cls])})`;
    el.dataset.fooled = String(kind === 'fooled');
    el.dataset.verdict = kind;
    el.dataset.class = String(cls);
  };
  // Random noise is untargeted by nature: it fools when the reading changes at all.
  say($('noise-verdict'), noisy, r.noise.probs, noisy !== original ? 'fooled' : 'not-fooled');
  say($('noise-fgsm-verdict'), adversarial, r.adversarialProbs, said.kind);
  $('cv-noisy').setAttribute('aria-label', `The image with random noise, read as ${v.className(noisy)}`);
  $('noise').dataset.for = key;
}

const TERMS = {
  x: 'x: the image as the model gets it, pixels from 0 to 1.',
  gradient: '∇ₓJ: how much the loss J changes when each pixel brightens a little (grey = no effect, bright = raises the loss, dark = lowers it; scaled to its largest value).',
  sign: 'sign(∇ₓJ): only the direction of each pixel’s gradient, +1 (bright) or −1 (dark). Every pixel gets the same weight, however small its gradient.',
  step: 'ε · sign(∇ₓJ): the step, ε in every pixel, in the direction that raises the loss; clipping keeps x′ within [0, 1].',
  stepTargeted: '−ε · sign(∇ₓJ): the targeted step goes down the loss of the target class, ε in every pixel; clipping keeps x′ within [0, 1].',
  adversarial: 'x′ = x + the step: the adversarial image. It differs from x by at most ε in any pixel.',
};

/** The equation's terms as pictures; pointing at one (or focusing it) explains it. */
function showTerms(v, r, { target, key }) {
  const { $ } = v;
  putImage($('cv-term-x'), r.images.original, r.width, r.height);
  putImage($('cv-term-gradient'), r.terms.gradient, r.width, r.height);
  putImage($('cv-term-sign'), r.terms.sign, r.width, r.height);
  putImage($('cv-term-step'), r.images.perturbation, r.width, r.height);
  putImage($('cv-term-adversarial'), r.images.adversarial, r.width, r.height);
  $('term-step-name').textContent = target !== null ? '−ε · sign(∇ₓJ)' : 'ε · sign(∇ₓJ)';
  $('terms').dataset.for = key;
  $('terms').dataset.targeted = String(target !== null);
}

export function setupTerms(v) {
  const row = v.$('term-row');
  const explain = (button) => {
    for (const b of row.querySelectorAll('.term')) b.classList.toggle('active', b === button);
    const term = button?.dataset.term;
    const targeted = v.$('terms').dataset.targeted === 'true';
    v.$('term-text').textContent = term ? TERMS[term === 'step' && targeted ? 'stepTargeted' : term] : 'Point at a term, or focus it with Tab, to see what it is.';
    v.$('terms').dataset.active = term ?? '';
  };
  for (const type of ['pointerover', 'focusin', 'click']) row.addEventListener(type, (e) => explain(e.target.closest('.term')));
}

export function clearResults(v, message) {
  const { $ } = v;
  $('draw-result').textContent = '';
  for (const canvas of v.root.querySelectorAll('#results canvas, #noise canvas, #terms canvas')) {
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  for (const id of ['original-pred', 'adversarial-pred', 'fact-label', 'fact-loss', 'fact-linf', 'fact-png', 'noise-verdict', 'noise-fgsm-verdict']) $(id).textContent = '–';
  for (const id of ['original-conf', 'adversarial-conf', 'timing']) $(id).textContent = '';
  $('bars-original').replaceChildren();
  $('bars-adversarial').replaceChildren();
  $('verdict').textContent = message;
  $('verdict').dataset.fooled = '';
  $('verdict').dataset.verdict = '';
  $('results').dataset.for = '';
  $('results').dataset.pending = 'false';
  $('download-row').hidden = true;
  cancelSavedCheck(v);
  v.tokens.cancel('sweep');
  v.sweepChart.show(null, {});
  $('sweep-text').textContent = '–';
  delete $('sweep-text').dataset.for;
  $('sweep-line-name').textContent = 'its first answer';
  $('sweep-legend-line').textContent = 'probability of the first answer';
}
