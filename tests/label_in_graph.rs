//! A negative label asks the gradient plan for the model's own prediction (src/model.rs,
//! `choose_label_in_graph`): the class it picks is the largest logit, and its loss and gradient are
//! those of that class given explicitly, bit for bit; a session set with its gradient attacks as one
//! set without.

mod common;

use common::repo_path;
use fgsm_wasm::Model;
use fgsm_wasm::attack::{Method, Options};
use fgsm_wasm::model::argmax;

/// Images that the model reads as different classes: a few test digits, or patterned photos.
fn images(model: &Model) -> Vec<Vec<f32>> {
    let n = model.input_len();
    if model.input_shape()[1] == 1 {
        return common::test_digits().into_iter().take(6).map(|d| d.pixels).collect();
    }
    (3..7).map(|k| (0..n).map(|i| ((i * k) % 17) as f32 / 17.0).collect()).collect()
}

fn picks_the_prediction(model: &Model) {
    for x in images(model) {
        let logits = model.logits(&x).unwrap();
        let (used, picked, graph_logits) = model.predicted_gradient(&x).unwrap();
        assert_eq!(used, argmax(&graph_logits), "the label used is the largest logit of the same pass");
        assert_eq!(used, argmax(&logits), "and the forward plan's prediction");
        let explicit = model.input_gradient(&x, used).unwrap();
        assert_eq!(picked.loss.to_bits(), explicit.loss.to_bits(), "loss");
        assert_eq!(picked.grad, explicit.grad, "input gradient");
        assert_eq!(picked.probs, explicit.probs, "probabilities");
        // Another class than the prediction is still the one asked for.
        let other = (used + 1) % model.num_classes();
        let g = model.input_gradient(&x, other).unwrap();
        assert!(g.loss > explicit.loss, "class {other}'s loss {} is above the prediction's {}", g.loss, explicit.loss);

        let mut with = model.session_with_gradient(&x).unwrap();
        let mut without = model.session(&x).unwrap();
        assert_eq!(with.prediction(), without.prediction());
        let eps = 2.0 / 255.0;
        let (a, b) = (
            with.attack(&Options::new(Method::Fgsm, eps)).unwrap(),
            without.attack(&Options::new(Method::Fgsm, eps)).unwrap(),
        );
        assert_eq!(a.adversarial, b.adversarial, "the same adversarial image");
        assert_eq!(a.label, b.label);
    }
}

#[test]
fn mnist_picks_its_prediction() {
    picks_the_prediction(&common::mnist());
}

#[test]
fn efficientnet_picks_its_prediction() {
    let bytes = std::fs::read(repo_path("models/efficientnet-lite0/model.onnx")).unwrap();
    picks_the_prediction(&Model::from_onnx_bytes(&bytes).unwrap());
}
