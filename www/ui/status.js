// The status line (what the widget is doing, with a progress bar) and the alerts (what went
// wrong, in plain words, next to where the reader is looking).
import { seconds, plainWords, linkParts } from './format.js';

export class StatusLine {
  #$;
  #ticker = 0;

  /** @param {(id: string) => HTMLElement} $ the widget's element lookup */
  constructor($) {
    this.#$ = $;
  }

  /**
   * `state`: idle | loading | ready | error. `progress` is a fraction, `'busy'` for an
   * indeterminate bar, or null for none. `since` (a performance.now() time) appends the seconds
   * elapsed, ticking.
   */
  set(state, text, progress = null, { phase = '', since = null } = {}) {
    clearInterval(this.#ticker);
    const status = this.#$('status');
    status.dataset.state = state;
    status.dataset.phase = phase;
    const bar = this.#$('status-progress');
    bar.hidden = progress === null;
    if (progress === 'busy') bar.removeAttribute('value');
    else if (progress !== null) bar.value = progress;
    const words = plainWords(text);
    const show = () => (this.#$('status-text').textContent = since === null ? words : `${words} ${seconds(performance.now() - since)}`);
    show();
    if (since !== null) this.#ticker = setInterval(show, 100);
  }

  get state() {
    return this.#$('status').dataset.state;
  }

  stop() {
    clearInterval(this.#ticker);
  }
}

/** The alert boxes: 'alert' (the widget's), 'model-alert', 'photo-alert'. */
export class Alerts {
  static WHERE = ['alert', 'model-alert', 'photo-alert'];
  #$;

  constructor($) {
    this.#$ = $;
    for (const id of Alerts.WHERE) $(`${id}-close`).addEventListener('click', () => ($(id).hidden = true));
  }

  /** Shows `text` in plain words, with its web addresses as links (never parsed as HTML). */
  show(text, where = 'alert') {
    this.#$(`${where}-text`).replaceChildren(
      ...linkParts(plainWords(text)).map((p) => (p.href ? Object.assign(document.createElement('a'), { href: p.href, textContent: p.text, rel: 'noopener' }) : p.text)),
    );
    const box = this.#$(where);
    box.hidden = false;
    box.scrollIntoView({ block: 'nearest' });
  }

  hide(where = null) {
    for (const id of where ? [where] : Alerts.WHERE) this.#$(id).hidden = true;
  }

  /** An error the reader should see: in an alert, never as an uncaught exception. */
  report(error, context = '', where = 'alert') {
    const message = readableError(error);
    this.show(context ? `${context}: ${message}` : message, where);
  }
}

/** An error's message for people: an unreadable model file is said to be one, without the decoder's words. */
export function readableError(error) {
  const message = error instanceof Error ? error.message : String(error);
  if (/not a readable ONNX file|failed to decode Protobuf/i.test(message)) return 'this file is not an ONNX model (it cannot be read as one)';
  return message;
}
