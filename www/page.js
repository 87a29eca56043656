// The standalone page: the <fgsm-demo> widget with every panel, plus the address. The address
// (?model=…#digit=12&eps=0.25) sets the widget's attributes when the page opens, and every result
// the widget shows is written back to it, so that a view can be shared.
import { parseAddress, formatAddress } from './ui/url-state.js';
import { LEAD } from './ui/models.js';

const demo = document.querySelector('fgsm-demo');
const asked = parseAddress(location.search, location.hash);
for (const name of ['model', 'image', 'eps', 'target']) if (asked[name] !== undefined) demo.setAttribute(name, asked[name]);

demo.addEventListener('fgsm-result', ({ detail }) => {
  const { search, hash } = formatAddress(location.search, { ...detail, defaultModel: LEAD.model });
  history.replaceState(null, '', `${location.pathname}${search}${hash}`);
});

// The element is defined only now, so that it starts with the address's attributes.
await import('./embed/fgsm-demo.js');
demo.shareLink = () => location.href;
