//! Every `#[wasm_bindgen]` item of the crate. Each one converts JS values to core types, calls the
//! core, and converts the result or the error back; no logic lives here.

use std::ops::ControlFlow;

use js_sys::{Array, Float32Array, Function, Object, Reflect, Uint8ClampedArray};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::{attack, error::Error, grad, image, model, session};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The one conversion of core errors into JS `Error`s (the message is the core's).
impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        JsError::new(&e.to_string()).into()
    }
}

/// An ONNX classifier with its gradient graph (see models/README.md), and how its load went.
#[wasm_bindgen]
pub struct Model(model::Model, Array);

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, a global in pages and workers alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Bytes of wasm memory the engine holds now (it grows and never shrinks).
/// `{ forward, gradient }`: how many times each plan has run in this engine, over every model.
#[wasm_bindgen(js_name = planRuns)]
pub fn plan_runs() -> Result<Object, JsValue> {
    let (forward, gradient) = model::plan_runs();
    object(&[("forward", (forward as f64).into()), ("gradient", (gradient as f64).into())])
}

#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct FgsmOptions {
    label: Option<u32>,
    targeted: bool,
}

#[wasm_bindgen]
impl Model {
    /// Parses and prepares the model; throws an `Error` saying what is wrong with the file.
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8]) -> Result<Model, JsValue> {
        Self::load(onnx, model::Model::from_onnx_bytes_staged)
    }

    /// The same model from the NNEF tar `fgsm nnef` derived from its ONNX file (a faster load);
    /// throws an `Error` if the file is damaged or another build wrote it.
    #[wasm_bindgen(js_name = fromNnef)]
    pub fn from_nnef(nnef: &[u8]) -> Result<Model, JsValue> {
        Self::load(nnef, model::Model::from_nnef_bytes_staged)
    }

    fn load(
        bytes: &[u8],
        load: fn(&[u8], &mut dyn FnMut(model::LoadStage)) -> crate::Result<model::Model>,
    ) -> Result<Model, JsValue> {
        Self::timed(0.0, |on_stage| load(bytes, on_stage))
    }

    /// Runs `load`, recording each stage's time and the memory after it; the first stage also
    /// counts `earlier_ms` of its work done before (an `NnefLoader`'s pushes).
    fn timed(
        earlier_ms: f64,
        load: impl FnOnce(&mut dyn FnMut(model::LoadStage)) -> crate::Result<model::Model>,
    ) -> Result<Model, JsValue> {
        let stages = Array::new();
        let mut last = performance_now() - earlier_ms;
        let model = load(&mut |stage| {
            let now = performance_now();
            let entry =
                [("stage", stage.name().into()), ("ms", (now - last).into()), ("memoryBytes", memory_bytes().into())];
            stages.push(&object(&entry).unwrap_or_default());
            last = now;
        })?;
        Ok(Model(model, stages))
    }

    /// `[{ stage, ms, memoryBytes }]`: how long each step of the load took, and the wasm memory after it.
    #[wasm_bindgen(getter, js_name = loadStages)]
    pub fn load_stages(&self) -> Array {
        self.1.clone()
    }

    /// `[1, C, H, W]`.
    #[wasm_bindgen(getter, js_name = inputShape)]
    pub fn input_shape(&self) -> Array {
        self.0.input_shape().iter().map(|&d| JsValue::from(d as u32)).collect()
    }

    #[wasm_bindgen(getter, js_name = numClasses)]
    pub fn num_classes(&self) -> usize {
        self.0.num_classes()
    }

    /// CHW pixels in [0, 1] → class probabilities.
    pub fn predict(&self, pixels: &[f32]) -> Result<Vec<f32>, JsValue> {
        Ok(self.0.predict(pixels)?)
    }

    /// → `{ loss, grad }`, the cross-entropy for `label` and its gradient with respect to the pixels.
    #[wasm_bindgen(js_name = inputGradient)]
    pub fn input_gradient(&self, pixels: &[f32], label: f64) -> Result<Object, JsValue> {
        let label = self.0.check_label(js_label(label)?)?;
        let gradient = self.0.input_gradient(pixels, label)?;
        object(&[("loss", gradient.loss.into()), ("grad", Float32Array::from(&gradient.grad[..]).into())])
    }

    /// `fgsm(pixels, eps, { label, targeted })` → `{ adversarial, perturbation, probs, label, loss }`
    /// (and the fields of `Session.attack`'s result): the one-step shorthand without a session.
    pub fn fgsm(&self, pixels: &[f32], eps: f32, options: JsValue) -> Result<Object, JsValue> {
        let options: FgsmOptions = if options.is_undefined() || options.is_null() {
            FgsmOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| JsError::new(&format!("fgsm options: {e}")))?
        };
        let options = attack::FgsmOptions { label: options.label.map(|l| l as usize), targeted: options.targeted };
        adversarial_object(&attack::fgsm(&self.0, pixels, eps, options)?)
    }

    /// `session(pixels)`: sets the image once (one forward pass) for `predict`, `inputGradient` and
    /// `attack` without sending it again.
    pub fn session(&self, pixels: &[f32]) -> Result<Session, JsValue> {
        Ok(Session(self.0.session(pixels)?))
    }

    /// `sessionWithGradient(pixels)`: `session` for an image to be attacked against the model's own
    /// prediction next; one gradient pass gives the prediction and that gradient together.
    #[wasm_bindgen(js_name = sessionWithGradient)]
    pub fn session_with_gradient(&self, pixels: &[f32]) -> Result<Session, JsValue> {
        Ok(Session(self.0.session_with_gradient(pixels)?))
    }
}

/// A model's NNEF file read while it downloads (`nnef::NnefStream`): `push(chunk)` each piece as it
/// arrives, then `finish()` → the same `Model` as `Model.fromNnef(bytes)`, whose `read nnef` stage
/// counts the time spent in `push` too. `free()` it if it is not finished.
#[wasm_bindgen]
pub struct NnefLoader {
    stream: crate::nnef::NnefStream,
    push_ms: f64,
}

#[wasm_bindgen]
impl NnefLoader {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> NnefLoader {
        NnefLoader { stream: crate::nnef::NnefStream::new(), push_ms: 0.0 }
    }

    /// The next piece of the file; throws only when the file grows beyond the size limit (a damaged
    /// file is reported by `finish`).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let started = performance_now();
        let pushed = self.stream.push(chunk);
        self.push_ms += performance_now() - started;
        Ok(pushed?)
    }

    /// Checks the file's end and prepares the model; throws an `Error` if the file is damaged or
    /// another build wrote it.
    pub fn finish(self) -> Result<Model, JsValue> {
        let NnefLoader { stream, push_ms } = self;
        Model::timed(push_ms, |on_stage| model::Model::from_nnef_stream_staged(stream, on_stage))
    }
}

/// One image and what the model computed for it: the clean probabilities, the gradients taken per
/// label (see `session::Session`).
#[wasm_bindgen]
pub struct Session(session::Session);

/// `attack`'s options: `{ method, eps, alpha, steps, norm, momentum, seed, target, label }`; only
/// `eps` is required. `target` makes the attack targeted; `label` attacks that class untargeted;
/// neither attacks the model's prediction.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttackOptions {
    method: Option<String>,
    eps: f32,
    alpha: Option<f32>,
    steps: Option<u32>,
    norm: Option<String>,
    momentum: Option<f32>,
    seed: Option<u64>,
    target: Option<u32>,
    label: Option<u32>,
}

fn attack_options(options: JsValue) -> Result<attack::Options, JsValue> {
    let o: AttackOptions =
        serde_wasm_bindgen::from_value(options).map_err(|e| JsError::new(&format!("attack options: {e}")))?;
    let label = match (o.target, o.label) {
        (Some(_), Some(_)) => {
            return Err(Error::Options("give `target` (targeted) or `label` (untargeted), not both".into()).into());
        }
        (Some(target), None) => session::Label::Targeted(target as usize),
        (None, Some(label)) => session::Label::Untargeted(label as usize),
        (None, None) => session::Label::Predicted,
    };
    Ok(attack::Options {
        method: o.method.as_deref().unwrap_or("fgsm").parse()?,
        eps: o.eps,
        alpha: o.alpha,
        steps: o.steps.map(|s| s as usize),
        norm: o.norm.as_deref().map(str::parse::<attack::Norm>).transpose()?,
        momentum: o.momentum,
        seed: o.seed.unwrap_or(0),
        label,
    })
}

#[wasm_bindgen]
impl Session {
    /// The clean image's probabilities, computed when the image was set (no pass).
    pub fn predict(&self) -> Vec<f32> {
        self.0.predict().to_vec()
    }

    /// The model's class for the clean image.
    #[wasm_bindgen(getter)]
    pub fn prediction(&self) -> u32 {
        self.0.prediction() as u32
    }

    /// → `{ loss, grad }` at the clean image for `label`; one gradient pass per label, then none.
    #[wasm_bindgen(js_name = inputGradient)]
    pub fn input_gradient(&mut self, label: f64) -> Result<Object, JsValue> {
        let label = self.0.model().check_label(js_label(label)?)?;
        let gradient = self.0.gradient(label)?;
        object(&[("loss", gradient.loss.into()), ("grad", Float32Array::from(&gradient.grad[..]).into())])
    }

    /// `attack(options, progress?)` → `{ adversarial, perturbation, probs, label, targeted, loss,
    /// losses, steps, params }`. `progress({ step, steps, loss, predicted })` is called for every
    /// iterate; returning `false` stops the attack, whose result is then the last iterate.
    pub fn attack(&mut self, options: JsValue, progress: Option<Function>) -> Result<Object, JsValue> {
        let options = attack_options(options)?;
        let mut thrown = None;
        let result = self.0.attack_with_progress(&options, |p| {
            let Some(progress) = &progress else { return ControlFlow::Continue(()) };
            match progress_object(p).and_then(|p| progress.call1(&JsValue::NULL, &p)) {
                Ok(answer) if answer.as_bool() == Some(false) => ControlFlow::Break(()),
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    thrown = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        match thrown {
            Some(e) => Err(e),
            None => adversarial_object(&result),
        }
    }

    /// `attackSteps(options)` → an `AttackSteps` to drive with `step()`, for a worker that returns
    /// to its event loop between steps (to hear "cancel").
    #[wasm_bindgen(js_name = attackSteps)]
    pub fn attack_steps(&mut self, options: JsValue) -> Result<AttackSteps, JsValue> {
        Ok(AttackSteps(self.0.attack_steps(&attack_options(options)?)?))
    }
}

/// An attack under way (candle's llama2-c shape: one call per step).
#[wasm_bindgen]
pub struct AttackSteps(attack::Attack);

#[wasm_bindgen]
impl AttackSteps {
    /// Evaluates the next iterate → `{ step, steps, loss, predicted }`, or `undefined` when done.
    pub fn step(&mut self) -> Result<JsValue, JsValue> {
        match self.0.step()? {
            Some(p) => Ok(progress_object(&p)?.into()),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        self.0.is_done()
    }

    /// The last iterate evaluated, as `Session.attack` returns it.
    pub fn result(&self) -> Result<Object, JsValue> {
        adversarial_object(&self.0.result()?)
    }
}

fn progress_object(p: &attack::Progress) -> Result<Object, JsValue> {
    object(&[
        ("step", (p.step as u32).into()),
        ("steps", (p.steps as u32).into()),
        ("loss", p.loss.into()),
        ("predicted", (p.predicted as u32).into()),
    ])
}

fn adversarial_object(a: &attack::Adversarial) -> Result<Object, JsValue> {
    let p = &a.params;
    let params = object(&[
        ("method", p.method.name().into()),
        ("eps", p.eps.into()),
        ("alpha", p.alpha.into()),
        ("steps", (p.steps as u32).into()),
        ("norm", p.norm.to_string().into()),
        ("momentum", p.momentum.into()),
        ("seed", (p.seed as f64).into()),
    ])?;
    object(&[
        ("adversarial", Float32Array::from(&a.adversarial[..]).into()),
        ("perturbation", Float32Array::from(&a.perturbation[..]).into()),
        ("probs", Float32Array::from(&a.probs[..]).into()),
        ("label", (a.label as u32).into()),
        ("targeted", a.targeted.into()),
        ("loss", a.loss.into()),
        ("losses", Float32Array::from(&a.losses[..]).into()),
        ("steps", (a.steps as u32).into()),
        ("params", params.into()),
    ])
}

/// `inspectOnnx(bytes)` → `{ gradientGraph, inputShape, blockers: [{ op, node, reason }] }`: whether
/// the file already carries a gradient graph; if not, its image input `[1, C, H, W]` and the
/// operators on the path to the logits that have no gradient rule (empty: the builder can add one).
#[wasm_bindgen(js_name = inspectOnnx)]
pub fn inspect_onnx(onnx: &[u8]) -> Result<Object, JsValue> {
    let found = grad::inspect(onnx)?;
    let shape: Array = found.input_shape.iter().flatten().map(|&d| JsValue::from(d as u32)).collect();
    let blockers: Array = found
        .blockers
        .iter()
        .map(|b| {
            object(&[
                ("op", b.op.as_str().into()),
                ("node", b.node.as_str().into()),
                ("reason", b.reason.as_str().into()),
            ])
        })
        .collect::<Result<_, _>>()?;
    object(&[
        ("gradientGraph", found.gradient_graph.into()),
        ("inputShape", if found.input_shape.is_some() { shape.into() } else { JsValue::NULL }),
        ("blockers", blockers.into()),
    ])
}

/// `buildGradientGraph(options)`'s options, all optional: the image input's and the logits' names,
/// and the normalisation the model expects (one value, or one per channel).
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct BuildOptions {
    input: Option<String>,
    logits: Option<String>,
    mean: Option<Vec<f32>>,
    std: Option<Vec<f32>>,
}

/// `buildGradientGraph(bytes, { mean, std, input, logits })` → `{ onnx, report }`: the model with its
/// gradient graph added (src/grad), and what the builder found and did: `{ input, logits,
/// inputShape, classes, stripped (the final "Softmax"/"LogSoftmax" removed, or null), normalised,
/// ops: { op: count } on the path from the image to the logits, nodesAdded }`.
#[wasm_bindgen(js_name = buildGradientGraph)]
pub fn build_gradient_graph(onnx: &[u8], options: JsValue) -> Result<Object, JsValue> {
    let o: BuildOptions = if options.is_undefined() || options.is_null() {
        BuildOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| JsError::new(&format!("gradient graph options: {e}")))?
    };
    let (built, report) =
        grad::build(onnx, &grad::Options { input: o.input, logits: o.logits, mean: o.mean, std: o.std })?;
    let ops = Object::new();
    for (op, count) in &report.ops {
        Reflect::set(&ops, &op.as_str().into(), &(*count as u32).into())?;
    }
    let shape: Array = report.input_shape.iter().map(|&d| JsValue::from(d as u32)).collect();
    let report = object(&[
        ("input", report.input.as_str().into()),
        ("logits", report.logits.as_str().into()),
        ("inputShape", shape.into()),
        ("classes", (report.classes as u32).into()),
        ("stripped", report.stripped.as_deref().map_or(JsValue::NULL, JsValue::from)),
        ("normalised", report.normalised.into()),
        ("ops", ops.into()),
        ("nodesAdded", (report.nodes_added as u32).into()),
    ])?;
    object(&[("onnx", js_sys::Uint8Array::from(&built[..]).into()), ("report", report.into())])
}

/// RGBA bytes of a canvas → CHW pixels in [0, 1] (luminance when `channels` is 1).
#[wasm_bindgen(js_name = rgbaToPixels)]
pub fn rgba_to_pixels(rgba: &[u8], channels: usize) -> Result<Vec<f32>, JsValue> {
    Ok(image::rgba_to_pixels(rgba, channels)?)
}

/// CHW pixels in [0, 1] → RGBA bytes for `new ImageData(…)`.
#[wasm_bindgen(js_name = pixelsToRgba)]
pub fn pixels_to_rgba(pixels: &[f32], channels: usize) -> Result<Uint8ClampedArray, JsValue> {
    Ok(Uint8ClampedArray::from(&image::pixels_to_rgba(pixels, channels)?[..]))
}

/// A perturbation → RGBA bytes: grey is 0, ±ε shows as ±gain·0.5 around it.
#[wasm_bindgen(js_name = perturbationToRgba)]
pub fn perturbation_to_rgba(
    perturbation: &[f32],
    channels: usize,
    eps: f32,
    gain: f32,
) -> Result<Uint8ClampedArray, JsValue> {
    Ok(Uint8ClampedArray::from(&image::perturbation_to_rgba(perturbation, channels, eps, gain)?[..]))
}

/// A drawing (ink in [0, 1], row-major) → a 28×28 MNIST-style digit, scaled and centred by mass.
#[wasm_bindgen(js_name = centreDigit)]
pub fn centre_digit(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>, JsValue> {
    Ok(image::centre_digit(ink, width, height)?)
}

fn js_label(label: f64) -> Result<i64, JsValue> {
    if label.fract() == 0.0 && label.is_finite() {
        Ok(label as i64)
    } else {
        Err(JsError::new(&format!("label must be a whole number, got {label}")).into())
    }
}

fn object(fields: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &JsValue::from_str(key), value)?;
    }
    Ok(object)
}
