//! The NNEF load path (src/nnef.rs): the decluttered graph `fgsm nnef` derives from a shipped ONNX
//! file gives the same logits, loss and input gradient as the ONNX file itself, and a damaged,
//! cut-short or foreign file is a plain-words `Error`, never a panic.

mod common;

use common::repo_path;
use fgsm_wasm::model::LoadStage;
use fgsm_wasm::{Error, Model, nnef};

/// `model`: the ONNX file's path in the repository.
fn same_answers(model: &str) {
    let onnx = std::fs::read(repo_path(model)).unwrap();
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
    same_answers("models/mnist/model.onnx");
}

#[test]
fn efficientnet_from_nnef_answers_as_from_onnx() {
    same_answers("models/efficientnet-lite0/model.onnx");
}

/// The engine's warm-up network (models/engine-warmup), which the worker loads from NNEF.
#[test]
fn warmup_network_from_nnef_answers_as_from_onnx() {
    same_answers("models/engine-warmup/warmup.onnx");
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

/// The file pushed into an `NnefStream` in pieces of `piece` bytes (`usize::MAX`: all at once).
fn streamed(tar: &[u8], piece: usize) -> fgsm_wasm::Result<Model> {
    let mut stream = nnef::NnefStream::new();
    for chunk in tar.chunks(piece.min(tar.len()).max(1)) {
        stream.push(chunk)?;
    }
    Model::from_nnef_stream(stream)
}

/// The model read from a stream answers as the one read whole, to the bit, whatever the pieces.
fn streamed_answers_as_read(model: &str, pieces: &[usize]) {
    let onnx = std::fs::read(repo_path(&format!("models/{model}/model.onnx"))).unwrap();
    let tar = nnef::onnx_to_nnef(&onnx).unwrap();
    let whole = Model::from_nnef_bytes(&tar).unwrap();
    let n = whole.input_len();
    let image: Vec<f32> = (0..n).map(|i| ((i * 5) % 13) as f32 / 13.0).collect();
    let logits = whole.logits(&image).unwrap();
    let label = fgsm_wasm::model::argmax(&logits);
    let gradient = whole.input_gradient(&image, label).unwrap();
    for &piece in pieces {
        let from_stream = streamed(&tar, piece).unwrap_or_else(|e| panic!("{model} in pieces of {piece}: {e}"));
        assert_eq!(from_stream.input_shape(), whole.input_shape());
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&from_stream.logits(&image).unwrap()), bits(&logits), "{model}, pieces of {piece}: logits");
        let g = from_stream.input_gradient(&image, label).unwrap();
        assert_eq!(g.loss.to_bits(), gradient.loss.to_bits(), "{model}, pieces of {piece}: loss");
        assert_eq!(bits(&g.grad), bits(&gradient.grad), "{model}, pieces of {piece}: input gradient");
    }
}

#[test]
fn mnist_streamed_in_any_pieces_answers_as_read_whole() {
    streamed_answers_as_read("mnist", &[1, 7, 512, 65536, usize::MAX]);
}

#[test]
fn the_other_mnist_models_streamed_answer_as_read_whole() {
    for model in ["mnist-adversarial", "mnist-softmax"] {
        streamed_answers_as_read(model, &[7, 512, 65536, usize::MAX]);
    }
}

#[test]
fn efficientnet_streamed_answers_as_read_whole() {
    streamed_answers_as_read("efficientnet-lite0", &[7, 512, 65536, usize::MAX]);
}

const BLOCK: usize = 512;

/// A damaged file streamed in small pieces is refused with the very message the whole file gets.
fn assert_streamed_refusal_is_read_refusal(bytes: &[u8], what: &str) {
    let whole = Model::from_nnef_bytes(bytes).err().unwrap_or_else(|| panic!("{what}: loaded")).to_string();
    for piece in [7, 4096] {
        let message =
            streamed(bytes, piece).err().unwrap_or_else(|| panic!("{what}: loaded from a stream")).to_string();
        assert_eq!(message, whole, "{what}, pieces of {piece}");
    }
    assert_refused(bytes, what);
}

#[test]
fn damaged_nnef_streams_are_refused_in_plain_words() {
    let onnx = std::fs::read(repo_path("models/mnist/model.onnx")).unwrap();
    let tar = nnef::onnx_to_nnef(&onnx).unwrap();
    for cut in [1, 512, 2048, tar.len() / 2, tar.len() - 1000] {
        assert_streamed_refusal_is_read_refusal(&tar[..tar.len() - cut], &format!("cut short by {cut} bytes"));
    }
    let mut longer = tar.clone();
    longer.extend_from_slice(b"and more");
    assert_streamed_refusal_is_read_refusal(&longer, "bytes after the trailer");
    longer.truncate(tar.len());
    longer.extend_from_slice(&[0u8; 1024]);
    assert_streamed_refusal_is_read_refusal(&longer, "zero blocks after the trailer");
    // One flipped byte: in a tar header, in graph.nnef's text, in a tensor header, in the weights,
    // in the trailer's text. The entries are read before the checksum can be checked, so these
    // reach the entry reader and the NNEF parser unverified.
    let graph_text = tar.windows(7).position(|w| w == b"version").expect("graph.nnef says its version");
    let weights = tar.windows(2).position(|w| w == [0x4e, 0xef]).expect("a .dat tensor");
    for at in [
        0,
        124,
        148,
        graph_text,
        graph_text + 20,
        weights + 12,
        weights + 4,
        weights + 200,
        tar.len() / 2,
        tar.len() - 1500,
    ] {
        let mut copy = tar.clone();
        copy[at] ^= 0x20;
        assert_streamed_refusal_is_read_refusal(&copy, &format!("byte {at} flipped"));
    }
    // Every part of graph.nnef's text and of the first tensors damaged in turn: the parser and the
    // tensor readers see it before the checksum can be checked, and must not panic.
    let graph_len = usize::from_str_radix(std::str::from_utf8(&tar[124..135]).unwrap(), 8).unwrap();
    for at in (0..BLOCK + graph_len + 8 * BLOCK).step_by(7) {
        let mut copy = tar.clone();
        copy[at] ^= 1 << (at % 8);
        assert_refused(&copy, &format!("bit {} of byte {at} flipped", at % 8));
    }
    // Not NNEF at all.
    assert_streamed_refusal_is_read_refusal(&onnx, "an ONNX file");
    assert_streamed_refusal_is_read_refusal(&[], "nothing");
}

#[test]
fn a_stream_longer_than_a_model_may_be_is_refused_as_it_grows() {
    let mut stream = nnef::NnefStream::new();
    let piece = vec![0u8; 1 << 20];
    let mut pushed = 0;
    let refused = loop {
        match stream.push(&piece) {
            Ok(()) => pushed += piece.len(),
            Err(e) => break e.to_string(),
        }
        assert!(pushed <= fgsm_wasm::limits::MAX_FILE_BYTES, "{pushed} bytes were taken");
    };
    assert!(refused.contains("64 MiB"), "{refused}");
    assert!(stream.push(b"more").is_err(), "a later piece is refused too");
    let message = stream.finish().err().expect("an over-long file loaded").to_string();
    assert!(message.contains("64 MiB"), "{message}");
}
