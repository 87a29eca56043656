//! The baseline: random noise of the same size as the attack.

use super::norm::{Norm, along, clip01};
use super::rng::SplitMix64;

/// Random noise with the same norm and ε as an attack — the baseline that shows the gradient's
/// direction, not the perturbation's size, fools the model. The FGSM paper argues that the
/// direction matters most; this measures it.
///
/// In L∞, `x̃ = clip(x + ε·s, 0, 1)` with each `sᵢ = ±1` at random: a random corner of the ε-ball,
/// where FGSM's step is the corner the gradient picks, so both perturbations have the same size in
/// every pixel. In L2, `x̃ = clip(x + ε·u/‖u‖₂, 0, 1)` with `u` a random (approximately Gaussian)
/// direction, as FGM's step has length ε.
pub fn random_noise(x: &[f32], eps: f32, norm: Norm, rng: &mut SplitMix64) -> Vec<f32> {
    match norm {
        Norm::Linf => x.iter().map(|&x| clip01(x + eps * rng.sign())).collect(),
        Norm::L2 => {
            let u: Vec<f32> = x.iter().map(|_| rng.normal()).collect();
            along(x, &u, eps)
        }
    }
}
