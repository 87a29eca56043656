// Top-k probability bars as an ordered list (readable by screen readers, styled in widget.css).
import { percent, topK } from './format.js';

/**
 * Fills `list` (an <ol>) with the top `k` classes of `probs`, then the classes of `always` that
 * are not among them. `highlight` maps a class index to a CSS modifier and a short tag, e.g.
 * {7: ['original', 'original']}.
 */
export function renderBars(list, probs, classes, { k = 5, highlight = {}, always = [] } = {}) {
  const top = topK(probs, Math.min(k, probs.length));
  const extra = always.filter((c) => !top.includes(c));
  const rows = [...top, ...extra].map((c) => {
    const row = document.createElement('li');
    row.className = 'bar-row';
    if (extra.includes(c)) row.classList.add('bar-extra');
    const [modifier, tag] = highlight[c] ?? [];
    if (modifier) row.classList.add(`bar-${modifier}`);

    const name = document.createElement('span');
    name.className = 'bar-class';
    name.textContent = classes[c] ?? String(c);
    name.title = name.textContent;
    const track = document.createElement('span');
    track.className = 'bar-track';
    const fill = document.createElement('span');
    fill.className = 'bar-fill';
    fill.style.width = `${Math.max(0, Math.min(1, probs[c])) * 100}%`;
    track.append(fill);
    if (tag) {
      const t = document.createElement('span');
      t.className = 'bar-tag';
      t.textContent = ` (${tag})`;
      track.append(t);
    }
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = percent(probs[c]);
    row.append(name, track, value);
    return row;
  });
  list.replaceChildren(...rows);
}
