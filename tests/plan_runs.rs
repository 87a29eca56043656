//! What each step of the page costs in passes through the model, counted by the core's plan-run
//! counters. Its own test binary: the counters are global, and tests in one binary run in parallel.

mod common;

use fgsm_wasm::attack::{Method, Options};
use fgsm_wasm::model::plan_runs;

#[test]
fn a_new_image_costs_forward_gradient_forward_or_gradient_forward_and_a_slider_step_one_forward_pass() {
    let model = common::mnist();
    let digit = &common::test_digits()[0];
    let runs_since = |(f0, g0): (u64, u64)| {
        let (f, g) = plan_runs();
        (f - f0, g - g0)
    };

    let start = plan_runs();
    let mut session = model.session(&digit.pixels).unwrap();
    session.attack(&Options::new(Method::Fgsm, 0.1)).unwrap();
    assert_eq!(
        runs_since(start),
        (2, 1),
        "new image: the clean prediction, the gradient, the adversarial's prediction"
    );

    for eps in [0.05, 0.2, 0.3] {
        let step = plan_runs();
        session.attack(&Options::new(Method::Fgsm, eps)).unwrap();
        assert_eq!(runs_since(step), (1, 0), "slider step to ε = {eps}: one forward pass, the gradient is kept");
    }

    // The same in the same test (the counters are global): an image set for an attack on the
    // prediction learns the prediction in its gradient pass (the graph picks the label).
    let start = plan_runs();
    let mut session = model.session_with_gradient(&digit.pixels).unwrap();
    session.attack(&Options::new(Method::Fgsm, 0.1)).unwrap();
    assert_eq!(
        runs_since(start),
        (1, 1),
        "new image set with its gradient: the gradient pass, then the adversarial's prediction"
    );
}
