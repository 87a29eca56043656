//! The FGSM paper's two other MNIST models, shipped beside the CNN: softmax regression
//! (models/mnist-softmax) and the CNN adversarially trained with the paper's objective
//! (models/mnist-adversarial). Each must load, match float64 PyTorch autograd in tract (its
//! golden file, written by its make script), share the CNN's test digits, and give the clean
//! accuracy and FGSM error its card reports.

mod common;

use common::{repo_path, test_digits};
use fgsm_wasm::model::{argmax, softmax};
use fgsm_wasm::{Method, Model, Options};

const MODELS: [&str; 2] = ["mnist-softmax", "mnist-adversarial"];

fn load(name: &str) -> Model {
    let path = repo_path(&format!("models/{name}/model.onnx"));
    Model::from_onnx_bytes(&std::fs::read(&path).expect("model.onnx")).expect("the shipped model loads")
}

fn json(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(repo_path(relative)).expect(relative)).expect("valid JSON")
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn cards_point_at_the_cnns_test_digits_and_describe_the_file() {
    let cnn_digits = std::fs::read(repo_path("models/mnist/test-digits.bin")).unwrap();
    for name in MODELS {
        let card = json(&format!("models/{name}/model.json"));
        assert_eq!(card["name"], name);
        let file = card["test_digits"]["file"].as_str().expect("test_digits.file");
        // The page resolves it against the model's folder, as this does.
        let digits = std::fs::read(repo_path(&format!("models/{name}/{file}"))).expect("test_digits.file exists");
        assert_eq!(digits, cnn_digits, "{name}: the shared digits are the CNN's file");
        assert_eq!(card["test_digits"]["count"].as_u64().unwrap() as usize, test_digits().len());
        let bytes = std::fs::read(repo_path(&format!("models/{name}/model.onnx"))).unwrap();
        let model = load(name);
        assert_eq!(model.input_shape(), [1, 1, 28, 28]);
        assert_eq!(model.num_classes(), card["classes"].as_array().unwrap().len());
        let golden = json(&format!("tests/fixtures/{name}-golden.json"));
        assert_eq!(golden["model_sha256"], card["sha256"], "{name}: golden file and card are for the same file");
        assert!(bytes.len() > 1000);
    }
}

#[test]
fn tract_matches_pytorch_autograd_on_the_golden_digits() {
    let digits = test_digits();
    for name in MODELS {
        let model = load(name);
        let golden = json(&format!("tests/fixtures/{name}-golden.json"));
        let cases = golden["cases"].as_array().unwrap();
        assert!(cases.len() >= 5);
        let mut worst = 0f32;
        for case in cases {
            let digit = &digits[case["index"].as_u64().unwrap() as usize];
            let label = case["label"].as_u64().unwrap() as usize;
            let probs = model.predict(&digit.pixels).unwrap();
            for (p, q) in probs.iter().zip(&softmax(&floats(&case["logits"]))) {
                assert!((p - q).abs() < 1e-4, "{name}: probabilities differ: tract {p}, torch {q}");
            }
            let gradient = model.input_gradient(&digit.pixels, label).unwrap();
            let torch_loss = case["loss"].as_f64().unwrap() as f32;
            assert!((gradient.loss - torch_loss).abs() <= 1e-4 * (1.0 + torch_loss.abs()), "{name}: loss");
            let torch_grad = floats(&case["input_grad"]);
            let scale = torch_grad.iter().fold(0f32, |m, g| m.max(g.abs()));
            let diff = gradient.grad.iter().zip(&torch_grad).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(diff / scale);
            assert!(diff <= 1e-3 * scale, "{name}, digit {}: max |Δgrad| {diff} vs max |grad| {scale}", case["index"]);
        }
        println!("{name}: tract vs PyTorch autograd, worst max|Δgrad| / max|grad| = {worst:.2e}");
    }
}

/// What each card reports from PyTorch on the 500 shipped digits, recomputed with tract.
#[test]
fn clean_accuracy_and_fgsm_error_match_the_cards() {
    let digits = test_digits();
    let n = digits.len() as f64;
    for name in MODELS {
        let model = load(name);
        let card = json(&format!("models/{name}/model.json"));
        let shipped = &card["metrics"]["test_digits"];
        let mut sessions: Vec<_> = digits.iter().map(|d| model.session(&d.pixels).unwrap()).collect();
        let correct = sessions.iter().zip(&digits).filter(|(s, d)| s.prediction() == d.label as usize).count();
        let accuracy = correct as f64 / n;
        let card_accuracy = shipped["clean_accuracy"].as_f64().unwrap();
        assert!((accuracy - card_accuracy).abs() <= 1.0 / n + 1e-9, "{name}: tract {accuracy} vs card {card_accuracy}");
        for eps in ["0.1", "0.25"] {
            let options = Options::new(Method::Fgsm, eps.parse().unwrap());
            let mut wrong = 0;
            for (s, d) in sessions.iter_mut().zip(&digits) {
                wrong += usize::from(argmax(&s.attack(&options).unwrap().probs) != d.label as usize);
            }
            let error = wrong as f64 / n;
            let card_error = shipped["fgsm_error"][eps].as_f64().unwrap();
            println!(
                "{name}: FGSM ε = {eps}: error {:.1} % (card, PyTorch: {:.1} %)",
                100.0 * error,
                100.0 * card_error
            );
            assert!((error - card_error).abs() <= 0.01 + 1e-9, "{name}: tract {error} vs card {card_error}");
        }
    }
}
