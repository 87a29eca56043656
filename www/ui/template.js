// The widget's markup: every panel, each marked with data-panel (the names of the `panels`
// attribute) and part="panel <name>" for ::part() styling. The view hides the panels that are not
// asked for. Static text only: names from the reader's files are set later with textContent.

export const PANELS = ['picker', 'input', 'draw', 'upload', 'controls', 'triptych', 'noise', 'terms', 'sweep', 'bars', 'robustness', 'card'];
export const DEFAULT_PANELS = ['input', 'triptych', 'bars', 'controls'];

export const MARKUP = `
<div class="fgsm" id="fgsm" data-kind="" data-started="false">
  <div class="model-bar">
    <div class="model-pick" data-panel="picker" part="panel picker">
      <label for="model-select">Classifier</label>
      <select id="model-select"></select>
    </div>
    <div id="status" class="status" data-state="idle" role="status" aria-live="polite">
      <span id="status-text">Starts when you scroll here.</span>
      <progress id="status-progress" max="1" hidden></progress>
    </div>
  </div>
  <div id="alert" class="alert" role="alert" hidden>
    <p id="alert-text"></p>
    <button type="button" id="alert-close" class="quiet">Dismiss</button>
  </div>

  <div id="poster" class="poster">
    <figure id="poster-lead" class="poster-lead" hidden>
      <p id="poster-verdict" class="verdict" data-fooled="true" data-verdict="fooled"></p>
      <div class="poster-pair">
        <figure class="shot">
          <img id="poster-original" alt="" width="224" height="224">
          <figcaption><span class="shot-title">Original x</span><span class="shot-pred"><b id="poster-original-pred"></b> <span id="poster-original-conf"></span></span></figcaption>
        </figure>
        <figure class="shot">
          <img id="poster-adversarial" alt="" width="224" height="224">
          <figcaption><span class="shot-title">Adversarial x′</span><span class="shot-pred"><b id="poster-adversarial-pred"></b> <span id="poster-adversarial-conf"></span></span></figcaption>
        </figure>
      </div>
      <figcaption id="poster-caption" class="hint"></figcaption>
    </figure>
    <img id="poster-image" alt="" hidden>
    <p id="poster-text">An image classifier and one FGSM step, computed in your browser. It loads when you scroll here.</p>
  </div>

  <div class="layout" id="layout" hidden>

    <div class="panel panel-head" id="attack-head" data-panel="controls triptych" part="panel head">
      <p id="verdict" class="verdict" data-fooled="" data-panel="triptych" aria-live="polite">The attack shows here once the model is ready.</p>
      <div class="head-row">
        <div class="control control-eps" data-panel="controls" part="panel controls">
          <label for="eps">ε<span class="eps-long">, the most any pixel may change</span></label>
          <input type="range" id="eps" min="0" max="0.5" step="0.005" value="0.25" aria-describedby="eps-value eps-story">
          <output id="eps-value" for="eps">0.250</output>
        </div>
        <p id="target-chip" class="target-chip" data-panel="controls" hidden>
          <span>Target: <b id="target-chip-name"></b></span>
          <button type="button" id="target-chip-clear" class="chip-clear" aria-label="Clear the target (untargeted attack)">×</button>
        </p>
      </div>
    </div>

    <section class="panel panel-attack" id="column-attack" aria-labelledby="attack-title">
      <h2 id="attack-title">One FGSM step</h2>
      <div data-panel="triptych" part="panel triptych">
        <div class="viewer-tabs" id="viewer-tabs" role="group" aria-label="Which picture to show">
          <button type="button" data-show="original" aria-pressed="false">Original</button>
          <button type="button" data-show="perturbation" aria-pressed="false">The step</button>
          <button type="button" data-show="adversarial" aria-pressed="true">Adversarial</button>
        </div>
        <div class="triptych" id="results" data-for="" data-show="adversarial">
          <figure class="shot">
            <canvas id="cv-original" width="28" height="28" role="img" aria-label="Original image"></canvas>
            <figcaption>
              <span class="shot-title" id="original-title">Original x</span>
              <span class="shot-pred"><b id="original-pred">–</b> <span id="original-conf"></span></span>
            </figcaption>
          </figure>
          <span class="op" aria-hidden="true">+</span>
          <figure class="shot">
            <canvas id="cv-perturbation" width="28" height="28" role="img" aria-label="Perturbation"></canvas>
            <figcaption>
              <span class="shot-title">ε · sign(∇<sub>x</sub>J)</span>
              <label class="gain" data-panel="controls"><span class="visually-hidden">Noise gain: how much the perturbation is magnified for display</span>
                <select id="gain"></select>
              </label>
            </figcaption>
          </figure>
          <span class="op" aria-hidden="true">=</span>
          <figure class="shot">
            <canvas id="cv-adversarial" width="28" height="28" role="img" aria-label="Adversarial image"></canvas>
            <figcaption>
              <span class="shot-title">Adversarial x′</span>
              <span class="shot-pred"><b id="adversarial-pred">–</b> <span id="adversarial-conf"></span></span>
            </figcaption>
          </figure>
        </div>
        <p id="noise-legend" class="hint noise-legend"></p>
        <p id="download-row" class="download-row" hidden></p>
        <p class="story" id="eps-story" data-panel="controls"></p>
        <p class="story" id="story-gradient">
          How it works: <span class="formula">x′ = x + ε · sign(∇<sub>x</sub>J(θ, x, y))</span>. The gradient
          ∇<sub>x</sub>J says, for every pixel, which way of changing it raises the loss J, the network’s penalty
          for its answer y. FGSM keeps only the sign of each, so every pixel moves by the full ε, and all the tiny
          moves push the same way.
        </p>
      </div>

      <div class="control control-target" data-panel="controls" part="panel target">
        <label for="target" id="target-label">Target class</label>
        <div class="combo">
          <input type="text" id="target" role="combobox" aria-autocomplete="list" aria-expanded="false"
                 aria-controls="target-list" aria-describedby="target-hint" autocomplete="off" spellcheck="false"
                 placeholder="none (untargeted): type to search">
          <button type="button" id="target-clear" class="combo-clear" aria-label="No target (untargeted attack)" hidden>×</button>
          <ul id="target-list" class="combo-list" role="listbox" aria-labelledby="target-label" hidden></ul>
        </div>
        <p id="target-hint" class="hint target-hint">Targeted FGSM steps <em>down</em> the loss of the class you pick, towards it.</p>
        <p id="target-suggest" class="hint target-suggest" hidden></p>
        <p id="target-note" class="hint target-note" role="status" hidden></p>
      </div>

      <div class="control control-method" id="method-box" data-panel="controls" part="panel method">
        <label for="method">Attack method</label>
        <select id="method" aria-describedby="method-hint">
          <option value="fgsm">FGSM: one step of ε · sign(∇J) (the paper’s)</option>
          <option value="fgm">FGM: one step along the gradient itself (L2)</option>
          <option value="bim">BIM: many small signed steps</option>
          <option value="pgd">PGD: BIM from a random start</option>
          <option value="mi-fgsm">MI-FGSM: BIM with momentum</option>
          <option value="noise">Random ±ε noise (the baseline)</option>
        </select>
        <div class="method-params" id="method-params" hidden>
          <label data-param="steps">Steps <input type="number" id="steps" min="1" max="1000" step="1" value="10" inputmode="numeric"></label>
          <label data-param="alpha">α <input type="number" id="alpha" min="0" step="any" placeholder="auto" inputmode="decimal"></label>
          <label data-param="momentum">μ <input type="number" id="momentum" min="0" step="0.1" value="1" inputmode="decimal"></label>
          <label data-param="seed">Seed <input type="number" id="seed" min="0" step="1" value="0" inputmode="numeric"></label>
        </div>
        <p id="method-hint" class="hint method-hint"></p>
        <div class="method-run" id="method-run" hidden>
          <progress id="method-progress" max="10" value="0" aria-label="Steps done"></progress>
          <span id="method-progress-text" role="status">–</span>
          <button type="button" id="method-cancel" class="quiet">Cancel</button>
        </div>
        <figure class="loss-chart" id="loss-figure" hidden>
          <canvas id="loss-chart" role="img" aria-label="Loss per step"></canvas>
          <figcaption class="hint" id="loss-caption"></figcaption>
        </figure>
      </div>

      <figure class="noise" id="noise" data-panel="noise" part="panel noise" data-for="">
        <figcaption class="figure-title">The same ε<span class="figure-eps" id="noise-eps"></span>, two directions: random signs against the gradient's signs</figcaption>
        <div class="noise-pair">
          <div class="noise-side" id="noise-random">
            <h3>Random ±ε noise</h3>
            <div class="noise-shots">
              <canvas id="cv-noise" width="28" height="28" role="img" aria-label="Random noise"></canvas>
              <canvas id="cv-noisy" width="28" height="28" role="img" aria-label="Image with random noise"></canvas>
            </div>
            <p class="noise-verdict" id="noise-verdict" data-fooled="">–</p>
          </div>
          <div class="noise-side" id="noise-fgsm">
            <h3>FGSM: ε · sign(∇<sub>x</sub>J)</h3>
            <div class="noise-shots">
              <canvas id="cv-noise-fgsm" width="28" height="28" role="img" aria-label="FGSM perturbation"></canvas>
              <canvas id="cv-noise-adversarial" width="28" height="28" role="img" aria-label="Adversarial image"></canvas>
            </div>
            <p class="noise-verdict" id="noise-fgsm-verdict" data-fooled="">–</p>
          </div>
        </div>
        <p class="hint">Every pixel moves by the same ε in both. Random signs mostly cancel out in the
          network; the gradient's signs all push the loss the same way.</p>
      </figure>

      <figure class="terms" id="terms" data-panel="terms" part="panel terms" data-for="">
        <figcaption class="figure-title">x′ = x + ε · sign(∇<sub>x</sub>J(θ, x, y)), term by term<span class="figure-eps" id="terms-eps"></span></figcaption>
        <div class="term-row" id="term-row">
          <button type="button" class="term" data-term="x" aria-describedby="term-text"><canvas id="cv-term-x" width="28" height="28"></canvas><span>x</span></button>
          <button type="button" class="term" data-term="gradient" aria-describedby="term-text"><canvas id="cv-term-gradient" width="28" height="28"></canvas><span>∇<sub>x</sub>J</span></button>
          <button type="button" class="term" data-term="sign" aria-describedby="term-text"><canvas id="cv-term-sign" width="28" height="28"></canvas><span>sign(∇<sub>x</sub>J)</span></button>
          <button type="button" class="term" data-term="step" aria-describedby="term-text"><canvas id="cv-term-step" width="28" height="28"></canvas><span id="term-step-name">ε · sign(∇<sub>x</sub>J)</span></button>
          <button type="button" class="term" data-term="adversarial" aria-describedby="term-text"><canvas id="cv-term-adversarial" width="28" height="28"></canvas><span>x′</span></button>
        </div>
        <p class="term-text" id="term-text" aria-live="polite">Point at a term, or focus it with Tab, to see what it is.</p>
      </figure>

      <div data-panel="bars" part="panel bars">
        <div class="bars">
          <div>
            <h3>Original: top 5</h3>
            <ol id="bars-original" class="bar-list"></ol>
          </div>
          <div>
            <h3>Adversarial: top 5</h3>
            <ol id="bars-adversarial" class="bar-list"></ol>
          </div>
        </div>
      </div>
      <p class="share-row"><button type="button" id="copy-link" class="copy-link" hidden>Copy link to this view</button></p>
    </section>

    <section class="panel panel-input" id="column-input" aria-labelledby="input-title">
      <h2 id="input-title"><span id="input-title-text">Choose a picture</span></h2>
      <p class="story" id="story-input">The network reads a picture and gives each class a probability.</p>

      <div id="input-digits" data-only="digits">
        <div class="tabs" id="digit-tabs" role="tablist" aria-label="Where the digit comes from">
          <button type="button" role="tab" id="tab-test" aria-controls="panel-test" aria-selected="true">Test digits</button>
          <button type="button" role="tab" id="tab-draw" aria-controls="panel-draw" aria-selected="false" tabindex="-1">Draw your own</button>
        </div>

        <div id="panel-test" role="tabpanel" aria-labelledby="tab-test" class="tabpanel" data-panel="input" part="panel input">
          <div class="digit-nav">
            <button type="button" id="prev" aria-label="Previous test digit">←</button>
            <p id="digit-info" class="digit-info" aria-live="polite">loading…</p>
            <button type="button" id="next" aria-label="Next test digit">→</button>
          </div>
          <div class="button-row">
            <button type="button" id="random">Random digit</button>
            <button type="button" id="find-fooled" title="Step forward to the next digit this ε fools">Next one fooled</button>
          </div>
          <p class="hint">Digits the model never saw during training (held out from the MNIST set it learned from).</p>
        </div>

        <div id="panel-draw" role="tabpanel" aria-labelledby="tab-draw" class="tabpanel" data-panel="draw" part="panel draw" hidden>
          <canvas id="draw-pad" class="draw-pad" width="280" height="280"
                  aria-label="Drawing area: draw one digit with a mouse, a pen or a finger"></canvas>
          <div class="button-row draw-row">
            <button type="button" id="clear">Clear</button>
            <p id="draw-result" class="draw-result" aria-live="polite"></p>
          </div>
          <p class="hint">
            Draw one digit, large. Like the MNIST digits, it is scaled into a 20×20 box and centred by its
            centre of mass in a 28×28 image: the “original” picture shows what the model sees.
            (Drawing needs a mouse, pen or touch screen; the test digits work with the keyboard.)
          </p>
        </div>
      </div>

      <div id="input-photo" data-only="photo" hidden>
        <figure class="photo-source" id="photo-figure" data-panel="input upload">
          <div class="photo-frame">
            <canvas id="photo-source" width="320" height="240" role="img" aria-label="No photo yet"></canvas>
            <p id="photo-busy" class="photo-busy" hidden>Reading the picture…</p>
          </div>
          <figcaption id="photo-caption" aria-live="polite">–</figcaption>
        </figure>
        <div data-panel="upload" part="panel upload-photo">
          <div class="button-row">
            <label class="button file-button">
              Use your own photo…
              <input type="file" id="photo-file" accept="image/*">
            </label>
          </div>
          <p class="hint drop-hint">…or drop a picture anywhere on the page, or paste one (Ctrl+V / ⌘V). It is read in your browser and never uploaded.</p>
        </div>
        <div id="photo-alert" class="alert alert-inline" role="alert" hidden>
          <p id="photo-alert-text"></p>
          <button type="button" id="photo-alert-close" class="quiet">Dismiss</button>
        </div>
        <div data-panel="input" part="panel input">
          <h3 id="samples-title" class="samples-title">Sample photos</h3>
          <ul id="samples" class="samples" aria-labelledby="samples-title"></ul>
        </div>
      </div>
    </section>

    <section class="panel panel-charts" id="column-charts" aria-labelledby="charts-title">
      <h2 id="charts-title">Every ε at once</h2>
      <figure class="sweep" id="sweep-figure" data-panel="sweep" part="panel sweep" data-state="pending">
        <p class="story">The same attack at every ε of the slider. Shaded where the network misreads the
          picture; the line is the probability it still gives <span id="sweep-line-name">its first answer</span>.
          Drag on the chart to set ε.</p>
        <canvas id="sweep" class="sweep-chart" role="img" aria-label="Chart of the prediction against ε"></canvas>
        <p class="chart-legend" id="sweep-legend"><span class="key key-line"></span> <span id="sweep-legend-line">probability of the first answer</span>
          <span class="key key-fooled"></span> <span id="sweep-legend-fooled">fooled: read as another class</span>
          <span class="key key-other" id="sweep-key-other"></span> <span id="sweep-legend-other">moved, but not to the target</span></p>
        <figcaption id="sweep-text" class="sweep-text">–</figcaption>
      </figure>
      <figure id="live" class="live" data-only="digits" data-panel="robustness" part="panel robustness" hidden>
        <figcaption><h3 id="live-title">Measured here, in your browser</h3>
          <p class="story">Not one picture but all the held-out digits: how often one FGSM step makes the network
            misread them, how often PGD’s repeated small steps do, and how often random ±ε noise of the same size does.</p></figcaption>
        <canvas id="robustness" class="robustness-chart" role="img" aria-labelledby="live-title" aria-describedby="live-text"></canvas>
        <p class="chart-legend"><span class="legend-item"><span class="key key-fgsm"></span> FGSM</span> <span class="legend-item"><span class="key key-pgd"></span> PGD</span>
          <span class="legend-item"><span class="key key-noise"></span> random ±ε noise</span> <span class="legend-item"><span class="key key-eps"></span> the slider’s ε</span></p>
        <table id="live-figures" class="figures robustness-figures"><caption id="live-figures-caption"></caption></table>
        <p id="live-text" class="hint" aria-live="polite"></p>
      </figure>
    </section>

    <section class="panel panel-details panel-model" id="column-details" aria-label="Details">
      <details id="details" class="details" data-panel="card" part="panel details">
        <summary>Details: the numbers, the speed, the model</summary>
        <p id="timing" class="timing" aria-live="off"></p>
        <dl class="facts">
          <div><dt>Label y of the gradient</dt><dd id="fact-label">–</dd></div>
          <div><dt>Loss J for y</dt><dd id="fact-loss">–</dd></div>
          <div><dt id="fact-eps-title">ε in pixel units</dt><dd id="fact-eps">–</dd></div>
          <div><dt>L∞ of x′ − x</dt><dd id="fact-linf">–</dd></div>
          <div><dt>Saved as an 8-bit PNG</dt><dd id="fact-png">–</dd></div>
        </dl>
        <div part="panel card">
          <h3 id="model-title">Model</h3>
          <dl id="model-card" class="model-card"></dl>
          <div id="measured" class="measured" hidden></div>
          <dl id="speed" class="measured speed" hidden></dl>
        </div>
      </details>
      <div data-panel="upload" part="panel upload-model">
        <div class="button-row">
          <label class="button file-button">
            Use your own model (.onnx)…
            <input type="file" id="model-file" accept=".onnx,.txt,.json,text/plain,application/json" multiple>
          </label>
          <button type="button" id="builtin" hidden>Back to the built-in model</button>
        </div>
        <form id="build-form" class="build-form" hidden>
          <p id="build-intro"></p>
          <fieldset>
            <legend>Which input normalisation does it expect?</legend>
            <label><input type="radio" name="normalisation" value="none"> None: pixels in [0, 1]</label>
            <label><input type="radio" name="normalisation" value="imagenet"> ImageNet: mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225</label>
            <label><input type="radio" name="normalisation" value="mnist"> MNIST: mean 0.1307; std 0.3081</label>
            <label><input type="radio" name="normalisation" value="other"> Other:</label>
            <div class="build-numbers">
              <label>mean <input type="text" id="norm-mean" inputmode="decimal" placeholder="0.5, 0.5, 0.5" spellcheck="false"></label>
              <label>std <input type="text" id="norm-std" inputmode="decimal" placeholder="0.5, 0.5, 0.5" spellcheck="false"></label>
            </div>
          </fieldset>
          <p id="build-problem" class="build-problem" role="alert" hidden></p>
          <div class="button-row">
            <button type="submit" id="build-go">Build the gradient graph</button>
            <button type="button" id="build-cancel" class="quiet">Cancel</button>
          </div>
        </form>
        <p id="build-report" class="hint build-report" hidden></p>
        <div id="model-alert" class="alert alert-inline" role="alert" hidden>
          <p id="model-alert-text"></p>
          <button type="button" id="model-alert-close" class="quiet">Dismiss</button>
        </div>
        <details class="hint">
          <summary>What kind of model?</summary>
          <p>
            An ONNX image classifier (opset 13 or newer, one input [1, C, H, W] with C = 1 or 3, fixed
            sizes). A plain exported model is fine: the page builds its gradient graph here, and asks
            which normalisation it expects. A model that already has one (inputs <code>image</code> and
            <code>label</code>; outputs <code>logits</code>, <code>loss</code>, <code>input_grad</code>)
            is used as it is. A [1, 1, 28, 28] model gets the digits (white on black); any other gets
            photos, centre-cropped and scaled to its input. To name the classes, pick or drop a
            <code>.txt</code> file with one class name per line along with it (or a
            <code>model.json</code> with <code>"classes"</code>). The files are read in your browser and
            never uploaded.
          </p>
        </details>
      </div>
    </section>
  </div>

  <div id="drop-overlay" class="drop-overlay" hidden><p>Drop a picture to attack it, or an .onnx model to use it</p></div>
</div>
`;
