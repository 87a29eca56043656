//! The Momentum Iterative Fast Gradient Sign Method.

use super::bim::bim_step;
use super::norm::{Norm, l1};

/// One step of MI-FGSM — Dong, Liao, Pang, Su, Zhu, Hu and Li, *Boosting Adversarial Attacks with
/// Momentum*, CVPR 2018 (arXiv:1710.06081), Algorithm 1:
///
/// `g_{t+1} = μ·g_t + ∇x J(x*_t, y) / ‖∇x J(x*_t, y)‖₁`
/// `x*_{t+1} = Clip_{x,ε}{ x*_t + α·sign(g_{t+1}) }`
///
/// BIM's step taken along the accumulated gradient `g` (which starts at 0) instead of the current
/// one; with μ = 0 it is BIM. The paper uses μ = 1, T = 10 steps and α = ε/T, the defaults of
/// [`super::Options`]. Its L2 form steps by `α·g/‖g‖₂`. A zero gradient leaves `g` unchanged.
pub fn mi_fgsm_step(
    g: &mut Vec<f32>,
    x: &[f32],
    x_t: &[f32],
    grad: &[f32],
    mu: f32,
    alpha: f32,
    eps: f32,
    norm: Norm,
) -> Vec<f32> {
    if g.len() != grad.len() {
        *g = vec![0.0; grad.len()];
    }
    let length = l1(grad);
    if length > 0.0 && length.is_finite() {
        for (g, &d) in g.iter_mut().zip(grad) {
            *g = mu * *g + (d as f64 / length) as f32;
        }
    }
    bim_step(x, x_t, g, alpha, eps, norm)
}
