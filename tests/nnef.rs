//! The NNEF load path (src/nnef.rs): the decluttered graph `fgsm nnef` derives from a shipped ONNX
//! file gives the same logits, loss and input gradient as the ONNX file itself, and a damaged,
//! cut-short or foreign file is a plain-words `Error`, never a panic.

mod common;

use common::repo_path;
use fgsm_wasm::model::LoadStage;
use fgsm_wasm::{Error, Model, nnef};

fn same_answers(model: &str) {
    let onnx = std::fs::read(repo_path(&format!("models/{model}/model.onnx"))).unwrap();
    let tar = nnef::onnx_to_nnef(&onnx).unwrap();
    assert_eq!(nnef::onnx_to_nnef(&onnx).unwrap(), tar, "{model}: the same NNEF bytes each time");
    let from_onnx = Model::from_onnx_bytes(&onnx).unwrap();
    let mut stages = Vec::new();
    let from_nnef = Model::from_nnef_bytes_staged(&tar, &mut |s| stages.push(s)).unwrap();
    assert_eq!(stages, [LoadStage::Nnef, LoadStage::ForwardPlan, LoadStage::GradientPlan]);
    assert_eq!(from_nnef.input_shape(), from_onnx.input_shape());
    assert_eq!(from_nnef.num_classes(), from_onnx.num_classes());
    let n = from_onnx.input_len();
    for k in [3usize, 7] {
        let image: Vec<f32> = (0..n).map(|i| ((i * k) % 17) as f32 / 17.0).collect();
        let (a, b) = (from_onnx.logits(&image).unwrap(), from_nnef.logits(&image).unwrap());
        let max = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(max(&a, &b) <= 1e-6, "{model}: logits differ by {}", max(&a, &b));
        for label in [0, fgsm_wasm::model::argmax(&a)] {
            let (ga, gb) =
                (from_onnx.input_gradient(&image, label).unwrap(), from_nnef.input_gradient(&image, label).unwrap());
            assert!((ga.loss - gb.loss).abs() <= 1e-6, "{model}: loss {} vs {}", ga.loss, gb.loss);
            assert!(max(&ga.grad, &gb.grad) <= 1e-6, "{model}: input gradient differs by {}", max(&ga.grad, &gb.grad));
            // In practice they are the same bits: the same plans are built from the same graph.
            assert_eq!(ga.grad, gb.grad, "{model}: input gradient not bit-identical");
        }
    }
}

#[test]
fn mnist_from_nnef_answers_as_from_onnx() {
    same_answers("mnist");
}

#[test]
fn efficientnet_from_nnef_answers_as_from_onnx() {
    same_answers("efficientnet-lite0");
}

/// A plain-words error: the NNEF error (or a size limit), saying what to do, never tract's panic.
fn assert_refused(bytes: &[u8], what: &str) {
    match Model::from_nnef_bytes(bytes) {
        Ok(_) => panic!("{what}: loaded"),
        Err(e) => {
            let message = e.to_string();
            assert!(matches!(e, Error::Nnef(_) | Error::Engine { .. } | Error::Unsupported(_)), "{what}: {message}");
            assert!(message.contains("NNEF") || message.contains("nnef"), "{what}: {message}");
        }
    }
}

#[test]
fn damaged_or_foreign_nnef_bytes_are_errors() {
    let onnx = std::fs::read(repo_path("models/mnist/model.onnx")).unwrap();
    let tar = nnef::onnx_to_nnef(&onnx).unwrap();
    assert_refused(&[], "empty");
    assert_refused(&onnx, "an ONNX file");
    assert_refused(b"not a model at all", "text");
    assert_refused(&vec![0u8; 8192], "zeros");
    for cut in [1, 100, 512, 1024, 2048, 4096, tar.len() / 2, tar.len() - 512] {
        assert_refused(&tar[..tar.len() - cut], &format!("cut short by {cut} bytes"));
    }
    let mut longer = tar.clone();
    longer.extend_from_slice(&[0u8; 512]);
    assert_refused(&longer, "512 bytes longer");
    // One flipped bit anywhere: in graph.nnef, in the weights, in the trailer.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = (state % tar.len() as u64) as usize;
        let mut copy = tar.clone();
        copy[at] ^= 1 << (state >> 61);
        if copy[at] == tar[at] {
            continue;
        }
        // Flips in the trailer's tar header (past its name) are the only harmless ones.
        if Model::from_nnef_bytes(&copy).is_ok() {
            assert!(
                (tar.len() - 2048 + 16..tar.len() - 1536).contains(&at),
                "a flip at byte {at} of {} was not noticed",
                tar.len()
            );
            continue;
        }
        assert_refused(&copy, &format!("bit flipped at byte {at}"));
    }
    // Another build's file.
    let version = format!("tract {}", nnef::TRACT_VERSION);
    let at = tar.windows(version.len()).rposition(|w| w == version.as_bytes()).expect("the trailer names tract");
    let mut foreign = tar.clone();
    foreign[at..at + version.len()].copy_from_slice(b"tract 0.23.8");
    let message = Model::from_nnef_bytes(&foreign).err().expect("a file of another tract version loaded").to_string();
    assert!(message.contains("0.23.8") && message.contains("ONNX"), "{message}");
}
