//! The gradient graph inside the shipped model, run by tract, against two independent references:
//! PyTorch autograd (golden file written by the export script) and finite differences of `loss`.

mod common;

use common::{Rng, mnist, repo_path, test_digits};
use fgsm_wasm::model::{argmax, softmax};

#[test]
fn tract_matches_pytorch_autograd_on_the_golden_digits() {
    let model = mnist();
    let digits = test_digits();
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_path("tests/fixtures/mnist-golden.json")).unwrap()).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
    };
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    let mut worst_grad = 0f32;
    for case in cases {
        let digit = &digits[case["index"].as_u64().unwrap() as usize];
        let label = case["label"].as_u64().unwrap() as usize;
        let probs = model.predict(&digit.pixels).unwrap();
        let torch_probs = softmax(&floats(&case["logits"]));
        for (p, q) in probs.iter().zip(&torch_probs) {
            assert!((p - q).abs() < 1e-4, "probabilities differ: tract {p}, torch {q}");
        }
        let gradient = model.input_gradient(&digit.pixels, label).unwrap();
        let torch_loss = case["loss"].as_f64().unwrap() as f32;
        assert!(
            (gradient.loss - torch_loss).abs() <= 1e-4 * (1.0 + torch_loss.abs()),
            "loss {} vs {torch_loss}",
            gradient.loss
        );
        let torch_grad = floats(&case["input_grad"]);
        let scale = torch_grad.iter().fold(0f32, |m, g| m.max(g.abs()));
        let max_diff = gradient.grad.iter().zip(&torch_grad).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        worst_grad = worst_grad.max(max_diff / scale);
        assert!(max_diff <= 1e-3 * scale, "digit {}: max |Δgrad| {max_diff} vs max |grad| {scale}", case["index"]);
    }
    println!("tract vs PyTorch autograd: worst max|Δgrad| / max|grad| = {worst_grad:.2e} over {} digits", cases.len());
}

/// Directional derivative from the gradient, `g·d`, against the central difference
/// `(L(x + h·d) − L(x − h·d)) / 2h`, in two kinds of random direction:
/// - `d = u ⊙ sign(g)` with random magnitudes u ~ U(0, 1): g·d is large, so the relative error
///   |fd − g·d| / |g·d| is meaningful;
/// - Gaussian d: nearly orthogonal to g in 784 dimensions, so g·d is tiny and the error is measured
///   against its Cauchy–Schwarz scale |g|·|d|.
///
/// Pixels must stay in [0, 1], so the test digits are first mapped to [0.1, 0.9] (still the same
/// digit to the model); labels cover the predicted class and a wrong one, so the loss is both
/// small and large.
#[test]
fn gradient_agrees_with_finite_differences() {
    let model = mnist();
    let digits = test_digits();
    let mut rng = Rng::new(7);
    let h = 1e-3f32;
    let (mut worst_signed, mut worst_gaussian) = (0f64, 0f64);
    for digit in digits.iter().take(8) {
        let x: Vec<f32> = digit.pixels.iter().map(|p| 0.1 + 0.8 * p).collect();
        let predicted = argmax(&model.predict(&x).unwrap());
        for label in [predicted, (predicted + 3) % 10] {
            let g = model.input_gradient(&x, label).unwrap().grad;
            let g_norm = g.iter().map(|v| (v * v) as f64).sum::<f64>().sqrt();
            let loss = |s: f32, d: &[f32]| -> f64 {
                let shifted: Vec<f32> = x.iter().zip(d).map(|(xi, di)| xi + s * di).collect();
                model.input_gradient(&shifted, label).unwrap().loss as f64
            };
            for _ in 0..3 {
                let signed: Vec<f32> = g.iter().map(|gi| rng.next_f32() * gi.signum()).collect();
                let gaussian: Vec<f32> = (0..x.len()).map(|_| rng.normal()).collect();
                for (d, is_gaussian) in [(signed, false), (gaussian, true)] {
                    // Unit length, so that h is the step's length in pixel space.
                    let norm = d.iter().map(|v| v * v).sum::<f32>().sqrt();
                    let d: Vec<f32> = d.iter().map(|v| v / norm).collect();
                    let fd = (loss(h, &d) - loss(-h, &d)) / (2.0 * h as f64);
                    let analytic: f64 = g.iter().zip(&d).map(|(gi, di)| (gi * di) as f64).sum();
                    let (error, worst) = if is_gaussian {
                        ((fd - analytic).abs() / g_norm, &mut worst_gaussian)
                    } else {
                        ((fd - analytic).abs() / analytic.abs(), &mut worst_signed)
                    };
                    *worst = worst.max(error);
                    assert!(
                        error <= 0.02,
                        "label {label}, gaussian {is_gaussian}: finite difference {fd:.6e} vs g·d {analytic:.6e} (error {error:.4})"
                    );
                }
            }
        }
    }
    println!(
        "finite differences vs gradient graph: worst relative error {:.3} % (sign-weighted directions), {:.3} % of |g| (Gaussian)",
        100.0 * worst_signed,
        100.0 * worst_gaussian
    );
}
