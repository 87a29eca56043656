// Figure 5 of the article: how much a linear unit's activation moves when each of its n inputs
// moves by at most ε, against n, on log–log axes. The sign of the weights (the FGSM direction)
// adds up linearly, ε‖w‖₁ ≈ ε·m·n; random signs add up only like √n.
import { prepareCanvas, redrawOnResize, formatNumber, parts } from './common.js';
import {
  MAX_INPUTS, makeWeights, randomSigns, prefixSums, signChange, paperEstimate, randomChange, randomTypical,
  meanMagnitude, inputsFromSlider, sliderFromInputs,
} from './linear-dims-model.js';

const Y_MIN = 1e-5;
const Y_MAX = 1e2;
const LANDMARKS = [
  [784, '28×28 digit', 'digit'],
  [MAX_INPUTS, '224×224 photo', 'photo'],
];

/** Sets up the figure inside `figure`; returns a handle for tests ({ state, draw }). */
export function mountLinearDims(figure) {
  const { canvas, nInput, nOut, epsInput, epsOut, readout, redraw } = parts(figure, {
    canvas: '.dims-plot', nInput: '.dims-n', nOut: '.dims-n-value', epsInput: '.dims-eps',
    epsOut: '.dims-eps-value', readout: '.dims-readout', redraw: '.dims-redraw',
  });

  const weights = makeWeights(MAX_INPUTS);
  const state = {
    m: meanMagnitude(weights),
    seed: 5,
    sums: null,
    n: 784,
    eps: Number(epsInput.value) / 255,
  };
  state.sums = prefixSums(weights, randomSigns(MAX_INPUTS, state.seed));
  const steps = Number(nInput.max);
  nInput.value = String(sliderFromInputs(state.n, steps));

  nInput.addEventListener('input', () => {
    state.n = inputsFromSlider(Number(nInput.value), steps);
    draw();
  });
  epsInput.addEventListener('input', () => {
    state.eps = Number(epsInput.value) / 255;
    draw();
  });
  redraw?.addEventListener('click', () => {
    state.seed += 1;
    state.sums = prefixSums(weights, randomSigns(MAX_INPUTS, state.seed));
    draw();
  });

  function draw() {
    const { sums, n, eps, m } = state;
    const values = {
      sign: signChange(sums, n, eps),
      paper: paperEstimate(m, n, eps),
      random: randomChange(sums, n, eps),
      typical: randomTypical(sums, n, eps),
    };
    state.values = values;
    nOut.textContent = n.toLocaleString('en-US');
    nInput.setAttribute('aria-valuetext', `${n.toLocaleString('en-US')} inputs`);
    epsOut.textContent = `${epsInput.value}/255 = ${formatNumber(eps, 2)}`;
    const ratio = values.sign / Math.max(values.typical, 1e-12);
    const text =
      `With ${n.toLocaleString('en-US')} ${n === 1 ? 'input' : 'inputs'} each moved by ε = ${epsInput.value}/255, the sign of w moves the ` +
      `activation by ${formatNumber(values.sign, 3)} (the paper's ε·m·n gives ${formatNumber(values.paper, 3)}); ` +
      `random signs of the same size move it by about ${formatNumber(values.typical, 2)}, ` +
      `${formatNumber(ratio, 2)} times less. No input moved by more than ${formatNumber(eps, 2)}.`;
    readout.textContent = text;
    canvas.setAttribute('aria-label', `Log–log plot of the change in a linear unit's activation against the number of inputs perturbed. ${text}`);
    canvas.dataset.sign = String(values.sign);
    plot(canvas, state);
  }

  redrawOnResize(canvas, draw);
  return { state, draw };
}

function plot(canvas, state) {
  const c = prepareCanvas(canvas);
  if (!c) return;
  const { ctx, width, height, colour } = c;
  const narrow = width < 480;
  const pad = { top: 28, right: narrow ? 12 : 24, bottom: 44, left: narrow ? 44 : 56 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const logMax = Math.log10(MAX_INPUTS);
  const x = (n) => pad.left + (Math.log10(n) / logMax) * plotW;
  const y = (v) => {
    const t = (Math.log10(Math.max(v, Y_MIN)) - Math.log10(Y_MIN)) / (Math.log10(Y_MAX) - Math.log10(Y_MIN));
    return pad.top + (1 - Math.min(1, t)) * plotH;
  };
  ctx.font = `12px ${c.font}`;

  // Grid and axes: decades both ways.
  ctx.lineWidth = 1;
  ctx.fillStyle = colour('--muted');
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let e = Math.log10(Y_MIN); e <= Math.log10(Y_MAX); e++) {
    ctx.strokeStyle = colour('--rule-soft');
    ctx.beginPath();
    ctx.moveTo(pad.left, y(10 ** e));
    ctx.lineTo(pad.left + plotW, y(10 ** e));
    ctx.stroke();
    if (!narrow || e % 2 === 0) ctx.fillText(decade(e), pad.left - 6, y(10 ** e));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let e = 0; e <= Math.floor(logMax); e++) {
    ctx.strokeStyle = colour('--rule-soft');
    ctx.beginPath();
    ctx.moveTo(x(10 ** e), pad.top);
    ctx.lineTo(x(10 ** e), pad.top + plotH);
    ctx.stroke();
    ctx.fillText(decade(e), x(10 ** e), pad.top + plotH + 5);
  }
  ctx.fillText('inputs perturbed, n', pad.left + plotW / 2, pad.top + plotH + 24);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText('change in activation, |wᵀη|', 4, 14);

  for (const [n, name, short] of LANDMARKS) {
    ctx.strokeStyle = colour('--rule');
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(x(n), pad.top);
    ctx.lineTo(x(n), pad.top + plotH);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colour('--muted');
    ctx.textAlign = n === MAX_INPUTS ? 'right' : 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(narrow ? short : name, x(n) + (n === MAX_INPUTS ? -4 : 4), pad.top + plotH - 4);
  }

  // The curves, sampled evenly in log n.
  const samples = [];
  for (let k = 0; k <= 400; k++) samples.push(Math.max(1, Math.round(10 ** ((k / 400) * logMax))));
  const curve = (f, stroke, lineWidth, dash = []) => {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = lineWidth;
    ctx.setLineDash(dash);
    ctx.beginPath();
    samples.forEach((n, i) => (i ? ctx.lineTo(x(n), y(f(n))) : ctx.moveTo(x(n), y(f(n)))));
    ctx.stroke();
    ctx.setLineDash([]);
  };
  const { sums, eps, m, n } = state;
  curve((k) => randomChange(sums, k, eps), colour('--random-soft'), 1);
  curve((k) => randomTypical(sums, k, eps), colour('--random'), 2, [6, 4]);
  curve((k) => signChange(sums, k, eps), colour('--accent'), 3);
  curve((k) => paperEstimate(m, k, eps), colour('--ink'), 1, [2, 3]);

  // The slider's n.
  ctx.strokeStyle = colour('--ink');
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x(n), pad.top);
  ctx.lineTo(x(n), pad.top + plotH);
  ctx.stroke();
  const dot = (v, fill) => {
    ctx.fillStyle = fill;
    ctx.beginPath();
    ctx.arc(x(n), y(v), 5, 0, 2 * Math.PI);
    ctx.fill();
  };
  dot(randomTypical(sums, n, eps), colour('--random'));
  dot(signChange(sums, n, eps), colour('--accent'));
}

function decade(e) {
  if (e >= 0 && e <= 3) return String(10 ** e);
  if (e > 3) return `${10 ** (e - 3)}k`;
  return `10${superscript(e)}`;
}

function superscript(e) {
  const digits = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
  return String(e).split('').map((d) => digits[d]).join('');
}
