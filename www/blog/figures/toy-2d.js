// Figure 4 of the article: a 2-D toy classifier. The reader drags a point (or moves it with the
// arrow keys) and sees ∇ₓJ, the plain gradient step, the sign step and the L∞ square of
// half-side ε; a second canvas shows training going down the loss and the attack going up.
import { prepareCanvas, redrawOnResize, prefersReducedMotion, formatNumber, parts } from './common.js';
import {
  makeMoons, createNetwork, createTrainer, train, meanLoss, logit, attack, lossAlongSign, TOY_START,
} from './toy-2d-model.js';

// The part of the plane shown: x across, y up (equal units both ways, so the L∞ ball is square).
export const VIEW = { x0: -1.2, x1: 2.2, y0: -0.8, y1: 1.325 }; // 3.4 × 2.125: the canvas's 1.6 aspect
const TRAIN_STEPS = 300;
const GRID = 4; // CSS pixels per cell of the shaded background and the boundary contour

/** Sets up the figure inside `figure`; returns a handle for tests ({ state, redraw }). */
export function mountToy2d(figure) {
  const { plane, losses, epsInput, epsOut, readout, trainButton } = parts(figure, {
    plane: '.toy-plane', losses: '.toy-losses', epsInput: '.toy-eps', epsOut: '.toy-eps-value',
    readout: '.toy-readout', trainButton: '.toy-train',
  });

  const data = makeMoons(160);
  const state = { data, net: createNetwork(8, 3), point: [...TOY_START], eps: Number(epsInput.value), epsMax: Number(epsInput.max), curve: [], background: null };
  trainAll();

  function trainAll() {
    state.net = createNetwork(8, 3);
    state.curve = train(state.net, data, TRAIN_STEPS);
    state.background = null;
  }

  // Replays training, a few steps a frame, so the reader watches the loss go down and the
  // boundary take shape. With reduced motion it jumps to the end.
  let replaying = 0;
  trainButton?.addEventListener('click', () => {
    if (prefersReducedMotion()) {
      trainAll();
      draw();
      return;
    }
    const run = ++replaying;
    state.net = createNetwork(8, 3);
    const trainer = createTrainer(state.net, data);
    state.curve = [];
    trainButton.disabled = true;
    const frame = () => {
      if (run !== replaying) return;
      for (let k = 0; k < 4 && state.curve.length < TRAIN_STEPS; k++) state.curve.push(trainer.step());
      if (state.curve.length >= TRAIN_STEPS) state.curve.push(meanLoss(state.net, data));
      state.background = null;
      draw();
      if (state.curve.length <= TRAIN_STEPS) requestAnimationFrame(frame);
      else trainButton.disabled = false;
    };
    requestAnimationFrame(frame);
  });

  epsInput.addEventListener('input', () => {
    state.eps = Number(epsInput.value);
    draw();
  });

  // Dragging: press anywhere to put the point there, then drag it.
  const toPlane = (event) => {
    const rect = plane.getBoundingClientRect();
    const u = (event.clientX - rect.left) / rect.width;
    const v = (event.clientY - rect.top) / rect.height;
    return clampToView([VIEW.x0 + u * (VIEW.x1 - VIEW.x0), VIEW.y1 - v * (VIEW.y1 - VIEW.y0)]);
  };
  plane.addEventListener('pointerdown', (event) => {
    plane.setPointerCapture(event.pointerId);
    state.point = toPlane(event);
    draw();
    event.preventDefault();
  });
  plane.addEventListener('pointermove', (event) => {
    if (!plane.hasPointerCapture(event.pointerId)) return;
    state.point = toPlane(event);
    draw();
  });
  plane.addEventListener('keydown', (event) => {
    const step = event.shiftKey ? 0.2 : 0.05;
    const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[event.key];
    if (!move) return;
    state.point = clampToView([state.point[0] + move[0], state.point[1] + move[1]]);
    draw();
    event.preventDefault();
  });

  function draw() {
    const result = attack(state.net, state.point, state.eps);
    state.result = result;
    epsOut.textContent = state.eps.toFixed(2);
    drawPlane(plane, state, result);
    drawLosses(losses, state, result);
    const name = (label) => (label === 1 ? 'orange' : 'blue');
    const confidence = (p, label) => `${Math.round(100 * (label === 1 ? p : 1 - p))} %`;
    const after = result.pAfter >= 0.5 ? 1 : 0;
    const text =
      `The point at (${state.point[0].toFixed(2)}, ${state.point[1].toFixed(2)}) is ${name(result.label)} ` +
      `(${confidence(result.pBefore, result.label)}), loss ${formatNumber(result.lossBefore, 2)}. ` +
      `The sign step of ε = ${state.eps.toFixed(2)} lands on a corner of the square, where the model says ` +
      `${name(after)} (${confidence(result.pAfter, after)}) and the loss is ${formatNumber(result.lossSignStep, 2)}` +
      `${result.fooled ? ': fooled.' : '.'} The plain gradient step of the same length ε reaches a loss of ` +
      `${formatNumber(result.lossGradientStep, 2)}${result.gradientStepFooled ? ' and fools it too.' : ' and does not fool it.'}`;
    readout.textContent = text;
    plane.setAttribute('aria-label', `Two classes of points, blue and orange, and the model's boundary between them. ${text}`);
    plane.dataset.fooled = String(result.fooled);
  }

  redrawOnResize(plane, draw);
  return { state, draw };
}

function clampToView([x, y]) {
  return [Math.min(VIEW.x1, Math.max(VIEW.x0, x)), Math.min(VIEW.y1, Math.max(VIEW.y0, y))];
}

/** Shaded background (the model's confidence) and the decision boundary, cached until retrained. */
function background(state, width, height, colour) {
  const key = `${width}x${height}`;
  if (state.background?.key === key) return state.background;
  const cols = Math.ceil(width / GRID) + 1;
  const rows = Math.ceil(height / GRID) + 1;
  const z = new Float64Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      z[r * cols + c] = logit(state.net, fromPixel(c * GRID, r * GRID, width, height));
    }
  }
  const image = new ImageData(cols, rows);
  const a = rgb(colour('--toy-a-soft'));
  const b = rgb(colour('--toy-b-soft'));
  const paper = rgb(colour('--paper'));
  for (let k = 0; k < z.length; k++) {
    const p = 1 / (1 + Math.exp(-z[k]));
    const side = p >= 0.5 ? b : a;
    const strength = Math.abs(p - 0.5) * 2; // 0 on the boundary, 1 where the model is sure
    for (let ch = 0; ch < 3; ch++) image.data[4 * k + ch] = paper[ch] + (side[ch] - paper[ch]) * strength;
    image.data[4 * k + 3] = 255;
  }
  const canvas = new OffscreenCanvas(cols, rows);
  canvas.getContext('2d').putImageData(image, 0, 0);
  state.background = { key, canvas, contour: contourSegments(z, cols, rows) };
  return state.background;
}

/** Marching squares on the logit grid: line segments (in grid units) where the logit is 0. */
export function contourSegments(z, cols, rows) {
  const segments = [];
  const cross = (i, j, za, zb, horizontal) => {
    const t = za / (za - zb);
    return horizontal ? [i + t, j] : [i, j + t];
  };
  for (let j = 0; j + 1 < rows; j++) {
    for (let i = 0; i + 1 < cols; i++) {
      const z00 = z[j * cols + i];
      const z10 = z[j * cols + i + 1];
      const z01 = z[(j + 1) * cols + i];
      const z11 = z[(j + 1) * cols + i + 1];
      const points = [];
      if (z00 > 0 !== z10 > 0) points.push(cross(i, j, z00, z10, true));
      if (z10 > 0 !== z11 > 0) points.push(cross(i + 1, j, z10, z11, false));
      if (z01 > 0 !== z11 > 0) points.push(cross(i, j + 1, z01, z11, true));
      if (z00 > 0 !== z01 > 0) points.push(cross(i, j, z00, z01, false));
      for (let k = 0; k + 1 < points.length; k += 2) segments.push([points[k], points[k + 1]]);
    }
  }
  return segments;
}

function fromPixel(px, py, width, height) {
  return [VIEW.x0 + (px / width) * (VIEW.x1 - VIEW.x0), VIEW.y1 - (py / height) * (VIEW.y1 - VIEW.y0)];
}

function rgb(css) {
  const m = css.match(/^#([0-9a-f]{6})$/i);
  if (!m) return [128, 128, 128];
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function drawPlane(canvas, state, result) {
  const c = prepareCanvas(canvas);
  if (!c) return;
  const { ctx, width, height, colour } = c;
  const sx = (x) => ((x - VIEW.x0) / (VIEW.x1 - VIEW.x0)) * width;
  const sy = (y) => ((VIEW.y1 - y) / (VIEW.y1 - VIEW.y0)) * height;
  const unit = width / (VIEW.x1 - VIEW.x0);

  const bg = background(state, width, height, colour);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(bg.canvas, 0, 0, bg.canvas.width * GRID, bg.canvas.height * GRID);
  ctx.strokeStyle = colour('--ink');
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const [[ax, ay], [bx, by]] of bg.contour) {
    ctx.moveTo(ax * GRID, ay * GRID);
    ctx.lineTo(bx * GRID, by * GRID);
  }
  ctx.stroke();

  const { data } = state;
  for (let i = 0; i < data.points.length; i++) {
    const [x, y] = data.points[i];
    ctx.beginPath();
    ctx.arc(sx(x), sy(y), 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = colour(data.labels[i] === 1 ? '--toy-b' : '--toy-a');
    ctx.globalAlpha = 0.55;
    ctx.fill();
    ctx.globalAlpha = 1;
  }

  const [px, py] = state.point;
  const eps = state.eps;
  // The L∞ ball: every point within ε of x in each coordinate separately.
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = colour('--ink');
  ctx.lineWidth = 1.25;
  ctx.strokeRect(sx(px - eps), sy(py + eps), 2 * eps * unit, 2 * eps * unit);
  ctx.setLineDash([]);

  // ∇ₓJ's direction as a plain gradient step of L2 length ε, and the sign step to a corner.
  arrow(ctx, sx(px), sy(py), sx(result.gradientStep[0]), sy(result.gradientStep[1]), colour('--muted'), 2);
  arrow(ctx, sx(px), sy(py), sx(result.signStep[0]), sy(result.signStep[1]), colour('--accent'), 3);

  const dot = (x, y, label, r) => {
    ctx.beginPath();
    ctx.arc(sx(x), sy(y), r, 0, 2 * Math.PI);
    ctx.fillStyle = colour(label === 1 ? '--toy-b' : '--toy-a');
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = colour('--paper');
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.strokeStyle = colour('--ink');
    ctx.stroke();
  };
  dot(result.signStep[0], result.signStep[1], result.pAfter >= 0.5 ? 1 : 0, 7);
  dot(px, py, result.label, 10);

  ctx.font = `600 13px ${c.font}`;
  ctx.fillStyle = colour('--ink');
  ctx.textBaseline = 'middle';
  // Labels just beyond each end of the step, so the arrow never covers them.
  const [dx, dy] = [Math.sign(result.signStep[0] - px), -Math.sign(result.signStep[1] - py)];
  ctx.textAlign = 'center';
  label(ctx, 'x', sx(px) - dx * 17, sy(py) - dy * 17, width);
  label(ctx, 'x′', sx(result.signStep[0]) + dx * 17, sy(result.signStep[1]) + dy * 17, width);
}

function label(ctx, text, x, y, width) {
  ctx.fillText(text, Math.min(Math.max(x, 10), width - 10), y);
}

function arrow(ctx, x0, y0, x1, y1, colour, widthPx) {
  const length = Math.hypot(x1 - x0, y1 - y0);
  if (length < 1) return;
  const ux = (x1 - x0) / length;
  const uy = (y1 - y0) / length;
  const head = Math.min(10, length * 0.45);
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = widthPx;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1 - ux * head * 0.8, y1 - uy * head * 0.8);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - ux * head - uy * head * 0.5, y1 - uy * head + ux * head * 0.5);
  ctx.lineTo(x1 - ux * head + uy * head * 0.5, y1 - uy * head - ux * head * 0.5);
  ctx.closePath();
  ctx.fill();
}

/** Two small plots: training's mean loss against the step (down), and this point's loss along the sign direction against ε (up). */
function drawLosses(canvas, state, result) {
  const c = prepareCanvas(canvas);
  if (!c) return;
  const { ctx, width, height, colour } = c;
  const gap = 24;
  const pad = { top: 26, bottom: 28, left: 34, right: 8 };
  const panelW = (width - gap - pad.left * 2 - pad.right) / 2;
  const plotH = height - pad.top - pad.bottom;
  ctx.font = `12px ${c.font}`;

  const panel = (left, title, xLabel, points, xMax, yMax, stroke, marker) => {
    const x = (v) => left + (v / xMax) * panelW;
    const y = (v) => pad.top + (1 - Math.min(v, yMax) / yMax) * plotH;
    ctx.strokeStyle = colour('--rule');
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, pad.top);
    ctx.lineTo(left, pad.top + plotH);
    ctx.lineTo(left + panelW, pad.top + plotH);
    ctx.stroke();
    ctx.fillStyle = colour('--ink');
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.fillText(title, left - pad.left + 4, 14);
    ctx.fillStyle = colour('--muted');
    ctx.textAlign = 'right';
    ctx.fillText(xLabel, left + panelW, height - 8);
    ctx.fillText(formatNumber(yMax, 2), left - 5, pad.top + 4);
    ctx.fillText('0', left - 5, pad.top + plotH);
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(([u, v], i) => (i ? ctx.lineTo(x(u), y(v)) : ctx.moveTo(x(u), y(v))));
    ctx.stroke();
    if (marker) {
      ctx.fillStyle = stroke;
      ctx.beginPath();
      ctx.arc(x(marker[0]), y(marker[1]), 4.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  };

  const curve = state.curve.map((v, i) => [i, v]);
  const trainMax = Math.max(0.8, ...state.curve.slice(0, 1));
  panel(pad.left, 'Training: mean loss ↓', `weight steps (${TRAIN_STEPS})`, curve, TRAIN_STEPS, trainMax, colour('--muted'),
    curve.length ? curve[curve.length - 1] : null);

  const maxEps = Number(state.epsMax);
  const along = lossAlongSign(state.net, state.point, result.label, maxEps, 60);
  const attackMax = Math.max(1, ...along.map(([, v]) => v));
  panel(pad.left * 2 + panelW + gap, 'Attack: loss of x ↑', 'ε along sign(∇ₓJ)', along, maxEps, attackMax, colour('--accent'),
    [state.eps, result.lossSignStep]);
}
