//! The one-step attacks: FGSM in L∞ and FGM in L2.

use super::norm::{Norm, clip01, sign};

/// Fast Gradient Sign Method — Goodfellow, Shlens and Szegedy, *Explaining and Harnessing
/// Adversarial Examples*, ICLR 2015 (arXiv:1412.6572), §4:
///
/// `x̃ = clip(x + ε·sign(∇x J(θ, x, y)), 0, 1)`
///
/// one step of size ε in max norm. `grad` is the direction to ascend: `∇x J(θ, x, y)` untargeted,
/// `−∇x J(θ, x, t)` for a target `t` (Kurakin et al. 2017's targeted variant).
pub fn fgsm(x: &[f32], grad: &[f32], eps: f32) -> Vec<f32> {
    x.iter().zip(grad).map(|(&x, &g)| clip01(x + eps * sign(g))).collect()
}

/// Fast Gradient Method in L2 — the gradient normalised to length ε instead of its sign, as the
/// adversarial perturbation of Miyato et al., *Distributional Smoothing with Virtual Adversarial
/// Training*, ICLR 2016 (arXiv:1507.00677), eq. (2), and cleverhans' `fast_gradient_method` with
/// `norm=2`:
///
/// `x̃ = clip(x + ε·∇x J / ‖∇x J‖₂, 0, 1)`
pub fn fgm(x: &[f32], grad: &[f32], eps: f32) -> Vec<f32> {
    x.iter().zip(Norm::L2.steepest(grad, eps)).map(|(&x, d)| clip01(x + d)).collect()
}
