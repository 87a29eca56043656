//! Every `#[wasm_bindgen]` item of the crate. Each one converts JS values to core types, calls the
//! core, and converts the result or the error back; no logic lives here.

use js_sys::{Array, Float32Array, Object, Reflect, Uint8ClampedArray};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::{attack, error::Error, image, model};

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

/// An ONNX classifier with its gradient graph (see models/README.md).
#[wasm_bindgen]
pub struct Model(model::Model);

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
        Ok(Model(model::Model::from_onnx_bytes(onnx)?))
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

    /// `fgsm(pixels, eps, { label, targeted })` → `{ adversarial, perturbation, probs, label, loss }`.
    pub fn fgsm(&self, pixels: &[f32], eps: f32, options: JsValue) -> Result<Object, JsValue> {
        let options: FgsmOptions = if options.is_undefined() || options.is_null() {
            FgsmOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| JsError::new(&format!("fgsm options: {e}")))?
        };
        let options = attack::FgsmOptions { label: options.label.map(|l| l as usize), targeted: options.targeted };
        let result = attack::fgsm(&self.0, pixels, eps, options)?;
        object(&[
            ("adversarial", Float32Array::from(&result.adversarial[..]).into()),
            ("perturbation", Float32Array::from(&result.perturbation[..]).into()),
            ("probs", Float32Array::from(&result.probs[..]).into()),
            ("label", (result.label as u32).into()),
            ("loss", result.loss.into()),
        ])
    }
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
