// Choosing a photo: the sample gallery, the reader's own picture (decoded and cropped in the
// worker), the crop shown on the original, its caption and credit, and a suggested target.
import { renderSamples, drawCrop } from './photo-input.js';
import { downloadBlob } from './download.js';
import { STALE } from './worker-client.js';
import { sampleName, inputKey } from './model-lifecycle.js';
import { setTarget, setEps } from './controls.js';

/** The sample photos for the model in use (or, for one's own photo model, a shipped model's). */
export function samples(v) {
  const m = v.state.model;
  if (Array.isArray(m?.card?.samples) && m.folder) return (v.state.lastSamples = { list: m.card.samples, folder: m.folder });
  // One's own photo model borrows the samples of the last shipped photo model shown.
  return v.state.lastSamples ?? { list: [], folder: '' };
}

/** The index of the sample that `image` names (its number from 0, or its file's stem), or -1. */
export function sampleIndex(v, image) {
  const { list } = samples(v);
  if (/^\d+$/.test(image)) return Number(image) < list.length ? Number(image) : -1;
  return list.findIndex((s) => sampleName(s) === image);
}

export const sampleUrl = (folder, file) => new URL(`${file.includes('/') ? '' : 'samples/'}${file}`, folder).href;

export function showSamples(v) {
  const { list, folder } = samples(v);
  // Until the first photo's attack has been answered the thumbnails stay empty: on a first visit
  // every byte before that delays the first verdict (see revealThumbnails).
  const thumbnail = (file) => (v.thumbnailsShown ? sampleUrl(folder, file) : '');
  renderSamples(v.$('samples'), list, thumbnail, (i) => loadSample(v, i));
  v.$('samples-title').hidden = !list.length;
  markSample(v);
}

/** Fills the gallery's thumbnails once the attack now under way (if any) has been answered. */
function revealThumbnails(v) {
  if (v.thumbnailsShown || v.thumbnailsWaiting) return;
  v.thumbnailsWaiting = true;
  v.quiet(0).then(() => {
    v.thumbnailsShown = true;
    const { list, folder } = samples(v);
    for (const img of v.root.querySelectorAll('#samples button img')) {
      const sample = list[Number(img.closest('button').dataset.index)];
      if (sample && !img.getAttribute('src')) img.src = sampleUrl(folder, sample.file);
    }
  });
}

function markSample(v) {
  for (const b of v.root.querySelectorAll('#samples button')) {
    b.setAttribute('aria-pressed', String(v.state.photo?.sample === Number(b.dataset.index)));
  }
}

/**
 * A new picture is on its way: it takes the photo token (an older picture still on its way is
 * dropped), and the current image's work stops, so that the worker is free for the new one.
 */
function pictureComing(v) {
  const token = v.tokens.begin('photo');
  v.stopImageWork();
  return token;
}

export async function loadSample(v, i) {
  const { list, folder } = samples(v);
  const sample = list[i];
  if (!sample) return;
  const token = pictureComing(v);
  v.$('photo-busy').hidden = false;
  try {
    // The page may have started this download already (engine.js, startEarly).
    const blob = await v.engine.picture(sampleUrl(folder, sample.file));
    if (!token.current) return;
    await usePicture(v, blob, { name: sample.title ?? sample.file, sample: i }, token);
  } catch (e) {
    if (token.current) {
      v.$('photo-busy').hidden = true;
      v.alerts.report(e, `Could not load the sample ${sample.title ?? sample.file}`, 'photo-alert');
      v.resumeImageWork();
    }
  } finally {
    revealThumbnails(v);
  }
}

/** A picture from a URL (the `image` attribute). */
export async function loadPictureUrl(v, url) {
  const token = pictureComing(v);
  const name = decodeURIComponent(url.split(/[?#]/)[0].split('/').pop() || url);
  v.$('photo-busy').hidden = false;
  try {
    const blob = await downloadBlob(new URL(url, document.baseURI).href);
    if (token.current) await usePicture(v, blob, { name }, token);
  } catch (e) {
    if (token.current) {
      v.$('photo-busy').hidden = true;
      v.alerts.report(e, `Could not load the picture ${name}`, 'photo-alert');
      v.resumeImageWork();
    }
  } finally {
    revealThumbnails(v);
  }
}

/**
 * Decodes a picture in the worker (crop and scale to the model's input) and attacks it.
 * `meta`: {name, sample?}.
 */
export async function usePicture(v, file, meta, token = pictureComing(v)) {
  const m = v.state.model;
  const [, channels, height, width] = m.info.inputShape;
  v.$('photo-busy').hidden = false;
  try {
    const args = { file, width, height, channels, cropFraction: v.cropFractionOf(m) };
    // The lead photo was decoded while the model downloaded (engine.js, prefetchPicture).
    const r = await (v.engine.takeDecoded(file, args) ?? v.lanes.decode('decode', args));
    if (r === STALE || !token.current || v.state.model !== m) {
      if (r !== STALE) r.preview.close();
      return;
    }
    v.alerts.hide('photo-alert');
    v.state.photo?.decoded.preview.close();
    v.state.photo = {
      key: meta.sample !== undefined ? `sample:${meta.sample}` : `photo:${++v.state.photos}`,
      file,
      meta,
      sample: meta.sample ?? null,
      decoded: r,
      shape: inputKey(v, m),
    };
    showPhoto(v, v.state.photo);
  } catch (e) {
    revealThumbnails(v);
    if (!token.current) return;
    const message = e instanceof Error ? e.message : String(e);
    const keeps = v.state.photo ? ' The page keeps the previous photo.' : '';
    v.alerts.show(`Could not use ${meta.name}: ${message.replace(/\.?$/, '.')}${keeps}`, 'photo-alert');
    v.resumeImageWork();
  } finally {
    if (token.current) v.$('photo-busy').hidden = true;
  }
}

/** Shows the photo with its crop and caption, and attacks it. */
export function showPhoto(v, photo) {
  const { decoded, meta, sample } = photo;
  const s = sample !== null ? samples(v).list[sample] : null;
  // First, so that the worker attacks while this thread draws the photo and its caption.
  v.setImage(decoded.pixels, { trueLabel: null, key: photo.key, image: s ? sampleName(s) : null });
  const canvas = v.$('photo-source');
  drawCrop(canvas, decoded);
  const { source, crop, width, height } = decoded;
  const square = Math.abs(crop.width - crop.height) < 1 ? 'square' : 'rectangle';
  const whole = Math.abs(crop.width - source.width) < 1 && Math.abs(crop.height - source.height) < 1;
  const exact = source.width === width && source.height === height;
  canvas.setAttribute('aria-label', `${meta.name}, ${source.width} × ${source.height} pixels, with the centre ${square} the model sees outlined`);
  canvas.dataset.for = photo.key;
  const b = Object.assign(document.createElement('b'), { textContent: meta.name });
  const parts = [
    b,
    ` · ${source.width.toLocaleString('en')} × ${source.height.toLocaleString('en')} ${source.type.toUpperCase()}. `,
    exact
      ? `Already ${width} × ${height}: the model sees it as it is.`
      : whole
        ? `The model sees all of it, scaled to ${width} × ${height}.`
        : `The model sees the outlined centre ${square} at ${width} × ${height}${cropNote(v, v.state.model)}.`,
  ];
  if (s) parts.push(' ', credit(s));
  v.$('photo-caption').replaceChildren(...parts);
  markSample(v);
  showSuggestion(v, s);
  revealThumbnails(v);
}

function cropNote(v, model) {
  const f = v.cropFractionOf(model);
  if (f >= 1) return '';
  const [, , h, w] = model.info.inputShape;
  return ` (as in its training: short side scaled to ${Math.round(Math.min(h, w) / f)}, then the centre ${w} × ${h} kept)`;
}

/** "Photo: source (licence)", with the source as a link when it is one. */
function credit(sample) {
  const span = document.createElement('span');
  span.className = 'credit';
  const source = sample.source ?? '';
  span.append('Photo: ');
  if (/^https?:\/\//.test(source)) {
    span.append(Object.assign(document.createElement('a'), { href: source, textContent: new URL(source).hostname, rel: 'noopener' }));
  } else if (source) span.append(source);
  if (sample.licence) span.append(`${source ? ', ' : ''}${sample.licence}`);
  span.append('.');
  return span;
}

/** For a sample with a recorded targeted attack: a button that sets that target and ε. */
function showSuggestion(v, sample) {
  const box = v.$('target-suggest');
  const t = sample?.targeted;
  if (!t || !(t.target_index >= 0 && t.target_index < v.state.model.classes.length)) {
    box.hidden = true;
    return;
  }
  // The smallest ε that reached the target when the model was made (a list of whole ε/255).
  const reached = Array.isArray(t.eps_255_reached) ? t.eps_255_reached : [t.eps_255_reached];
  const first = Number(t.smallest_eps_255 ?? reached.find((e) => e > 0));
  if (!(first > 0)) {
    box.hidden = true;
    return;
  }
  const eps = Math.min(16, Math.round(first));
  const button = Object.assign(document.createElement('button'), {
    type: 'button',
    className: 'link',
    textContent: `make it a “${t.target_class ?? v.className(t.target_index)}” at ε = ${eps}/255`,
  });
  button.addEventListener('click', () => {
    setTarget(v, t.target_index);
    setEps(v, eps / 255);
  });
  box.replaceChildren('Try: ', button, ' (found when the model was made).');
  box.hidden = false;
}
