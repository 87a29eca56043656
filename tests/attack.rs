//! FGSM checked against its definition, and its effect on the shipped held-out digits compared
//! with what PyTorch measured at export time (model.json).

mod common;

use common::{mnist, model_card, test_digits};
use fgsm_wasm::model::argmax;
use fgsm_wasm::{FgsmOptions, fgsm};

#[test]
fn fgsm_stays_in_the_eps_ball_and_in_range_and_follows_the_gradient_sign() {
    let model = mnist();
    for digit in test_digits().iter().take(20) {
        for eps in [0.0, 0.05, 0.1, 0.25, 0.5] {
            let adv = fgsm(&model, &digit.pixels, eps, FgsmOptions::default()).unwrap();
            let grad = model.input_gradient(&digit.pixels, adv.label).unwrap().grad;
            for i in 0..digit.pixels.len() {
                let (x, a, p, g) = (digit.pixels[i], adv.adversarial[i], adv.perturbation[i], grad[i]);
                assert!((0.0..=1.0).contains(&a), "pixel {i} = {a} is outside [0, 1]");
                assert!(p.abs() <= eps + 1e-6, "|δ| = {} > ε = {eps}", p.abs());
                assert!((a - x - p).abs() < 1e-6, "perturbation is not adversarial − original");
                // Unclipped pixels move by exactly ε in the gradient's direction; clipped ones
                // never move against it; pixels with zero gradient stay put.
                let unclipped = (x + eps * g.signum()).clamp(0.0, 1.0) == x + eps * g.signum();
                if g == 0.0 {
                    assert_eq!(p, 0.0);
                } else if unclipped {
                    assert!(
                        (p - eps * g.signum()).abs() < 1e-6,
                        "pixel {i}: δ = {p}, ε·sign(g) = {}",
                        eps * g.signum()
                    );
                } else {
                    assert!(p * g >= 0.0, "pixel {i} moved against the gradient");
                }
            }
        }
    }
}

#[test]
fn the_default_label_is_the_models_prediction_not_the_true_label() {
    let model = mnist();
    let digits = test_digits();
    // A misclassified digit tells the two conventions apart.
    let digit = digits
        .iter()
        .find(|d| argmax(&model.predict(&d.pixels).unwrap()) != d.label as usize)
        .expect("at least one shipped digit is misclassified");
    let predicted = argmax(&model.predict(&digit.pixels).unwrap());
    let adv = fgsm(&model, &digit.pixels, 0.1, FgsmOptions::default()).unwrap();
    assert_eq!(adv.label, predicted);
    let explicit =
        fgsm(&model, &digit.pixels, 0.1, FgsmOptions { label: Some(digit.label as usize), targeted: false }).unwrap();
    assert_eq!(explicit.label, digit.label as usize);
}

#[test]
fn targeted_fgsm_steps_down_the_targets_loss() {
    let model = mnist();
    let digits = test_digits();
    let mut reached = 0;
    let trials = 20;
    for digit in digits.iter().take(trials) {
        let target = (digit.label as usize + 1) % 10;
        let before = model.input_gradient(&digit.pixels, target).unwrap().loss;
        let adv = fgsm(&model, &digit.pixels, 0.1, FgsmOptions { label: Some(target), targeted: true }).unwrap();
        let after = model.input_gradient(&adv.adversarial, target).unwrap().loss;
        assert!(after < before, "target loss went from {before} to {after}");
        reached += usize::from(argmax(&adv.probs) == target);
    }
    println!("targeted FGSM at ε = 0.1 reached the target on {reached}/{trials} digits");
}

/// Recomputes, with tract, what model.json reports from PyTorch on the same 500 digits: the
/// engines must agree, and FGSM at ε = 0.25 must fool the CNN on a large share of digits.
#[test]
fn clean_accuracy_and_fgsm_error_on_the_shipped_digits_match_the_model_card() {
    let model = mnist();
    let digits = test_digits();
    let card = model_card();
    let n = digits.len() as f64;
    let mut correct = 0;
    for d in &digits {
        correct += usize::from(argmax(&model.predict(&d.pixels).unwrap()) == d.label as usize);
    }
    let accuracy = correct as f64 / n;
    println!("clean accuracy on {} shipped digits: {:.2} %", digits.len(), 100.0 * accuracy);
    let shipped = &card["metrics"]["test_digits"];
    let card_accuracy = shipped["clean_accuracy"].as_f64().expect("model.json metrics.test_digits.clean_accuracy");
    assert!((accuracy - card_accuracy).abs() <= 1.0 / n + 1e-9, "tract {accuracy} vs card {card_accuracy}");
    for eps in ["0.1", "0.25"] {
        let mut fooled = 0;
        for d in &digits {
            let adv = fgsm(&model, &d.pixels, eps.parse().unwrap(), FgsmOptions::default()).unwrap();
            fooled += usize::from(argmax(&adv.probs) != d.label as usize);
        }
        let error = fooled as f64 / n;
        let card_error = shipped["fgsm_error"][eps].as_f64().expect("model.json metrics.test_digits.fgsm_error");
        println!("FGSM ε = {eps}: error {:.2} % (model card, PyTorch: {:.2} %)", 100.0 * error, 100.0 * card_error);
        // Sign ties at exactly-zero gradients can differ between engines; allow 1 % of the digits.
        assert!((error - card_error).abs() <= 0.01 + 1e-9, "tract {error} vs card {card_error}");
        if eps == "0.25" {
            assert!(error >= 0.5, "FGSM at ε = 0.25 fools only {:.1} % of digits", 100.0 * error);
        }
    }
}
