// embed.html: one <fgsm-demo> made from the frame's address (?model=…&image=…&eps=…&target=…&
// panels=…&gain=…), which tells its parent page its height whenever it changes, so that the
// host's snippet (in embed.html) can size the frame to fit. Results are passed on too.
import './embed/fgsm-demo.js';

const ATTRIBUTES = ['model', 'image', 'eps', 'target', 'gain', 'panels'];

const params = new URLSearchParams(location.search);
const demo = document.createElement('fgsm-demo');
for (const name of ATTRIBUTES) {
  const value = params.get(name);
  if (value !== null) demo.setAttribute(name, value);
}
// The frame itself is what the host loads lazily; inside it, start at once.
demo.setAttribute('loading', 'eager');
document.querySelector('main').append(demo);

const parentWindow = window.parent !== window ? window.parent : null;
let posted = 0;
const postHeight = () => {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height === posted) return;
  posted = height;
  parentWindow?.postMessage({ type: 'fgsm-demo-height', height }, '*');
};
new ResizeObserver(postHeight).observe(document.documentElement);
postHeight();

demo.addEventListener('fgsm-result', ({ detail }) => parentWindow?.postMessage({ type: 'fgsm-result', detail }, '*'));
