//! The Basic Iterative Method.

use super::norm::Norm;

/// One step of the Basic Iterative Method (BIM, also I-FGSM) — Kurakin, Goodfellow and Bengio,
/// *Adversarial examples in the physical world*, ICLR 2017 workshop (arXiv:1607.02533), §2.2:
///
/// `X̃₀ = X,   X̃_{N+1} = Clip_{X,ε}{ X̃_N + α·sign(∇X J(X̃_N, y_true)) }`
///
/// FGSM repeated with a small step α, each step clipped back into the ε-ball around the clean image
/// `X` and into the valid range. In L2 the step is `α·∇/‖∇‖₂` and the clip a projection onto the
/// L2 ball. The paper picks α = 1 grey level (1/255 here) and `min(ε + 4, 1.25·ε)` steps for ε in
/// grey levels, the defaults of [`super::Options`].
pub fn bim_step(x: &[f32], x_n: &[f32], grad: &[f32], alpha: f32, eps: f32, norm: Norm) -> Vec<f32> {
    let moved: Vec<f32> = x_n.iter().zip(norm.steepest(grad, alpha)).map(|(&x_n, step)| x_n + step).collect();
    norm.project(x, &moved, eps)
}
