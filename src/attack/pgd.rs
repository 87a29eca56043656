//! Projected Gradient Descent with a random start.

use super::norm::{Norm, along, clip01};
use super::rng::SplitMix64;

/// The random start of Projected Gradient Descent — Madry, Makelov, Schmidt, Tsipras and Vladu,
/// *Towards Deep Learning Models Resistant to Adversarial Attacks*, ICLR 2018 (arXiv:1706.06083),
/// §2.1 and §5: PGD iterates
///
/// `x^{t+1} = Π_{x+S}( x^t + α·sign(∇x L(θ, x^t, y)) )`
///
/// which is BIM's step ([`super::bim::bim_step`]), but from "a uniformly random perturbation in the
/// allowed ℓ∞ ball" instead of from x itself: `x⁰ = clip(x + U(−ε, ε), 0, 1)`. In L2 the start is
/// a random direction scaled to a radius drawn uniformly in [0, ε] (as torchattacks' PGDL2 does).
/// The draws come from `rng`, seeded by the caller, so a run repeats exactly.
pub fn pgd_random_start(x: &[f32], eps: f32, norm: Norm, rng: &mut SplitMix64) -> Vec<f32> {
    match norm {
        Norm::Linf => x.iter().map(|&x| clip01(x + eps * rng.symmetric())).collect(),
        Norm::L2 => {
            let direction: Vec<f32> = x.iter().map(|_| rng.normal()).collect();
            along(x, &direction, eps * rng.uniform())
        }
    }
}
