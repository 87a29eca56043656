//! Every attack method checked for what a wrong implementation would get wrong: leaving its norm
//! ball or [0, 1], climbing instead of descending a target's loss, not repeating from a seed,
//! disagreeing with the method it reduces to, and being weaker than it should be on the shipped
//! held-out digits (or random noise being as strong as FGSM).

mod common;

use std::ops::ControlFlow;

use common::{mnist, test_digits};
use fgsm_wasm::model::argmax;
use fgsm_wasm::{Error, FgsmOptions, Label, Method, Model, Norm, Options, fgsm};

/// ε of the ball each norm is tested in: 0.1 per pixel, or an L2 length of 1.5 (of at most 28).
fn eps_for(norm: Norm) -> f32 {
    match norm {
        Norm::Linf => 0.1,
        Norm::L2 => 1.5,
    }
}

/// Every (method, norm) pair that exists: FGSM is L∞ only, FGM L2 only.
fn methods_and_norms() -> Vec<(Method, Norm)> {
    Method::ALL
        .into_iter()
        .flat_map(|m| [(m, Norm::Linf), (m, Norm::L2)])
        .filter(|&(m, n)| !matches!((m, n), (Method::Fgsm, Norm::L2) | (Method::Fgm, Norm::Linf)))
        .collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_method_stays_in_its_norm_ball_and_in_range() {
    let model = mnist();
    for digit in test_digits().iter().take(4) {
        let mut session = model.session(&digit.pixels).unwrap();
        let target = (session.prediction() + 3) % 10;
        for (method, norm) in methods_and_norms() {
            let eps = eps_for(norm);
            // α = ε/2 over 5 steps walks 2.5·ε: the projection has work to do.
            for label in [Label::Predicted, Label::Targeted(target)] {
                let options = Options {
                    norm: Some(norm),
                    steps: Some(5),
                    alpha: Some(eps / 2.0),
                    seed: 7,
                    label,
                    ..Options::new(method, eps)
                };
                let adv = session.attack(&options).unwrap();
                let what = format!("{method} {norm} {label:?}");
                assert!(adv.adversarial.iter().all(|p| (0.0..=1.0).contains(p)), "{what}: a pixel left [0, 1]");
                let size = norm.distance(&adv.adversarial, &digit.pixels);
                assert!(size <= eps * (1.0 + 1e-5) + 1e-6, "{what}: ‖δ‖ = {size} > ε = {eps}");
                assert!(size > 0.0, "{what}: the image did not move");
                for ((a, x), p) in adv.adversarial.iter().zip(&digit.pixels).zip(&adv.perturbation) {
                    assert_eq!(a - x, *p, "{what}: perturbation ≠ adversarial − clean");
                }
                let steps = options.resolve(784).unwrap().steps;
                assert_eq!((adv.steps, adv.losses.len()), (steps, steps + 1), "{what}");
                assert_eq!(argmax(&adv.probs), argmax(&model.predict(&adv.adversarial).unwrap()), "{what}");
            }
        }
    }
}

#[test]
fn targeted_iterative_methods_with_a_small_step_lower_the_targets_loss_at_every_step() {
    let model = mnist();
    for digit in test_digits().iter().take(5) {
        let mut session = model.session(&digit.pixels).unwrap();
        let target = (session.prediction() + 5) % 10;
        for method in [Method::Bim, Method::Pgd, Method::MiFgsm] {
            for (norm, alpha) in [(Norm::Linf, 0.002), (Norm::L2, 0.02)] {
                let options = Options {
                    norm: Some(norm),
                    steps: Some(10),
                    alpha: Some(alpha),
                    seed: 1,
                    label: Label::Targeted(target),
                    ..Options::new(method, eps_for(norm))
                };
                let losses = session.attack(&options).unwrap().losses;
                assert_eq!(losses.len(), 11);
                for k in 1..losses.len() {
                    assert!(
                        losses[k] < losses[k - 1],
                        "{method} {norm}: target {target}'s loss rose at step {k}: {losses:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn pgd_and_noise_with_a_fixed_seed_repeat_bit_for_bit() {
    let model = mnist();
    let digit = &test_digits()[3];
    for (method, norm) in
        [(Method::Pgd, Norm::Linf), (Method::Pgd, Norm::L2), (Method::Noise, Norm::Linf), (Method::Noise, Norm::L2)]
    {
        let options = |seed| Options { norm: Some(norm), steps: Some(8), seed, ..Options::new(method, eps_for(norm)) };
        // Two sessions, so nothing cached in one can make the runs agree.
        let first = model.session(&digit.pixels).unwrap().attack(&options(42)).unwrap();
        let again = model.session(&digit.pixels).unwrap().attack(&options(42)).unwrap();
        assert_eq!(bits(&first.adversarial), bits(&again.adversarial), "{method} {norm}");
        assert_eq!(bits(&first.losses), bits(&again.losses), "{method} {norm}");
        let other = model.session(&digit.pixels).unwrap().attack(&options(43)).unwrap();
        assert_ne!(bits(&first.adversarial), bits(&other.adversarial), "{method} {norm}: the seed changed nothing");
    }
}

#[test]
fn bim_with_one_step_of_eps_is_fgsm() {
    let model = mnist();
    for digit in test_digits().iter().take(10) {
        let mut session = model.session(&digit.pixels).unwrap();
        let target = (session.prediction() + 1) % 10;
        for eps in [0.03, 0.1, 0.3] {
            for label in [Label::Predicted, Label::Untargeted(digit.label as usize), Label::Targeted(target)] {
                let fgsm = session.attack(&Options { label, ..Options::new(Method::Fgsm, eps) }).unwrap();
                let bim = Options { label, steps: Some(1), alpha: Some(eps), ..Options::new(Method::Bim, eps) };
                let bim = session.attack(&bim).unwrap();
                assert_eq!(bits(&fgsm.adversarial), bits(&bim.adversarial), "ε = {eps}, {label:?}");
                assert_eq!(bits(&fgsm.probs), bits(&bim.probs));
            }
        }
    }
}

#[test]
fn mi_fgsm_without_momentum_is_bim() {
    let model = mnist();
    for digit in test_digits().iter().take(5) {
        let mut session = model.session(&digit.pixels).unwrap();
        let target = (session.prediction() + 2) % 10;
        for label in [Label::Predicted, Label::Targeted(target)] {
            let options = |method| Options { steps: Some(6), alpha: Some(0.03), label, ..Options::new(method, 0.1) };
            let bim = session.attack(&options(Method::Bim)).unwrap();
            let mi = session.attack(&Options { momentum: Some(0.0), ..options(Method::MiFgsm) }).unwrap();
            assert_eq!(bits(&bim.adversarial), bits(&mi.adversarial), "{label:?}");
            assert_eq!(bits(&bim.losses), bits(&mi.losses), "{label:?}");
            // With its default μ = 1 the path differs, which shows the momentum is used at all.
            let momentum = session.attack(&options(Method::MiFgsm)).unwrap();
            assert_ne!(bits(&bim.losses), bits(&momentum.losses), "{label:?}");
        }
    }
}

/// Share of `digits` whose adversarial class is not the true label (the attack's label is the
/// model's prediction), as `fgsm eval` counts it.
fn error(model: &Model, digits: &[fgsm_wasm::digits::Digit], options: &Options) -> f64 {
    let wrong = digits
        .iter()
        .filter(|d| {
            let adv = model.session(&d.pixels).unwrap().attack(options).unwrap();
            argmax(&adv.probs) != d.label as usize
        })
        .count();
    wrong as f64 / digits.len() as f64
}

/// The first 100 of the 500 shipped digits: enough to tell the methods apart in a debug build
/// (`fgsm eval` prints the table over all 500).
const DIGITS: usize = 100;

#[test]
fn pgd_fools_at_least_as_many_held_out_digits_as_fgsm() {
    let model = mnist();
    let digits = &test_digits()[..DIGITS];
    let fgsm = error(&model, digits, &Options::new(Method::Fgsm, 0.1));
    let pgd = error(&model, digits, &Options { seed: 0, ..Options::new(Method::Pgd, 0.1) });
    println!("ε = 0.1 on {DIGITS} digits: FGSM error {:.1} %, PGD (40 steps) {:.1} %", 100.0 * fgsm, 100.0 * pgd);
    assert!(pgd >= fgsm, "PGD {pgd} < FGSM {fgsm}");
}

#[test]
fn random_noise_fools_far_fewer_digits_than_fgsm() {
    let model = mnist();
    let digits = &test_digits()[..DIGITS];
    for eps in [0.1, 0.25] {
        let fgsm = error(&model, digits, &Options::new(Method::Fgsm, eps));
        let noise = error(&model, digits, &Options { seed: 5, ..Options::new(Method::Noise, eps) });
        println!(
            "ε = {eps} on {DIGITS} digits: FGSM error {:.1} %, random ±ε noise {:.1} %",
            100.0 * fgsm,
            100.0 * noise
        );
        assert!(noise * 3.0 <= fgsm, "noise {noise} is not far below FGSM {fgsm}");
    }
}

#[test]
fn a_session_answers_from_what_it_holds() {
    let model = mnist();
    let digit = &test_digits()[0];
    let mut session = model.session(&digit.pixels).unwrap();
    assert_eq!(bits(session.predict()), bits(&model.predict(&digit.pixels).unwrap()));
    let predicted = session.prediction();
    assert_eq!(session.resolve(Label::Predicted).unwrap(), (predicted, false));
    assert_eq!(session.resolve(Label::Targeted(4)).unwrap(), (4, true));
    assert!(matches!(session.resolve(Label::Untargeted(10)), Err(Error::Label { label: 10, .. })));
    let direct = model.input_gradient(&digit.pixels, 4).unwrap();
    assert_eq!(bits(&session.gradient(4).unwrap().grad), bits(&direct.grad));
    // The shorthand without a session gives the same bits as FGSM on a session.
    let shorthand = fgsm(&model, &digit.pixels, 0.2, FgsmOptions { label: Some(4), targeted: true }).unwrap();
    let on_session = session.attack(&Options { label: Label::Targeted(4), ..Options::new(Method::Fgsm, 0.2) }).unwrap();
    assert_eq!(bits(&shorthand.adversarial), bits(&on_session.adversarial));
    assert_eq!((shorthand.label, shorthand.targeted), (4, true));
    // The default label is the prediction, not the true label.
    assert_eq!(session.attack(&Options::new(Method::Pgd, 0.1)).unwrap().label, predicted);
}

#[test]
fn an_attack_can_be_stopped_and_driven_step_by_step() {
    let model = mnist();
    let digit = &test_digits()[1];
    let mut session = model.session(&digit.pixels).unwrap();
    let options = Options { steps: Some(10), seed: 9, ..Options::new(Method::Pgd, 0.1) };

    let mut seen = Vec::new();
    let stopped = session
        .attack_with_progress(&options, |p| {
            seen.push((p.step, p.steps, p.loss));
            if p.step == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .unwrap();
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(seen.iter().all(|s| s.1 == 10));
    assert_eq!((stopped.steps, stopped.losses.len()), (3, 4));

    let mut steps = session.attack_steps(&options).unwrap();
    assert!(steps.result().is_err(), "no result before the first step");
    for _ in 0..4 {
        steps.step().unwrap().unwrap();
    }
    let after_four = steps.result().unwrap();
    assert_eq!(bits(&after_four.adversarial), bits(&stopped.adversarial));
    assert_eq!(bits(&after_four.losses), bits(&seen.iter().map(|s| s.2).collect::<Vec<_>>()));
    while steps.step().unwrap().is_some() {}
    assert!(steps.is_done());
    let full = session.attack(&options).unwrap();
    assert_eq!(bits(&steps.result().unwrap().adversarial), bits(&full.adversarial));
    assert_eq!(full.losses.len(), 11);
}

#[test]
fn bad_options_are_errors_that_say_what_is_wrong() {
    let model = mnist();
    let mut session = model.session(&test_digits()[0].pixels).unwrap();
    let fails = |session: &mut fgsm_wasm::Session, options: Options| session.attack(&options).unwrap_err().to_string();
    assert!(fails(&mut session, Options { norm: Some(Norm::L2), ..Options::new(Method::Fgsm, 0.1) }).contains("fgm"));
    assert!(fails(&mut session, Options { norm: Some(Norm::Linf), ..Options::new(Method::Fgm, 1.0) }).contains("fgsm"));
    assert!(fails(&mut session, Options { steps: Some(0), ..Options::new(Method::Bim, 0.1) }).contains("steps"));
    assert!(fails(&mut session, Options { steps: Some(100_000), ..Options::new(Method::Pgd, 0.1) }).contains("steps"));
    assert!(fails(&mut session, Options { alpha: Some(-0.1), ..Options::new(Method::Pgd, 0.1) }).contains("α"));
    assert!(fails(&mut session, Options { alpha: Some(f32::NAN), ..Options::new(Method::Bim, 0.1) }).contains("α"));
    assert!(fails(&mut session, Options { momentum: Some(-1.0), ..Options::new(Method::MiFgsm, 0.1) }).contains("μ"));
    assert!(matches!(session.attack(&Options::new(Method::Pgd, 1.5)), Err(Error::Epsilon(_))));
    assert!(fails(&mut session, Options { norm: Some(Norm::L2), ..Options::new(Method::Noise, 30.0) }).contains("L2"));
    // In L2, ε may exceed 1 (the image's diagonal is 28).
    assert!(session.attack(&Options::new(Method::Fgm, 3.0)).is_ok());
    assert!(
        fails(&mut session, Options { label: Label::Targeted(10), ..Options::new(Method::Bim, 0.1) }).contains("10")
    );
    assert!("PGD".parse::<Method>().is_ok() && "i-fgsm".parse::<Method>().unwrap() == Method::Bim);
    assert!("sgd".parse::<Method>().unwrap_err().to_string().contains("fgsm, fgm, bim, pgd"));
    assert!("l3".parse::<Norm>().is_err());
}
