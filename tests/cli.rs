//! The CLI's tables (`fgsm eval`, `fgsm transfer`), run as the built binary, against the same
//! figures computed here with the core directly; and the FGSM paper's comparison: softmax
//! regression is fooled by FGSM at ε = 0.25 on nearly every digit, and adversarial training with
//! the paper's objective makes the CNN harder to fool.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;

use common::{repo_path, test_digits};
use fgsm_wasm::model::argmax;
use fgsm_wasm::{Label, Method, Model, Options};
use serde_json::Value;

const MODELS: [&str; 3] = ["mnist", "mnist-softmax", "mnist-adversarial"];

fn model_path(name: &str) -> String {
    format!("models/{name}/model.onnx")
}

fn load(name: &str) -> Model {
    Model::from_onnx_bytes(&std::fs::read(repo_path(&model_path(name))).unwrap()).unwrap()
}

/// Runs the `fgsm` binary from the repository root: (success, stdout, stderr).
fn fgsm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fgsm"))
        .args(args)
        .current_dir(repo_path("."))
        .output()
        .expect("the fgsm binary runs");
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn fgsm_json(args: &[&str]) -> Value {
    let (ok, stdout, stderr) = fgsm(args);
    assert!(ok, "fgsm {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("fgsm {args:?}: not JSON ({e}): {stdout}"))
}

/// The options `fgsm eval` and `transfer` use for digit `i` (from 0): seed = digit number = i + 1.
fn options(method: Method, eps: f32, i: usize, label: Label) -> Options {
    Options { seed: i as u64 + 1, label, ..Options::new(method, eps) }
}

fn all_models() -> String {
    MODELS.map(model_path).join(",")
}

#[test]
fn eval_json_and_table_equal_the_cores_figures() {
    const LIMIT: usize = 20;
    let methods = [Method::Fgsm, Method::Pgd, Method::Noise];
    let eps = [0.1f32, 0.25];
    let common = ["--method", "fgsm,pgd,noise", "--eps", "0.1,0.25", "--limit", "20"];
    let models = all_models();
    let json = fgsm_json(&[&["eval", "--model", &models, "--json"], &common[..]].concat());
    let (ok, table, stderr) = fgsm(&[&["eval", "--model", &models], &common[..]].concat());
    assert!(ok, "{stderr}");
    let reports = json.as_array().expect("several models: a JSON array");
    assert_eq!(reports.len(), MODELS.len());
    let digits = &test_digits()[..LIMIT];
    let blocks: Vec<&str> = table.split("model: ").skip(1).collect();
    assert_eq!(blocks.len(), MODELS.len(), "one table per model:\n{table}");
    for ((name, report), block) in MODELS.iter().zip(reports).zip(&blocks) {
        assert_eq!(report["name"], *name);
        assert_eq!(report["digits"], LIMIT);
        assert!(block.starts_with(name), "tables in the order given:\n{block}");
        let model = load(name);
        let mut sessions: Vec<_> = digits.iter().map(|d| model.session(&d.pixels).unwrap()).collect();
        let correct = sessions.iter().zip(digits).filter(|(s, d)| s.prediction() == d.label as usize).count();
        assert_eq!(report["clean_accuracy"].as_f64().unwrap(), correct as f64 / LIMIT as f64, "{name}");
        for method in methods {
            for (e, &eps) in eps.iter().enumerate() {
                let mut wrong = 0;
                for (i, (s, d)) in sessions.iter_mut().zip(digits).enumerate() {
                    let adv = s.attack(&options(method, eps, i, Label::Predicted)).unwrap();
                    wrong += usize::from(argmax(&adv.probs) != d.label as usize);
                }
                let core = wrong as f64 / LIMIT as f64;
                let cli = report["error"][method.name()][e].as_f64().unwrap();
                assert_eq!(cli, core, "{name} {method} ε = {eps}: CLI {cli}, core {core}");
                // The text table shows the same figure, in % to one decimal.
                let column = methods.iter().position(|&m| m == method).unwrap();
                let row = block
                    .lines()
                    .find(|l| l.split_whitespace().next().and_then(|v| v.parse::<f32>().ok()) == Some(eps))
                    .unwrap_or_else(|| panic!("{name}: no row for ε = {eps}:\n{block}"));
                let shown = row.split_whitespace().nth(1 + column).unwrap();
                assert_eq!(shown, format!("{:.1}", 100.0 * core), "{name} {method} ε = {eps}: {row}");
            }
        }
    }
}

/// The paper (§4, §6): 99.9 % error at ε = 0.25 for shallow softmax regression, 89.4 % for a
/// maxout network, 17.9 % for that network after adversarial training. Over the 500 shipped
/// digits: softmax regression must be fooled by FGSM on at least 90 % of them, and the
/// adversarially trained CNN on fewer than half as many digits as the plain CNN. But the defence
/// is against FGSM only: PGD still fools it on most digits (README says so; this keeps it true).
#[test]
fn softmax_regression_is_fooled_and_adversarial_training_helps_at_eps_0_25() {
    let models = all_models();
    for label in ["true", "predicted"] {
        let args = ["eval", "--model", &models, "--method", "fgsm", "--eps", "0.25", "--label", label, "--json"];
        let json = fgsm_json(&args);
        let error: Vec<f64> = (0..3).map(|m| json[m]["error"]["fgsm"][0].as_f64().unwrap()).collect();
        let accuracy: Vec<f64> = (0..3).map(|m| json[m]["clean_accuracy"].as_f64().unwrap()).collect();
        println!(
            "ε = 0.25, label = {label}: FGSM error CNN {:.1} %, softmax {:.1} %, adversarial CNN {:.1} % \
             (clean accuracy {:.1}, {:.1}, {:.1} %)",
            100.0 * error[0],
            100.0 * error[1],
            100.0 * error[2],
            100.0 * accuracy[0],
            100.0 * accuracy[1],
            100.0 * accuracy[2]
        );
        assert!(error[1] >= 0.9, "softmax regression: FGSM error {} < 90 %", error[1]);
        assert!(error[2] * 2.0 < error[0], "adversarial training: {} is not under half of {}", error[2], error[0]);
        assert!(accuracy[2] >= 0.97, "the adversarially trained CNN reads clean digits worse: {}", accuracy[2]);
    }
    let adversarial = model_path("mnist-adversarial");
    let args = ["eval", "--model", &adversarial, "--method", "fgsm,pgd", "--eps", "0.25", "--limit", "50", "--json"];
    let json = fgsm_json(&args);
    let (fgsm, pgd) = (json["error"]["fgsm"][0].as_f64().unwrap(), json["error"]["pgd"][0].as_f64().unwrap());
    println!("adversarial CNN, ε = 0.25, first 50 digits: FGSM {:.0} %, PGD {:.0} %", 100.0 * fgsm, 100.0 * pgd);
    assert!(pgd >= 0.5 && pgd > 2.0 * fgsm, "PGD {pgd} against FGSM {fgsm} on the adversarially trained CNN");
}

#[test]
fn transfer_matrix_is_each_models_verdict_on_each_models_examples() {
    const LIMIT: usize = 25;
    let models = all_models();
    let args = ["transfer", "--models", &models, "--eps", "0.1,0.25", "--limit", "25", "--json"];
    let json = fgsm_json(&args);
    let digits = &test_digits()[..LIMIT];
    let loaded: Vec<Model> = MODELS.iter().map(|m| load(m)).collect();
    for (e, eps) in [0.1f32, 0.25].into_iter().enumerate() {
        for (from, source) in loaded.iter().enumerate() {
            let mut wrong = [0usize; 3];
            for (i, d) in digits.iter().enumerate() {
                let adv = source
                    .session(&d.pixels)
                    .unwrap()
                    .attack(&options(Method::Fgsm, eps, i, Label::Predicted))
                    .unwrap()
                    .adversarial;
                for (to, target) in loaded.iter().enumerate() {
                    wrong[to] += usize::from(argmax(&target.predict(&adv).unwrap()) != d.label as usize);
                }
            }
            for to in 0..3 {
                let cli = json["error"][e][from][to].as_f64().unwrap();
                let core = wrong[to] as f64 / LIMIT as f64;
                assert_eq!(cli, core, "ε = {eps}, crafted on {}, read by {}", MODELS[from], MODELS[to]);
            }
        }
    }
    // The diagonal is eval's white-box figure.
    let eval = fgsm_json(&["eval", "--model", &models, "--eps", "0.1,0.25", "--limit", "25", "--json"]);
    for m in 0..3 {
        for e in 0..2 {
            assert_eq!(json["error"][e][m][m], eval[m]["error"]["fgsm"][e], "{}", MODELS[m]);
        }
    }
    let (ok, table, _) = fgsm(&args[..args.len() - 1]);
    assert!(ok && table.contains("crafted on") && table.contains("mnist-adversarial"), "{table}");
}

#[test]
fn bad_arguments_are_errors_that_say_what_is_wrong() {
    let fails = |args: &[&str], says: &str| {
        let (ok, _, stderr) = fgsm(args);
        assert!(!ok, "fgsm {args:?} succeeded");
        assert!(stderr.contains(says), "fgsm {args:?}: {stderr:?} does not say {says:?}");
        assert!(!stderr.contains("panicked"), "fgsm {args:?} panicked: {stderr}");
    };
    fails(&["transfer", "--models", "models/mnist/model.onnx"], "at least two models");
    fails(&["eval", "--limit", "0"], "--limit");
    fails(&["eval", "--model", "models/nothing-here.onnx"], "nothing-here.onnx");
    fails(&["eval", "--label", "wrong"], "predicted");
    fails(
        &["transfer", "--models", "models/mnist/model.onnx,models/efficientnet-lite0/model.onnx", "--limit", "1"],
        "one input shape",
    );
}
