// The classifiers the site ships, in the order of the page's model picker. Each lives in
// `folder` (model.onnx, model.json and what model.json names). `kind` picks the page's input:
// "digits" (MNIST test digits and a draw pad) or "photo" (sample photos and your own picture).
// `?model=<name>` in the address opens another folder under models/ (its kind then comes from
// its input shape: [1, 1, 28, 28] is digits, anything else a photo).

export const MODELS = [
  { name: 'efficientnet-lite0', folder: 'models/efficientnet-lite0/', kind: 'photo', title: 'Photos · EfficientNet-Lite0' },
  { name: 'mnist', folder: 'models/mnist/', kind: 'digits', title: 'Digits · small CNN (MNIST)' },
  { name: 'mnist-softmax', folder: 'models/mnist-softmax/', kind: 'digits', title: 'Digits · softmax regression (the paper’s shallow model)' },
  { name: 'mnist-adversarial', folder: 'models/mnist-adversarial/', kind: 'digits', title: 'Digits · small CNN, adversarially trained (FGSM, ε = 0.25)' },
];

/**
 * What a widget without a `model` attribute (and the page without ?model=) opens on: a confident
 * photo that one FGSM step of 2/255 flips, so that two pictures that look the same carry different
 * labels. The poster (ui/poster/) is a still of exactly this result, made by
 * tests/browser/make-poster.mjs from the live page; photo.test.mjs checks that they agree.
 */
export const LEAD = { model: 'efficientnet-lite0', image: 'camera', eps: '2/255' };

/** The page's input for a model with this input shape ([1, C, H, W]). */
export function kindOf(inputShape) {
  const [, c, h, w] = inputShape;
  return c === 1 && h === 28 && w === 28 ? 'digits' : 'photo';
}
