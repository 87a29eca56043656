//! The shipped models rebuilt by the gradient-graph builder: their forward part (the gradient graph
//! stripped off) goes through `fgsm_wasm::grad::build`, and the result must compute the same loss
//! and input gradient as the shipped file, which the former Python tool made and PyTorch autograd
//! checked. The model scripts now run `fgsm grad-graph` (models/tools/fgsm_grad_graph.py): the
//! command writes exactly the bytes `grad::build` returns.

mod common;

use common::{repo_path, test_digits};
use fgsm_wasm::Model;
use fgsm_wasm::grad::{self, Options};
use fgsm_wasm::model::argmax;
use prost::Message;

/// The shipped file and the builder's rebuild of its forward part.
fn shipped_and_rebuilt(path: &str) -> (Model, Model, grad::Report) {
    let bytes = std::fs::read(repo_path(path)).unwrap();
    let mut forward = grad::decode(&bytes).unwrap();
    grad::strip_gradient(&mut forward);
    let (built, report) = grad::build(&forward.encode_to_vec(), &Options::default()).unwrap();
    println!(
        "{path}: shipped {} bytes, rebuilt {} bytes, {} backward nodes",
        bytes.len(),
        built.len(),
        report.nodes_added
    );
    (Model::from_onnx_bytes(&bytes).unwrap(), Model::from_onnx_bytes(&built).unwrap(), report)
}

/// Largest |a − b| relative to the largest |a|.
fn relative(a: &[f32], b: &[f32]) -> f32 {
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn mnist_models_rebuilt_match_the_shipped_gradients() {
    for path in ["models/mnist/model.onnx", "models/mnist-softmax/model.onnx", "models/mnist-adversarial/model.onnx"] {
        mnist_model_rebuilt_matches(path);
    }
}

fn mnist_model_rebuilt_matches(path: &str) {
    let (shipped, rebuilt, report) = shipped_and_rebuilt(path);
    assert_eq!(report.classes, 10);
    let mut worst = 0f32;
    for digit in test_digits().iter().take(20) {
        let predicted = argmax(&shipped.predict(&digit.pixels).unwrap());
        for label in [predicted, (predicted + 3) % 10] {
            let a = shipped.input_gradient(&digit.pixels, label).unwrap();
            let b = rebuilt.input_gradient(&digit.pixels, label).unwrap();
            assert!((a.loss - b.loss).abs() <= 1e-5 * (1.0 + a.loss.abs()), "loss {} vs {}", a.loss, b.loss);
            worst = worst.max(relative(&a.grad, &b.grad));
        }
    }
    println!("{path}: worst max |Δgrad| / max |grad| over 20 digits × 2 labels = {worst:.2e}");
    assert!(worst <= 1e-5, "{worst}");
}

#[test]
fn efficientnet_rebuilt_matches_the_shipped_gradient() {
    let (shipped, rebuilt, report) = shipped_and_rebuilt("models/efficientnet-lite0/model.onnx");
    assert_eq!(report.classes, 1000);
    let png = ::image::open(repo_path("tests/fixtures/efficientnet-input.png")).unwrap().to_rgba8();
    let x = fgsm_wasm::image::rgba_to_pixels(png.as_raw(), 3).unwrap();
    let predicted = argmax(&shipped.predict(&x).unwrap());
    for label in [predicted, 7] {
        let a = shipped.input_gradient(&x, label).unwrap();
        let b = rebuilt.input_gradient(&x, label).unwrap();
        let r = relative(&a.grad, &b.grad);
        println!(
            "EfficientNet-Lite0, label {label}: loss {} vs {}, max |Δgrad| / max |grad| = {r:.2e}",
            a.loss, b.loss
        );
        assert!((a.loss - b.loss).abs() <= 1e-4 * (1.0 + a.loss.abs()));
        assert!(r <= 1e-4, "{r}");
    }
}

/// The command the model scripts run, `fgsm grad-graph FORWARD OUT`, on each shipped model's
/// forward part (`fgsm forward-only`, as the scripts' torch export is forward-only): its file is
/// byte for byte what `grad::build` gives, whose gradients the tests above compare.
#[test]
fn the_scripts_command_writes_what_the_builder_builds() {
    let dir = std::env::temp_dir().join(format!("fgsm-grad-shipped-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["mnist", "mnist-softmax", "mnist-adversarial", "efficientnet-lite0"] {
        let shipped = repo_path(&format!("models/{name}/model.onnx"));
        let (forward, out) = (dir.join(format!("{name}-forward.onnx")), dir.join(format!("{name}-built.onnx")));
        for args in [
            vec![
                "forward-only".as_ref(),
                "--model".as_ref(),
                shipped.as_os_str(),
                "--out".as_ref(),
                forward.as_os_str(),
            ],
            vec!["grad-graph".as_ref(), forward.as_os_str(), out.as_os_str()],
        ] {
            let run = std::process::Command::new(env!("CARGO_BIN_EXE_fgsm")).args(&args).output().unwrap();
            assert!(run.status.success(), "fgsm {args:?}: {}", String::from_utf8_lossy(&run.stderr));
        }
        let mut stripped = grad::decode(&std::fs::read(&shipped).unwrap()).unwrap();
        grad::strip_gradient(&mut stripped);
        let (built, _) = grad::build(&stripped.encode_to_vec(), &Options::default()).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), built, "{name}: fgsm grad-graph wrote other bytes");
        println!("{name}: fgsm grad-graph wrote the builder's {} bytes", built.len());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
