// Makes the lead poster (www/ui/poster.js and www/ui/poster/*.webp) from the live page: the
// pictures and figures the page itself shows for the lead photo (ui/models.js, LEAD), so that the
// still shown while the engine loads is exactly the result that follows. Run after ./build.sh site
// whenever the model, the samples or the lead change, then rebuild the site:
//
//   node tests/browser/make-poster.mjs && ./build.sh site
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, start, newPage } from '../support/browser.mjs';
import { LEAD } from '../../www/ui/models.js';

const env = await start();
try {
  const page = await newPage(env.browser, env.url, { viewport: { width: 1280, height: 900 } });
  await page.goto(`${env.url}?model=${LEAD.model}#sample=${LEAD.image}&eps=${LEAD.eps}`);
  await page.waitForSelector(`#results[data-for$="@${LEAD.eps}"]`, { timeout: 120_000 });
  const shot = await page.evaluate(() => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    const text = (id) => root.getElementById(id).textContent.trim();
    const webp = (id) => root.getElementById(id).toDataURL('image/webp', 0.9).split(',')[1];
    return {
      original: { name: text('original-pred'), percent: text('original-conf') },
      adversarial: { name: text('adversarial-pred'), percent: text('adversarial-conf') },
      verdict: text('verdict'),
      fooled: root.getElementById('verdict').dataset.fooled === 'true',
      images: { original: webp('cv-original'), adversarial: webp('cv-adversarial') },
    };
  });
  if (!shot.fooled) throw new Error(`the lead is not fooled at ${LEAD.eps}: ${shot.verdict}`);
  const dir = join(REPO, 'www', 'ui', 'poster');
  mkdirSync(dir, { recursive: true });
  const stem = `${LEAD.image}-${LEAD.eps.replace('/', '-')}`;
  const files = { original: `${stem}-original.webp`, adversarial: `${stem}-adversarial.webp` };
  for (const which of ['original', 'adversarial']) writeFileSync(join(dir, files[which]), Buffer.from(shot.images[which], 'base64'));
  const poster = { model: LEAD.model, image: LEAD.image, eps: LEAD.eps, files, original: shot.original, adversarial: shot.adversarial, verdict: shot.verdict };
  writeFileSync(
    join(REPO, 'www', 'ui', 'poster.js'),
    `// Written by tests/browser/make-poster.mjs from the live page: the still the widget shows while it\n` +
      `// loads (see models.js, LEAD). Do not edit by hand; photo.test.mjs checks it against the live result.\n` +
      `export const POSTER = ${JSON.stringify(poster, null, 2)};\n`,
  );
  console.log(`poster: ${shot.verdict} (${shot.original.name} ${shot.original.percent} → ${shot.adversarial.name} ${shot.adversarial.percent})`);
} finally {
  await env.close();
}
