// The 8-bit PNG check: whether x′ still does what it did once saved, since a PNG stores 8 bits a
// channel and so rounds x′ to multiples of 1/255. The check is a forward pass of its own, so it
// runs once the slider rests, not at every step: while ε moves, the "Saved as an 8-bit PNG" line
// and the download offer say the check is pending instead of showing a verdict for an earlier x′.
import { STALE } from './worker-client.js';
import { percent, slug } from './format.js';
import { isFooled } from './verdict.js';

/** How long ε must stay still (no input in the widget) before the check runs. */
export const REST_MS = 300;

/**
 * Starts the check for the result just shown: says it is pending, waits until the reader rests
 * and no attack is computing, then asks the worker and shows its answer, unless a newer result
 * (or a new image) has replaced this one by then. `shown`: {image (the worker's id), attackId,
 * original, adversarial, eps, target, fooled (the verdict before saving)}.
 */
export async function checkSavedAtRest(v, shown) {
  const token = v.tokens.begin('saved-check');
  showPending(v, shown);
  // Nothing shows the check (neither the pictures' download offer nor the details): no pass for it.
  if (!v.has('triptych') && !v.has('card')) return;
  await v.quiet(REST_MS);
  if (!token.current) return;
  v.attacking++; // the reader's own result: background work waits for it too
  try {
    const r = await v.lanes.check('checkSaved', { image: shown.image, attackId: shown.attackId });
    if (r !== STALE && token.current) showChecked(v, shown, r);
  } catch (e) {
    if (token.current) showUnchecked(v, shown, e);
  } finally {
    v.attacking--;
  }
}

/** The check's answer is no longer about what is shown (a new image, a new model, cleared). */
export function cancelSavedCheck(v) {
  v.tokens.cancel('saved-check');
}

/** Until the check has run: no verdict about saving, and a download offer only where none is needed. */
function showPending(v, shown) {
  const png = v.$('fact-png');
  png.textContent = 'checked once ε stops changing…';
  png.dataset.state = 'pending';
  png.dataset.class = '';
  png.dataset.fools = '';
  // An x′ that does not fool the model needs no check to say so.
  if (!fools(shown)) return offerDownload(v, shown, { fools: false, why: 'This x′ does not fool the model.' });
  const row = v.$('download-row');
  row.replaceChildren('Checking whether x′ still fools the model once saved as an 8-bit PNG…');
  row.dataset.state = 'pending';
  row.dataset.fools = '';
  row.hidden = false;
}

function showChecked(v, shown, r) {
  const rounded = r.prediction;
  const before = fools(shown);
  const after = isFooled({ label: shown.original, adversarial: rounded, target: shown.target });
  const png = v.$('fact-png');
  const read = `read as ${v.className(rounded)} (${percent(r.probs[rounded])})`;
  png.textContent = before && after ? `still fools it: ${read} ✓` : before ? `${read}: the rounding undoes the attack` : read;
  png.dataset.state = 'checked';
  png.dataset.class = String(rounded);
  png.dataset.fools = String(before && after);
  if (before && after) offerDownload(v, shown, { fools: true });
  else if (before) offerDownload(v, shown, { fools: false, why: 'Saved as an 8-bit PNG, this x′ would no longer fool the model.' });
}

function showUnchecked(v, shown, e) {
  const png = v.$('fact-png');
  png.textContent = `not checked (${e.message})`;
  png.dataset.state = 'failed';
  if (fools(shown)) offerDownload(v, shown, { fools: false, why: 'Whether this x′ still fools the model once saved could not be checked.' });
}

/** Whether x′ fooled the model before saving (at ε = 0 nothing was attacked). */
const fools = (shown) => shown.eps > 0 && shown.fooled;

/**
 * The download: offered outright for an x′ that fools the model (also once saved); for any other
 * only when the reader asks, with `why` said first.
 */
function offerDownload(v, shown, { fools, why = '' }) {
  const row = v.$('download-row');
  const button = (id, text, className) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', id, className, textContent: text });
    b.addEventListener('click', () => download(v.$('cv-adversarial'), fileName(v, shown)));
    return b;
  };
  const { width, height } = v.$('cv-adversarial');
  if (fools) row.replaceChildren(button('download', `Download x′ (a ${width} × ${height} PNG that fools the model)`, 'link'));
  else row.replaceChildren(`${why} `, button('download-anyway', 'Download it anyway', 'link quiet-link'));
  row.dataset.state = 'checked';
  row.dataset.fools = String(fools);
  row.hidden = false;
}

function fileName(v, { original, adversarial, eps }) {
  return v.kind() === 'digits'
    ? `adversarial-${v.className(original)}-to-${v.className(adversarial)}-eps${v.fmtEps(eps)}.png`
    : `adversarial-${slug(v.className(original))}-to-${slug(v.className(adversarial))}-eps${Math.round(eps * 255)}-255.png`;
}

function download(canvas, name) {
  canvas.toBlob((blob) => {
    const url = URL.createObjectURL(blob);
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, 'image/png');
}
