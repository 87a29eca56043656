// The target class of a targeted attack: a text box that searches the model's class names
// (1,000 for ImageNet) and a list of matches below it, as an ARIA 1.2 combobox. Typing filters;
// ↑/↓ move through the matches, Enter picks, Escape closes. Empty = untargeted.

const SHOWN = 60; // matches listed at most; more letters narrow the list

export class TargetPicker {
  #input;
  #list;
  #clear;
  #onChange;
  #classes = [];
  #value = null;
  #matches = [];
  #active = -1;

  /**
   * @param {{input: HTMLInputElement, list: HTMLUListElement, clear: HTMLButtonElement,
   *          onChange: (value: number | null) => void}} parts
   */
  constructor({ input, list, clear, onChange }) {
    this.#input = input;
    this.#list = list;
    this.#clear = clear;
    this.#onChange = onChange;
    input.addEventListener('input', () => this.#open(input.value));
    input.addEventListener('focus', () => input.select());
    input.addEventListener('click', () => this.#list.hidden && this.#open(''));
    input.addEventListener('keydown', (e) => this.#key(e));
    input.addEventListener('blur', () => this.#close());
    // Keep the focus in the text box while an option is clicked.
    list.addEventListener('pointerdown', (e) => e.preventDefault());
    list.addEventListener('click', (e) => {
      const option = e.target.closest('[role=option]');
      if (option) this.#pick(option.dataset.value === '' ? null : Number(option.dataset.value));
    });
    clear.addEventListener('click', () => {
      this.#pick(null);
      input.focus();
    });
  }

  /** @param {string[]} classes the model's class names */
  set classes(classes) {
    this.#classes = classes.map((name, i) => ({ i, name, lower: name.toLowerCase() }));
    this.#close();
  }

  get value() {
    return this.#value;
  }

  /** Sets the target without announcing a change. */
  set value(value) {
    this.#value = value;
    this.#showValue();
  }

  set disabled(on) {
    this.#input.disabled = on;
    this.#clear.disabled = on;
    if (on) this.#close();
  }

  #showValue() {
    const name = this.#value === null ? '' : (this.#classes[this.#value]?.name ?? String(this.#value));
    this.#input.value = name;
    this.#input.dataset.value = this.#value ?? '';
    this.#clear.hidden = this.#value === null;
  }

  /** Class indices matching `query`: names that start with it first, then names containing it. */
  #search(query) {
    const q = query.trim().toLowerCase();
    if (!q) return this.#classes.map((c) => c.i);
    const starts = [];
    const words = [];
    const contains = [];
    for (const c of this.#classes) {
      const at = c.lower.indexOf(q);
      if (at === 0) starts.push(c.i);
      else if (at > 0 && /[\s,(/-]/.test(c.lower[at - 1])) words.push(c.i);
      else if (at > 0) contains.push(c.i);
    }
    // A class number ("#368" or "368") finds that class too.
    const number = q.match(/^#?(\d+)$/);
    const byNumber = number && Number(number[1]) < this.#classes.length ? [Number(number[1])] : [];
    return [...new Set([...starts, ...words, ...contains, ...byNumber])];
  }

  #open(query) {
    this.#matches = this.#search(query);
    const q = query.trim();
    const rows = [];
    if (!q) rows.push(this.#option(null, 'none (untargeted)'));
    for (const i of this.#matches.slice(0, SHOWN)) rows.push(this.#option(i, this.#classes[i].name));
    const more = this.#matches.length - SHOWN;
    if (more > 0 || !this.#matches.length) {
      const note = document.createElement('li');
      note.className = 'combo-note';
      note.setAttribute('role', 'presentation');
      note.textContent = more > 0 ? `… and ${more.toLocaleString('en')} more: type to narrow` : `No class matches “${q}”`;
      rows.push(note);
    }
    this.#list.replaceChildren(...rows);
    const opening = this.#list.hidden;
    this.#list.hidden = false;
    if (opening) this.#list.scrollIntoView({ block: 'nearest' });
    this.#input.setAttribute('aria-expanded', 'true');
    // With a query, the best match is ready for Enter; without one, nothing is.
    this.#setActive(q && this.#matches.length ? 0 : -1);
  }

  #option(value, name) {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.id = `${this.#list.id}-${value ?? 'none'}`;
    li.dataset.value = value ?? '';
    li.setAttribute('aria-selected', String(value === this.#value));
    li.textContent = name;
    if (value !== null && this.#classes.length > 10) {
      const n = document.createElement('span');
      n.className = 'combo-index';
      n.textContent = ` #${value}`;
      li.append(n);
    }
    return li;
  }

  #close() {
    if (this.#list.hidden) return;
    this.#list.hidden = true;
    this.#input.setAttribute('aria-expanded', 'false');
    this.#input.removeAttribute('aria-activedescendant');
    this.#active = -1;
    this.#showValue();
  }

  #options() {
    return [...this.#list.querySelectorAll('[role=option]')];
  }

  #setActive(index) {
    const options = this.#options();
    options.forEach((o, i) => o.classList.toggle('active', i === index));
    this.#active = index;
    const active = options[index];
    if (active) {
      this.#input.setAttribute('aria-activedescendant', active.id);
      active.scrollIntoView({ block: 'nearest' });
    } else {
      this.#input.removeAttribute('aria-activedescendant');
    }
  }

  #key(e) {
    const options = this.#options();
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (this.#list.hidden) return this.#open('');
      const n = options.length;
      if (!n) return;
      const next = e.key === 'ArrowDown' ? this.#active + 1 : this.#active - 1;
      this.#setActive((next + n) % n);
    } else if (e.key === 'Enter') {
      if (this.#list.hidden) return;
      e.preventDefault();
      const option = options[this.#active];
      if (option) this.#pick(option.dataset.value === '' ? null : Number(option.dataset.value));
      else if (!this.#input.value.trim()) this.#pick(null);
    } else if (e.key === 'Escape') {
      if (this.#list.hidden) return;
      e.preventDefault();
      this.#close();
      this.#input.select();
    }
  }

  #pick(value) {
    const changed = value !== this.#value;
    this.#value = value;
    this.#close();
    this.#showValue();
    if (changed) this.#onChange(value);
  }
}
