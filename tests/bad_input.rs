//! Every kind of bad input gets an `Error` with a message that says what is wrong — never a panic.

mod common;

use common::{mnist, mnist_bytes};
use fgsm_wasm::{Error, FgsmOptions, Model, fgsm};
use prost::Message;
use tract_onnx::pb;

fn load_error(bytes: &[u8]) -> String {
    match Model::from_onnx_bytes(bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The shipped model with an edit applied to its protobuf.
fn edited(edit: impl FnOnce(&mut pb::GraphProto)) -> Vec<u8> {
    let mut proto = pb::ModelProto::decode(&mnist_bytes()[..]).unwrap();
    edit(proto.graph.as_mut().unwrap());
    proto.encode_to_vec()
}

#[test]
fn empty_random_and_truncated_files_are_rejected_with_a_message() {
    assert!(load_error(&[]).contains("empty"));
    let bytes = mnist_bytes();
    for bad in [b"not an onnx file at all".to_vec(), bytes[..bytes.len() / 2].to_vec(), vec![0xff; 1000]] {
        let message = load_error(&bad);
        assert!(message.len() > 20, "unhelpful message: {message}");
    }
}

#[test]
fn a_model_without_its_gradient_graph_is_rejected_by_name() {
    let forward_only = edited(|g| g.output.retain(|o| o.name == "logits"));
    let message = load_error(&forward_only);
    assert!(message.contains("`loss`") && message.contains("gradient graph"), "{message}");

    let no_label = edited(|g| g.input.retain(|i| i.name != "label"));
    assert!(load_error(&no_label).contains("`label`"));
}

#[test]
fn an_image_input_without_a_fixed_size_is_rejected() {
    use pb::tensor_shape_proto::dimension::Value;
    let dynamic = edited(|g| {
        let image = g.input.iter_mut().find(|i| i.name == "image").unwrap();
        let Some(pb::type_proto::Value::TensorType(t)) = image.r#type.as_mut().unwrap().value.as_mut() else {
            panic!()
        };
        t.shape.as_mut().unwrap().dim[2].value = Some(Value::DimParam("height".into()));
    });
    let message = load_error(&dynamic);
    assert!(message.contains("fixed size"), "{message}");
}

/// The limits of `fgsm_wasm::limits` hold before tract reads the graph.
#[test]
fn files_beyond_the_limits_are_refused_before_any_plan() {
    use fgsm_wasm::limits::{MAX_FILE_BYTES, MAX_NODES, MAX_SIDE, MIN_SIDE};
    let mut huge = mnist_bytes();
    huge.resize(MAX_FILE_BYTES + 1, 0);
    assert!(load_error(&huge).contains("64 MiB"));

    for (height, width) in [(MIN_SIDE as i64 - 1, 28), (28, MAX_SIDE as i64 + 1), (65536, 65536)] {
        let resized = edited(|g| {
            let image = g.input.iter_mut().find(|i| i.name == "image").unwrap();
            let Some(pb::type_proto::Value::TensorType(t)) = image.r#type.as_mut().unwrap().value.as_mut() else {
                panic!()
            };
            let dims = &mut t.shape.as_mut().unwrap().dim;
            dims[2].value = Some(Dim::DimValue(height));
            dims[3].value = Some(Dim::DimValue(width));
        });
        let message = load_error(&resized);
        assert!(message.contains("must be 8 to 2048 pixels"), "{height}×{width}: {message}");
    }

    let crowded = edited(|g| {
        let identity = node("Identity", &["image"], "spare", vec![]);
        g.node.extend(std::iter::repeat_n(identity, MAX_NODES));
    });
    assert!(load_error(&crowded).contains("10000 nodes"));
}

#[test]
fn wrong_pixels_labels_and_eps_are_errors() {
    let model = mnist();
    let good = vec![0.5f32; 784];
    assert!(matches!(model.predict(&good[..783]), Err(Error::PixelCount { expected: 784, got: 783, .. })));
    assert!(matches!(model.predict(&[0.5; 3 * 224 * 224]), Err(Error::PixelCount { .. })));
    for bad in [f32::NAN, f32::INFINITY, -0.1, 1.5] {
        let mut pixels = good.clone();
        pixels[100] = bad;
        let err = model.predict(&pixels).unwrap_err();
        assert!(matches!(err, Error::BadPixel { index: 100, .. }), "{bad}: {err}");
        assert!(err.to_string().contains("[0, 1]"));
        assert!(fgsm(&model, &pixels, 0.1, FgsmOptions::default()).is_err());
    }
    assert!(matches!(model.input_gradient(&good, 10), Err(Error::Label { label: 10, classes: 10 })));
    for eps in [-0.1, f32::NAN, 1.5] {
        assert!(matches!(fgsm(&model, &good, eps, FgsmOptions::default()), Err(Error::Epsilon(_))));
    }
    let targeted_without_target = fgsm(&model, &good, 0.1, FgsmOptions { label: None, targeted: true });
    assert!(matches!(targeted_without_target, Err(Error::MissingTarget)));
}

// --- files that panic tract 0.23.9 ----------------------------------------------------------------
//
// Each fixture is a tiny model with the right interface (so it passes the interface check) and one
// node that tract panics on while it analyses the graph. `Model::from_onnx_bytes` must refuse each
// with a plain message before tract sees it; a second test shows tract itself still panics on it,
// so the check is still needed (if tract is fixed, that test says which check can go).
// tests/fixtures/README.md names the tract source lines. Regenerate the files with
// `FGSM_WRITE_FIXTURES=1 cargo test --test bad_input`.

use pb::tensor_shape_proto::{Dimension, dimension::Value as Dim};

/// (file name, what our error must say).
const TRACT_PANICS: [(&str, &str); 10] = [
    ("reduce-axis-out-of-range.onnx", "axis 7 is out of range for an input of rank 4"),
    ("negative-pad.onnx", "negative pads"),
    ("softmax-empty-input.onnx", "has no name"),
    ("flatten-empty-input.onnx", "has no name"),
    ("conv-empty-bias.onnx", "has no name"),
    ("output-without-node.onnx", "output `loss` is not computed by any node"),
    ("matmul-scalar.onnx", "scalar"),
    ("conv-transpose-pads-beyond-kernel.onnx", "more than the kernel's field"),
    ("transpose-two-inputs.onnx", "it takes at most 1"),
    ("squeeze-axis-out-of-range.onnx", "axis 5 is out of range for an input of rank 4"),
];

fn value(name: &str, elem_type: i32, dims: &[i64]) -> pb::ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(Dim::DimValue(d)), ..Default::default() }).collect();
    let tensor = pb::type_proto::Tensor { elem_type, shape: Some(pb::TensorShapeProto { dim }) };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attributes,
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 7, ints: values.to_vec(), ..Default::default() }
}

fn int64s(name: &str, dims: &[i64], values: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type: 7,
        dims: dims.to_vec(),
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn floats(name: &str, dims: &[i64], values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type: 1,
        dims: dims.to_vec(),
        float_data: values.to_vec(),
        ..Default::default()
    }
}

/// A model with the demo's interface (`image` [1, 1, 8, 8], `label`; `logits`, `loss`,
/// `input_grad`) whose `logits` come from `culprit`. `loss` and `input_grad` are copies of the inputs.
fn tiny_model(culprit: pb::NodeProto, initializer: Vec<pb::TensorProto>, opset: i64) -> Vec<u8> {
    let mut nodes = vec![culprit, node("Identity", &["image"], "input_grad", vec![])];
    nodes.push(node("Identity", &["label"], "loss", vec![]));
    let graph = pb::GraphProto {
        name: "tract-panic".into(),
        node: nodes,
        initializer,
        input: vec![value("image", 1, &[1, 1, 8, 8]), value("label", 7, &[1])],
        output: ["logits", "loss", "input_grad"]
            .map(|n| pb::ValueInfoProto { name: n.into(), ..Default::default() })
            .to_vec(),
        ..Default::default()
    };
    let model = pb::ModelProto {
        ir_version: 8,
        producer_name: "fgsm-wasm tests/bad_input.rs".into(),
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: opset }],
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

fn tract_panic_fixture(file: &str) -> Vec<u8> {
    let weight = || floats("w", &[1, 1, 3, 3], &[0.1; 9]);
    match file {
        "reduce-axis-out-of-range.onnx" => {
            tiny_model(node("ReduceSum", &["image", "axes"], "logits", vec![]), vec![int64s("axes", &[1], &[7])], 13)
        }
        "negative-pad.onnx" => tiny_model(
            node("Pad", &["image", "pads"], "logits", vec![]),
            vec![int64s("pads", &[8], &[0, 0, -1, -1, 0, 0, -1, -1])],
            13,
        ),
        "softmax-empty-input.onnx" => tiny_model(node("LogSoftmax", &[""], "logits", vec![]), vec![], 13),
        "flatten-empty-input.onnx" => tiny_model(node("Flatten", &[""], "logits", vec![]), vec![], 13),
        "conv-empty-bias.onnx" => tiny_model(node("Conv", &["image", "w", ""], "logits", vec![]), vec![weight()], 13),
        "output-without-node.onnx" => {
            let mut proto =
                pb::ModelProto::decode(&tiny_model(node("Identity", &["image"], "logits", vec![]), vec![], 13)[..])
                    .unwrap();
            proto.graph.as_mut().unwrap().node.retain(|n| n.output[0] != "loss");
            proto.encode_to_vec()
        }
        "matmul-scalar.onnx" => {
            tiny_model(node("MatMul", &["image", "s"], "logits", vec![]), vec![floats("s", &[], &[2.0])], 13)
        }
        "conv-transpose-pads-beyond-kernel.onnx" => tiny_model(
            node("ConvTranspose", &["image", "w"], "logits", vec![ints("pads", &[6, 6, 6, 6])]),
            vec![weight()],
            13,
        ),
        "transpose-two-inputs.onnx" => {
            tiny_model(node("Transpose", &["s", "label"], "logits", vec![]), vec![floats("s", &[], &[2.0])], 13)
        }
        "squeeze-axis-out-of-range.onnx" => {
            tiny_model(node("Squeeze", &["image", "axes"], "logits", vec![]), vec![int64s("axes", &[1], &[5])], 13)
        }
        other => panic!("no fixture {other}"),
    }
}

fn fixture_path(file: &str) -> std::path::PathBuf {
    common::repo_path("tests/fixtures").join(file)
}

#[test]
fn files_that_panic_tract_are_refused_with_a_message() {
    // FGSM_WRITE_FIXTURES=1 writes the fixtures first (after a change to what they should hold).
    let write = std::env::var_os("FGSM_WRITE_FIXTURES").is_some();
    for (file, expected) in TRACT_PANICS {
        if write {
            std::fs::write(fixture_path(file), tract_panic_fixture(file)).unwrap();
        }
        let bytes = std::fs::read(fixture_path(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(bytes, tract_panic_fixture(file), "{file} differs from what the test would write");
        let message = load_error(&bytes);
        assert!(message.contains(expected), "{file}: {message}");
    }
}

/// What `Model::from_onnx_bytes` asks of tract, without this crate's checks.
fn tract_alone(bytes: &[u8]) -> tract_onnx::prelude::TractResult<()> {
    use tract_onnx::prelude::*;
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])?
        .with_input_names(["image", "label"])?
        .with_input_fact(0, f32::fact([1, 1, 8, 8]).into())?
        .with_input_fact(1, i64::fact([1]).into())?
        .with_outputs_by_name(["logits", "loss", "input_grad"])?
        .into_typed()?
        .into_optimized()?
        .into_runnable()?
        .run(tvec!(Tensor::zero::<f32>(&[1, 1, 8, 8])?.into(), Tensor::zero::<i64>(&[1])?.into()))?;
    Ok(())
}

#[test]
fn tract_still_panics_on_those_files() {
    use std::sync::{Arc, Mutex};
    let hook = std::panic::take_hook();
    let location = Arc::new(Mutex::new(String::new()));
    let seen = location.clone();
    std::panic::set_hook(Box::new(move |info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        // …/index.crates.io-<hash>/tract-hir-0.23.9/src/… → tract-hir-0.23.9/src/…
        let crate_path = at.split("index.crates.io-").nth(1).and_then(|p| p.split_once('/')).map(|p| p.1);
        *seen.lock().unwrap() = crate_path.unwrap_or(&at).to_string();
    }));
    let mut fixed = vec![];
    for (file, _) in TRACT_PANICS {
        let bytes = std::fs::read(fixture_path(file)).unwrap();
        match std::panic::catch_unwind(|| tract_alone(&bytes)) {
            Err(_) => println!("{file}: tract panics at {}", location.lock().unwrap()),
            Ok(result) => {
                println!("{file}: tract returns {:?}", result.map_err(|e| format!("{e:#}")));
                fixed.push(file);
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(fixed.is_empty(), "tract no longer panics on {fixed:?}: the check for it may go");
}
