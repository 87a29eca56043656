//! Attacks on a [`Model`], each written as in its paper.

use crate::error::{Error, Result};
use crate::model::{Model, argmax};

/// Which label the attack works against.
#[derive(Clone, Copy, Debug, Default)]
pub struct FgsmOptions {
    /// The label whose loss the step follows. Untargeted: `None` means the model's own prediction on
    /// the clean image, as torchattacks, foolbox and ART do by default (using the true label "leaks"
    /// it into the attack). Targeted: the class the image should become; required.
    pub label: Option<usize>,
    /// Step *down* the loss of `label` instead of up, pulling the image towards that class.
    pub targeted: bool,
}

#[derive(Clone, Debug)]
pub struct Adversarial {
    /// `clip(x ± ε·sign(∇x J(θ, x, label)), 0, 1)`, CHW like the input.
    pub adversarial: Vec<f32>,
    /// `adversarial − x`: the step actually taken, after clipping (so within [−ε, ε]).
    pub perturbation: Vec<f32>,
    /// The model's probabilities on the adversarial image.
    pub probs: Vec<f32>,
    /// The label the gradient was taken for.
    pub label: usize,
    /// Loss of the clean image for `label`.
    pub loss: f32,
}

/// Fast Gradient Sign Method — Goodfellow, Shlens and Szegedy, *Explaining and Harnessing
/// Adversarial Examples*, ICLR 2015: `x' = clip(x + ε·sign(∇x J(θ, x, y)), 0, 1)`, one step of size ε
/// in L∞. The targeted variant (Kurakin et al. 2017) steps against the gradient of the target's loss.
pub fn fgsm(model: &Model, pixels: &[f32], eps: f32, options: FgsmOptions) -> Result<Adversarial> {
    if !(0.0..=1.0).contains(&eps) {
        return Err(Error::Epsilon(eps));
    }
    let label = match (options.label, options.targeted) {
        (Some(label), _) => model.check_label(label as i64)?,
        (None, false) => argmax(&model.predict(pixels)?),
        (None, true) => return Err(Error::MissingTarget),
    };
    let gradient = model.input_gradient(pixels, label)?;
    let step = if options.targeted { -eps } else { eps };
    let adversarial: Vec<f32> =
        pixels.iter().zip(&gradient.grad).map(|(&x, &g)| (x + step * sign(g)).clamp(0.0, 1.0)).collect();
    let perturbation = adversarial.iter().zip(pixels).map(|(a, x)| a - x).collect();
    let probs = model.predict(&adversarial)?;
    Ok(Adversarial { adversarial, perturbation, probs, label, loss: gradient.loss })
}

/// sign with sign(0) = 0, as ONNX `Sign` and `torch.sign`: a pixel the loss does not depend on is
/// left alone (`f32::signum` would move it by ε).
fn sign(g: f32) -> f32 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
    }
}
