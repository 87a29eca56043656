// The classifiers the site ships, in the order of the page's model picker. Each lives in
// `folder` (model.onnx, model.json and what model.json names). `kind` picks the page's input:
// "digits" (MNIST test digits and a draw pad) or "photo" (sample photos and your own picture).
// `?model=<name>` in the address opens another folder under models/ (its kind then comes from
// its input shape: [1, 1, 28, 28] is digits, anything else a photo).

export const MODELS = [
  { name: 'mnist', folder: 'models/mnist/', kind: 'digits', title: 'Digits · small CNN (MNIST)' },
  { name: 'efficientnet-lite0', folder: 'models/efficientnet-lite0/', kind: 'photo', title: 'Photos · EfficientNet-Lite0 (ImageNet)' },
];

/** The page's input for a model with this input shape ([1, C, H, W]). */
export function kindOf(inputShape) {
  const [, c, h, w] = inputShape;
  return c === 1 && h === 28 && w === 28 ? 'digits' : 'photo';
}
