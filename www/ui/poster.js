// Written by tests/browser/make-poster.mjs from the live page: the still the widget shows while it
// loads (see models.js, LEAD). Do not edit by hand; photo.test.mjs checks it against the live result.
export const POSTER = {
  "model": "efficientnet-lite0",
  "image": "camera",
  "eps": "2/255",
  "files": {
    "original": "camera-2-255-original.webp",
    "adversarial": "camera-2-255-adversarial.webp"
  },
  "original": {
    "name": "tripod",
    "percent": "93.6 %"
  },
  "adversarial": {
    "name": "harmonica",
    "percent": "51.9 %"
  },
  "verdict": "Fooled: tripod → harmonica at ε = 2/255"
};
