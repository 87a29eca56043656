// <fgsm-demo>: the whole FGSM demo as one tag. An author writes
//
//   <script type="module" src="https://host/path/embed/fgsm-demo.js"></script>
//   <fgsm-demo model="efficientnet-lite0" image="coffee" eps="2/255"></fgsm-demo>
//
// Attributes (each mirrored by a property; changing one updates the widget live):
//   model    efficientnet-lite0 (default) | mnist | the URL of an ONNX file in the model format
//   image    a digit's or sample's number from 0 ("12"), a sample's name ("camera", "coffee",
//            "chelsea", "astronaut", "rocket"), "draw", or a picture's URL (photo models).
//            Without model and image: the lead sample ("camera"), and eps 2/255 unless given.
//   eps      0.25 or 2/255
//   target   a class number or exact class name; absent or empty = untargeted
//   gain     magnification of the perturbation picture (a number, or "fit": ±ε fills the grey range)
//   method   fgsm (default) | fgm | bim | pgd | mi-fgsm | noise, with the parameters it takes:
//            steps, alpha (absent = auto, following ε), momentum, seed
//   panels   comma list: picker, input, draw, upload, controls, triptych, noise, terms, sweep, bars,
//            robustness, card (default input,triptych,bars,controls)
//   assets   the URL of the folder with pkg/ and models/ (default: the site root above this file)
//   loading  lazy (default: starts within about one screen of view, a poster until then) | eager
// Event: fgsm-result (bubbles, composed) after every attack shown; see fgsm-demo.d.ts.
// Every widget on a page shares one worker, one wasm instance and one copy of each model.
import { DemoView } from '../ui/view.js';
import { DEFAULT_PANELS } from '../ui/template.js';
import { LEAD } from '../ui/models.js';

const STYLESHEET = new URL('../ui/widget.css', import.meta.url).href;
const SITE = new URL('../', import.meta.url).href;
/** The attack method and its parameters (see ui/method.js). */
const METHOD_ATTRIBUTES = ['method', 'steps', 'alpha', 'momentum', 'seed'];
const ATTRIBUTES = ['model', 'image', 'eps', 'target', 'gain', ...METHOD_ATTRIBUTES, 'panels', 'assets', 'loading'];

export class FgsmDemo extends HTMLElement {
  static observedAttributes = ATTRIBUTES;

  #view = null;
  #observer = null;
  #result = null;
  #connected = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    // The stylesheet is a file (no inline styles, for pages with a strict CSP); the content stays
    // hidden until it has loaded, so that it never shows unstyled.
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = STYLESHEET;
    root.append(link);
    this.#view = new DemoView(root, { assets: this.assets, onResult: (detail) => this.#emit(detail) });
    const content = root.getElementById('fgsm');
    content.hidden = true;
    const show = () => (content.hidden = false);
    link.addEventListener('load', show, { once: true });
    link.addEventListener('error', show, { once: true });
  }

  connectedCallback() {
    this.#connected = true;
    for (const name of ATTRIBUTES) this.#apply(name, this.getAttribute(name));
    this.#lead();
    if (this.#view.started) return;
    if (this.loading === 'eager' || typeof IntersectionObserver === 'undefined') {
      this.#view.start();
      return;
    }
    // Lazy: start when the widget comes within about one screen of the viewport.
    this.#observer = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        this.#observer.disconnect();
        this.#observer = null;
        this.#view.start();
      },
      { rootMargin: '100% 0px 100% 0px' },
    );
    this.#observer.observe(this);
  }

  disconnectedCallback() {
    this.#connected = false;
    this.#observer?.disconnect();
    this.#observer = null;
  }

  attributeChangedCallback(name, old, value) {
    // Before the element is connected, connectedCallback applies every attribute at once.
    if (old !== value && this.#connected) this.#apply(name, value);
  }

  /** Starts now, whatever `loading` says. */
  start() {
    this.#observer?.disconnect();
    this.#view.start();
  }

  /**
   * A function that returns the address of the view shown (the standalone page sets it): the
   * widget then offers a "Copy link to this view" button.
   */
  set shareLink(link) {
    this.#view.setShare(typeof link === 'function' ? link : null);
  }

  get shareLink() {
    return this.#view.shareLink ?? null;
  }

  /** The detail of the latest fgsm-result event, or null before the first. */
  get result() {
    return this.#result;
  }

  #applied = {};

  #apply(name, value) {
    if (this.#applied[name] === value) return;
    this.#applied[name] = value;
    const view = this.#view;
    switch (name) {
      case 'model':
        view.setModel(value ?? '');
        if (this.#connected) this.#lead();
        this.#poster();
        break;
      case 'image':
        if (value !== null) view.chooseImage(value);
        if (this.#connected) this.#lead();
        this.#poster();
        break;
      case 'eps':
        if (value !== null) view.setEpsText(value);
        this.#poster();
        break;
      case 'target':
        view.setTargetText(value ?? '');
        break;
      case 'gain':
        view.setGain(value ?? 'fit');
        break;
      case 'panels':
        view.setPanels(value === null ? DEFAULT_PANELS : value.split(','));
        break;
      case 'assets':
        view.assets = this.assets;
        this.#poster();
        break;
      case 'loading':
        if (value === 'eager' && this.#connected) this.start();
        break;
      default:
        if (METHOD_ATTRIBUTES.includes(name)) view.setMethodOption(name, value);
    }
  }

  /**
   * Without a model and an image, the widget opens on the lead photo (and ε, unless given) until
   * the reader or the author picks something else.
   */
  #lead() {
    const on = !this.model && !this.image;
    this.#view.setLead(on ? { ...LEAD, eps: this.eps || LEAD.eps } : null);
    this.#poster();
  }

  /**
   * Before it starts and while it loads, the widget shows a still of what it will show: the lead's
   * poster, or the sample photo it will attack when it names one.
   */
  #poster() {
    const model = this.model || LEAD.model;
    const image = this.image || (this.model ? '' : LEAD.image);
    const eps = this.eps || (this.model || this.image ? '' : LEAD.eps);
    // The still of the lead result, when that is exactly what the widget will show.
    const still = model === LEAD.model && image === LEAD.image && eps === LEAD.eps;
    let url = null;
    if (image && /^[a-z][\w-]*$/i.test(image) && image !== 'draw' && /^[\w-]+$/.test(model)) url = new URL(`models/${model}/samples/${image}.png`, this.assets).href;
    else if (image && /[/.]/.test(image)) url = new URL(image, document.baseURI).href;
    this.#view.setPoster(url, still);
  }

  #emit(detail) {
    this.#result = detail;
    this.dispatchEvent(new CustomEvent('fgsm-result', { detail, bubbles: true, composed: true }));
  }

  get assets() {
    const value = this.getAttribute('assets');
    return value ? new URL(value.endsWith('/') ? value : `${value}/`, document.baseURI).href : SITE;
  }

  set assets(value) {
    this.#set('assets', value);
  }

  get loading() {
    return this.getAttribute('loading') === 'eager' ? 'eager' : 'lazy';
  }

  set loading(value) {
    this.#set('loading', value);
  }

  get panels() {
    return this.getAttribute('panels') ?? DEFAULT_PANELS.join(',');
  }

  set panels(value) {
    this.#set('panels', Array.isArray(value) ? value.join(',') : value);
  }

  #set(name, value) {
    if (value === null || value === undefined || value === '') this.removeAttribute(name);
    else this.setAttribute(name, String(value));
  }
}

// model, image, eps, target, gain and the method's: string properties that mirror their attributes.
for (const name of ['model', 'image', 'eps', 'target', 'gain', ...METHOD_ATTRIBUTES]) {
  Object.defineProperty(FgsmDemo.prototype, name, {
    get() {
      return this.getAttribute(name) ?? '';
    },
    set(value) {
      if (value === null || value === undefined || value === '') this.removeAttribute(name);
      else this.setAttribute(name, String(value));
    },
  });
}

if (!customElements.get('fgsm-demo')) customElements.define('fgsm-demo', FgsmDemo);
