// Types of <fgsm-demo> (embed/fgsm-demo.js), for editors and TypeScript projects that embed it:
//   /// <reference path="https://host/path/embed/fgsm-demo.d.ts" />  or copy this file beside your code.
// The engine's own API (Model, predict, inputGradient, fgsm) is typed in pkg/fgsm_wasm.d.ts.

/** A panel of the widget, as listed in the `panels` attribute. */
export type FgsmPanel =
  | 'picker' // the model picker
  | 'input' // choose a test digit or a sample photo
  | 'draw' // draw your own digit
  | 'upload' // your own picture (file, drop, paste) and your own ONNX model
  | 'controls' // ε slider, noise gain, target class
  | 'triptych' // the verdict and original · perturbation · adversarial
  | 'noise' // random ±ε noise beside the FGSM perturbation at the same ε, each with the model's verdict
  | 'terms' // x, ∇ₓJ, sign(∇ₓJ), ε·sign(∇ₓJ), x′ each as an image; pointing at one explains it
  | 'sweep' // the prediction at every ε; clicking or dragging sets ε
  | 'bars' // top-5 probabilities of both images, loss, L∞ and the 8-bit PNG check
  | 'robustness' // error against ε over the 500 shipped held-out digits: FGSM, PGD (on the first 100) and random noise, measured live, with a table
  | 'card'; // a closed "Details": the numbers of the attack, the model card and the speed

/** An attack method, as the `method` attribute names it. */
export type FgsmMethod = 'fgsm' | 'fgm' | 'bim' | 'pgd' | 'mi-fgsm' | 'noise';

/** The detail of the `fgsm-result` event: what the reader sees now. */
export interface FgsmResultDetail {
  /** The model's name ("mnist"), its URL, or the reader's file name. */
  model: string;
  /** ε of this attack, in [0, 1]. */
  eps: number;
  /** The clean image's predicted class, its name and probability. */
  label: number;
  labelName: string;
  probability: number;
  /** The adversarial image's predicted class, its name and probability. */
  adversarialLabel: number;
  adversarialName: string;
  adversarialProbability: number;
  targeted: boolean;
  /** The target class when targeted, else null. */
  target: number | null;
  targetName: string | null;
  /** Untargeted: adversarialLabel ≠ label. Targeted: adversarialLabel = target (≠ label). */
  fooled: boolean;
  /** The image as the `image` attribute would name it: a digit's number, a sample's name, "draw", or null (the reader's own picture). */
  image: string | null;
  /** Which input the model takes. */
  kind: 'digits' | 'photo';
  /** The attack method shown. */
  method: FgsmMethod;
  /** The parameters the method takes, as set (alpha only when set; absent, it follows ε). */
  methodParams: { steps?: number; alpha?: number; momentum?: number; seed?: number };
}

export interface FgsmDemoElement extends HTMLElement {
  /**
   * `efficientnet-lite0` | `mnist` | the URL of an ONNX file in the model format. Default
   * efficientnet-lite0; with neither model nor image, the lead sample ("camera") at eps 2/255.
   */
  model: string;
  /** A digit's or sample's number from 0 ("12"), a sample's name ("coffee"), "draw", or a picture's URL. */
  image: string;
  /** "0.25" or "2/255". */
  eps: string;
  /** A class number or exact class name; "" = untargeted. */
  target: string;
  /** Magnification of the perturbation picture: a number, or "fit" (±ε fills the grey range; the default). */
  gain: string;
  /** The attack method (default "fgsm"); an iterative one shows its progress, a Cancel button and its loss per step. */
  method: FgsmMethod | '';
  /** Steps of bim, pgd, mi-fgsm (default "10"). */
  steps: string;
  /** Step size α of bim, pgd, mi-fgsm; "" = auto, which follows ε. */
  alpha: string;
  /** Momentum μ of mi-fgsm (default "1"). */
  momentum: string;
  /** Seed of pgd's random start and of the noise (default "0"): the same seed repeats a run. */
  seed: string;
  /** Comma list of FgsmPanel names. Default "input,triptych,bars,controls". */
  panels: string;
  /** The folder with pkg/ and models/. Default: the site root above embed/fgsm-demo.js. */
  assets: string;
  /** "lazy" (default): starts within about one screen of view, with a poster until then. "eager": at once. */
  loading: 'lazy' | 'eager';
  /**
   * A function that returns the address of the view shown; with it the widget offers a "Copy link
   * to this view" button (the standalone page sets it to its own, kept-up-to-date address).
   */
  shareLink: (() => string) | null;
  /** The latest result, or null before the first. */
  readonly result: FgsmResultDetail | null;
  /** Starts now, whatever `loading` says. */
  start(): void;
  addEventListener<K extends keyof FgsmDemoEventMap>(type: K, listener: (this: FgsmDemoElement, ev: FgsmDemoEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

export interface FgsmDemoEventMap extends HTMLElementEventMap {
  'fgsm-result': CustomEvent<FgsmResultDetail>;
}

declare global {
  interface HTMLElementTagNameMap {
    'fgsm-demo': FgsmDemoElement;
  }
  interface HTMLElementEventMap {
    'fgsm-result': CustomEvent<FgsmResultDetail>;
  }
}
