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
