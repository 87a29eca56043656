// What a slider step costs, measured as a reader's hand makes it: the engine's own pass counters
// (`planRuns()`, read in the page's worker), and a hand that holds the ε slider of the page's
// <fgsm-demo> and moves it, so that the widget sees a drag (not a slider at rest) between steps
// however long each step takes. For the browser tests and the benchmark.

/**
 * The engine's plan-run counters of `page`'s worker: {forward, gradient}, passes since it started.
 * Read through the glue module the worker imported (the same module, so the same counters).
 */
export function planRuns(page, siteUrl) {
  const worker = page.workers().find((w) => w.url().endsWith('/worker.js'));
  if (!worker) throw new Error('the page has no engine worker yet');
  return worker.evaluate(async (glue) => (await import(glue)).planRuns(), `${siteUrl}pkg/fgsm_wasm.js`);
}

/** The difference of two planRuns() readings. */
export const passesBetween = (before, after) => ({ forward: after.forward - before.forward, gradient: after.gradient - before.gradient });

/**
 * Takes hold of the slider: a pointer pressed on it that keeps moving every 50 ms, as a dragging
 * hand does, until `release()`. → {step(value): sets the slider to `value` as the drag does (an
 * `input` event) and resolves once the widget shows the result for it (its `fgsm-result`
 * event): {ms (from the input to the result), shown (the result's key), saved (the 8-bit line and
 * the download offer as they were then)}; release(): lets go (a `change` event) and returns the 8-bit line at that moment}.
 */
export async function holdSlider(page) {
  await page.evaluate(() => {
    const root = document.querySelector('fgsm-demo').shadowRoot;
    const input = root.getElementById('eps');
    // The 8-bit line and the download offer, as the reader sees them.
    window.__savedLine = () => {
      const png = root.getElementById('fact-png');
      const row = root.getElementById('download-row');
      return {
        state: png.dataset.state,
        fools: png.dataset.fools,
        text: png.textContent,
        offer: { state: row.dataset.state, fools: row.dataset.fools, download: !!root.getElementById('download'), text: row.textContent },
      };
    };
    const move = () => input.dispatchEvent(new PointerEvent('pointermove', { buttons: 1, bubbles: true, composed: true }));
    input.dispatchEvent(new PointerEvent('pointerdown', { buttons: 1, bubbles: true, composed: true }));
    window.__sliderHand = setInterval(move, 50);
  });
  return {
    step: (value) =>
      page.evaluate(async (value) => {
        const demo = document.querySelector('fgsm-demo');
        const input = demo.shadowRoot.getElementById('eps');
        const shown = new Promise((resolve) => demo.addEventListener('fgsm-result', resolve, { once: true }));
        const started = performance.now();
        input.value = String(value);
        input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
        await shown;
        return { ms: performance.now() - started, shown: demo.shadowRoot.getElementById('results').dataset.for, saved: window.__savedLine() };
      }, value),
    release: () =>
      page.evaluate(() => {
        clearInterval(window.__sliderHand);
        const input = document.querySelector('fgsm-demo').shadowRoot.getElementById('eps');
        input.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, composed: true }));
        input.dispatchEvent(new Event('change', { bubbles: true }));
        return window.__savedLine();
      }),
  };
}
