// Where a photo comes from: the file picker, a file dropped anywhere on the page, or one pasted
// (Ctrl+V / ⌘V); and how the page shows it: the whole picture with the model's crop marked, and
// the gallery of sample photos from model.json.
import { bringsModel } from './own-model.js';

/**
 * Calls `onPicture(file, {name})` for every picture the reader brings, `onModel(files)` for files
 * dropped together that include an .onnx model (and perhaps its labels), and `onProblem(message)`
 * when what they brought is not a file (e.g. an image dragged from another site).
 * `accepting()` says whether the page takes pictures now (it does not while a model loads).
 */
export function watchPictureSources({ fileInput, overlay, onPicture, onModel, onProblem, accepting }) {
  fileInput.addEventListener('change', () => {
    const file = fileInput.files[0];
    fileInput.value = ''; // picking the same file again must fire again
    if (file) onPicture(file, { name: file.name });
  });

  // Drag and drop anywhere; the overlay says what dropping does.
  let depth = 0;
  const carriesFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const hide = () => {
    depth = 0;
    overlay.hidden = true;
  };
  document.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e) || !accepting()) return;
    depth++;
    overlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    if (--depth <= 0) hide();
  });
  document.addEventListener('dragover', (e) => {
    if (!e.dataTransfer) return;
    // Without this the browser would open the file in place of the page.
    e.preventDefault();
    e.dataTransfer.dropEffect = accepting() && carriesFiles(e) ? 'copy' : 'none';
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    hide();
    if (!accepting()) return;
    const files = [...(e.dataTransfer?.files ?? [])];
    if (onModel && bringsModel(files)) onModel(files);
    else if (files[0]) onPicture(files[0], { name: files[0].name });
    else if (e.dataTransfer?.types.some((t) => t === 'text/uri-list' || t === 'text/html')) {
      onProblem('That was a link or a picture from another page, which this page cannot read. Save the picture first, then drop the file.');
    }
  });

  document.addEventListener('paste', (e) => {
    // Text pasted into a text box stays text.
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    const file = item?.getAsFile();
    if (!file || !accepting()) return;
    e.preventDefault();
    onPicture(file, { name: 'the pasted picture' });
  });
}

/**
 * Draws `preview` (the whole picture, scaled) on `canvas`, dims what lies outside the model's crop
 * and frames the crop. `source` is the picture's full size, `crop` in its pixels.
 */
export function drawCrop(canvas, { preview, source, crop }) {
  const ratio = window.devicePixelRatio || 1;
  // As wide as the panel and at most as tall as the style's max-height (and as it is wide).
  const room = canvas.parentElement.clientWidth || 320;
  const maxHeight = parseFloat(getComputedStyle(canvas).maxHeight) || room;
  const scale = Math.min(room / source.width, Math.min(room, maxHeight) / source.height);
  const w = Math.max(1, Math.round(source.width * scale));
  const h = Math.max(1, Math.round(source.height * scale));
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(preview, 0, 0, w, h);
  const k = w / source.width;
  const [x, y, cw, ch] = [crop.x * k, crop.y * k, crop.width * k, crop.height * k];
  ctx.fillStyle = 'rgb(0 0 0 / 0.55)';
  ctx.fillRect(0, 0, w, y);
  ctx.fillRect(0, y + ch, w, h - y - ch);
  ctx.fillRect(0, y, x, ch);
  ctx.fillRect(x + cw, y, w - x - cw, ch);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 2;
  ctx.setLineDash([6, 4]);
  ctx.strokeRect(x + 1, y + 1, Math.max(0, cw - 2), Math.max(0, ch - 2));
}

/**
 * The gallery: one button per sample with its thumbnail and title. `onPick(index)` on click.
 * @param {HTMLUListElement} list
 * @param {{file: string, title?: string}[]} samples
 * @param {(file: string) => string} url the address of a sample's file
 */
export function renderSamples(list, samples, url, onPick) {
  list.replaceChildren(
    ...samples.map((sample, i) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sample';
      button.dataset.index = String(i);
      button.setAttribute('aria-pressed', 'false');
      const img = document.createElement('img');
      img.src = url(sample.file);
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      const title = document.createElement('span');
      title.textContent = sample.title ?? sample.file;
      button.title = title.textContent;
      button.append(img, title);
      button.addEventListener('click', () => onPick(i));
      li.append(button);
      return li;
    }),
  );
}
