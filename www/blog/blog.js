// The article's own script: makes the sentences under the network figures follow the reader, from
// each widget's `fgsm-result` event, and mounts the purpose-made figures (4 and 5). index.html
// loads it before the widget, and it listens before it does anything slow, so no result is missed.
import { mountToy2d } from './figures/toy-2d.js';
import { mountLinearDims } from './figures/linear-dims.js';
import { describeResult } from './reaction.js';

// fgsm-result bubbles and is composed, so one listener hears every widget on the page.
document.addEventListener('fgsm-result', (event) => {
  const widget = event.target.closest?.('fgsm-demo');
  if (!widget?.id || !event.detail) return;
  const line = document.querySelector(`[data-reaction-for="${widget.id}"]`);
  if (!line) return;
  line.textContent = describeResult(event.detail);
  line.dataset.fooled = String(Boolean(event.detail.fooled));
});

const toy = document.querySelector('#fig-toy');
const dims = document.querySelector('#fig-dims');
// Handles for the browser test, which checks that the figures react to their controls.
window.blogFigures = {
  toy: toy && mountToy2d(toy),
  dims: dims && mountLinearDims(dims),
};
