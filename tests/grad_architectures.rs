//! The gradient-graph builder on real architectures: small random-weight exports of ResNet-18,
//! MobileNetV3-Small, SqueezeNet 1.1, ShuffleNetV2, EfficientNet-B0, a DenseNet, a ViT and a LeNet
//! (TorchScript and dynamo exporters), made by models/tools/export_architectures.py with float64
//! PyTorch autograd reference gradients. No Python here: each forward-only file goes through
//! `fgsm_wasm::grad::build`, and tract's `input_grad` must be within 1e-4 of the largest reference
//! entry everywhere.

mod common;

use common::repo_path;
use fgsm_wasm::Model;
use fgsm_wasm::grad::{self, Options};

struct Fixture {
    name: String,
    meta: serde_json::Value,
    pixels: Vec<f32>,
    reference: Vec<f32>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = repo_path("tests/fixtures/architectures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(String::from))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap()).unwrap();
            let floats: Vec<f32> = std::fs::read(dir.join(format!("{name}.bin")))
                .unwrap()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let (pixels, reference) = floats.split_at(floats.len() / 2);
            Fixture { name, meta, pixels: pixels.to_vec(), reference: reference.to_vec() }
        })
        .collect()
}

fn floats(v: &serde_json::Value) -> Option<Vec<f32>> {
    v.as_array().map(|a| a.iter().map(|x| x.as_f64().unwrap() as f32).collect())
}

#[test]
fn built_gradients_match_float64_autograd_on_every_architecture() {
    let all = fixtures();
    assert!(all.len() >= 16, "{} fixtures", all.len());
    let mut built_count = 0;
    println!(
        "| model | ops on the path | backward nodes | build ms | max |Δgrad| / max |grad| |\n|---|---|---|---|---|"
    );
    for f in &all {
        let bytes = std::fs::read(repo_path(&format!("tests/fixtures/architectures/{}.onnx", f.name))).unwrap();
        let options = Options { mean: floats(&f.meta["mean"]), std: floats(&f.meta["std"]), ..Default::default() };
        let start = std::time::Instant::now();
        let result = grad::build(&bytes, &options);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if f.name == "vit-torchscript" {
            // Refused before tract reads it: the attention's reshapes compute their shapes (Shape,
            // Slice, Mod, Concat), so src/onnx_check.rs cannot work out the ranks that follow.
            let message = result.err().expect("the TorchScript ViT is refused").to_string();
            assert!(message.contains("Unsqueeze") && message.contains("rank"), "{message}");
            println!("| {} | refused: {message:.100} | | | |", f.name);
            continue;
        }
        let (built, report) = result.unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let model = Model::from_onnx_bytes(&built).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let label = f.meta["label"].as_u64().unwrap() as usize;
        let g = model.input_gradient(&f.pixels, label).unwrap();
        let torch_loss = f.meta["loss"].as_f64().unwrap() as f32;
        assert!(
            (g.loss - torch_loss).abs() <= 1e-4 * (1.0 + torch_loss.abs()),
            "{}: loss {} vs {torch_loss}",
            f.name,
            g.loss
        );
        let scale = f.reference.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{}: the reference gradient is zero", f.name);
        let diff = g.grad.iter().zip(&f.reference).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let ops: usize = report.ops.values().sum();
        println!(
            "| {} | {ops} ({}) | {} | {ms:.0} | {:.1e} |",
            f.name,
            report.ops.keys().cloned().collect::<Vec<_>>().join(", "),
            report.nodes_added,
            diff / scale
        );
        assert!(diff <= 1e-4 * scale, "{}: max |Δgrad| {diff} vs max |grad| {scale}", f.name);
        built_count += 1;
    }
    assert_eq!(built_count, all.len() - 1);
}
