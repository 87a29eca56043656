//! The gradient-graph builder, rule by rule: small forward-only graphs made here with tract-onnx's
//! protobuf types, one per rule and attribute combination. For each, the built `input_grad` must
//! match central finite differences of the built `loss`, both run by tract, at every pixel. Each
//! built graph is also written to target/grad-rules/ with its input and tract's outputs, where
//! tests/unit/grad-rules-onnxruntime.test.mjs runs it in onnxruntime, which must agree.

mod common;

use common::Rng;
use fgsm_wasm::Model;
use fgsm_wasm::grad::{self, Options, proto};
use prost::Message;
use tract_onnx::pb;

/// A forward-only classifier under construction: image `x` of shape [1, C, H, W].
struct Net {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    shape: [usize; 4],
    rng: Rng,
    count: usize,
    /// The opset `shape_of` reads the partial graph with.
    opset: i64,
}

impl Net {
    fn new(c: usize, h: usize, w: usize) -> Net {
        Net { nodes: vec![], initializers: vec![], shape: [1, c, h, w], rng: Rng::new(11), count: 0, opset: 17 }
    }

    fn name(&mut self, hint: &str) -> String {
        self.count += 1;
        format!("{hint}{}", self.count)
    }

    /// A float32 constant with uniform values in [−scale, scale].
    fn weight(&mut self, dims: &[usize], scale: f32) -> String {
        let values: Vec<f32> = (0..dims.iter().product()).map(|_| scale * (2.0 * self.rng.next_f32() - 1.0)).collect();
        self.floats(dims, &values)
    }

    /// A float32 constant with uniform values in [lo, hi].
    fn positive(&mut self, dims: &[usize], lo: f32, hi: f32) -> String {
        let values: Vec<f32> = (0..dims.iter().product()).map(|_| lo + (hi - lo) * self.rng.next_f32()).collect();
        self.floats(dims, &values)
    }

    fn floats(&mut self, dims: &[usize], values: &[f32]) -> String {
        let name = self.name("w");
        self.initializers.push(proto::tensor(&name, proto::FLOAT, dims, proto::f32_bytes(values)));
        name
    }

    fn ints(&mut self, values: &[i64]) -> String {
        let name = self.name("i");
        self.initializers.push(proto::tensor(&name, proto::INT64, &[values.len()], proto::i64_bytes(values)));
        name
    }

    fn scalar_int(&mut self, value: i64) -> String {
        let name = self.name("i");
        self.initializers.push(proto::tensor(&name, proto::INT64, &[], proto::i64_bytes(&[value])));
        name
    }

    fn raw(&mut self, data_type: i32, dims: &[usize], raw: Vec<u8>) -> String {
        let name = self.name("q");
        self.initializers.push(proto::tensor(&name, data_type, dims, raw));
        name
    }

    fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>) -> String {
        self.op_n(op, inputs, 1, attribute).remove(0)
    }

    fn op_n(&mut self, op: &str, inputs: &[&str], n: usize, attribute: Vec<pb::AttributeProto>) -> Vec<String> {
        let outputs: Vec<String> = (0..n).map(|_| self.name("t")).collect();
        let name = self.name(&format!("{op}_"));
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.clone(),
            name,
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
        outputs
    }

    /// The shape tract gives tensor `t`.
    fn shape_of(&self, t: &str) -> Vec<usize> {
        use tract_onnx::prelude::*;
        let partial = Net {
            nodes: self.nodes.clone(),
            initializers: self.initializers.clone(),
            shape: self.shape,
            rng: Rng::new(1),
            count: 0,
            opset: self.opset,
        }
        .model(t, self.opset);
        let typed = tract_onnx::onnx().model_for_proto_model(&partial).unwrap().into_typed().unwrap();
        typed.output_fact(0).unwrap().shape.as_concrete().unwrap().to_vec()
    }

    /// Flatten + Gemm to 5 classes.
    fn classify(&mut self, t: &str) -> String {
        let features = self.shape_of(t).iter().product();
        let to = self.ints(&[1, -1]);
        let flat = self.op("Reshape", &[t, &to], vec![]);
        let w = self.weight(&[features, 5], 1.0);
        let b = self.weight(&[5], 0.5);
        self.op("Gemm", &[&flat, &w, &b], vec![])
    }

    fn model(self, logits: &str, opset: i64) -> pb::ModelProto {
        let graph = pb::GraphProto {
            node: self.nodes,
            initializer: self.initializers,
            name: "test".into(),
            input: vec![proto::value_info("x", proto::FLOAT, &self.shape)],
            output: vec![pb::ValueInfoProto { name: logits.into(), ..Default::default() }],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: opset }],
            graph: Some(graph),
            ..Default::default()
        }
    }
}

/// Pixel values for a check: uniform in [0.2, 0.8], or (`spaced`) a shuffle of evenly spaced values
/// in [0.1, 0.9], so that no two pixels are closer than the step: a MaxPool window whose two largest
/// values lie within the step of each other would swap its maximum inside the finite difference.
/// Returns the pixels and the finite-difference step.
fn pixels(n: usize, spaced: bool) -> (Vec<f32>, f32) {
    let mut rng = Rng::new(3);
    if !spaced {
        return ((0..n).map(|_| 0.2 + 0.6 * rng.next_f32()).collect(), 2e-3);
    }
    let gap = 0.8 / (n - 1) as f32;
    let mut x: Vec<f32> = (0..n).map(|i| 0.1 + gap * i as f32).collect();
    for i in (1..n).rev() {
        let j = (rng.next_f32() * (i + 1) as f32) as usize;
        x.swap(i, j.min(i));
    }
    (x, gap / 4.0)
}

/// Builds the gradient graph and compares `input_grad` with central differences of `loss` at every
/// pixel: the largest difference must be at most `tol` of the largest gradient entry. Checks too
/// that the loss is the cross-entropy of the logits, and that `ops` were on the path.
fn check_with(name: &str, model: pb::ModelProto, options: &Options, ops: &[&str], tol: f32) -> f32 {
    check_at(name, model, options, ops, tol, false)
}

fn check_at(name: &str, model: pb::ModelProto, options: &Options, ops: &[&str], tol: f32, spaced: bool) -> f32 {
    let (built, report) = grad::build(&model.encode_to_vec(), options).unwrap_or_else(|e| panic!("{name}: {e}"));
    for op in ops {
        assert!(report.ops.contains_key(*op), "{name}: {op} is not on the path: {:?}", report.ops);
    }
    let model = Model::from_onnx_bytes(&built).unwrap_or_else(|e| panic!("{name}: the built model does not load: {e}"));
    let (mut x, h) = pixels(model.input_len(), spaced);
    let label = 2;
    let g = model.input_gradient(&x, label).unwrap();
    let logits = model.logits(&x).unwrap();
    write_for_onnxruntime(name, &built, &model, &x, label, &logits, &g);
    let ce = fgsm_wasm::model::cross_entropy(&logits, label);
    assert!((g.loss - ce).abs() <= 1e-5 * (1.0 + ce.abs()), "{name}: loss {} vs cross-entropy {ce}", g.loss);
    let loss = |x: &[f32]| model.input_gradient(x, label).unwrap().loss as f64;
    let mut worst = 0f32;
    let mut worst_at = 0;
    for i in 0..x.len() {
        let keep = x[i];
        x[i] = keep + h;
        let up = loss(&x);
        x[i] = keep - h;
        let down = loss(&x);
        x[i] = keep;
        let fd = ((up - down) / (2.0 * h as f64)) as f32;
        let diff = (fd - g.grad[i]).abs();
        if diff > worst {
            (worst, worst_at) = (diff, i);
        }
    }
    let scale = g.grad.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{name}: the gradient is zero");
    let relative = worst / scale;
    println!(
        "{name}: max |fd − grad| / max |grad| = {relative:.2e} (max |grad| {scale:.3e}, loss {:.3}); ops {:?}",
        g.loss, report.ops
    );
    assert!(
        std::env::var("NOASSERT").is_ok() || relative <= tol,
        "{name}: pixel {worst_at}: grad {} vs finite difference off by {worst} (max |grad| {scale})",
        g.grad[worst_at]
    );
    relative
}

/// Where each built graph goes, with its input and tract's outputs, for the onnxruntime check.
fn onnxruntime_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("grad-rules")
}

/// Writes `<case>.onnx` (the built graph) and `<case>.json` (its name, input shape, pixels, label,
/// and tract's logits, loss and input_grad), `<case>` being the check's name in lower-case words.
fn write_for_onnxruntime(
    name: &str,
    built: &[u8],
    model: &Model,
    x: &[f32],
    label: usize,
    logits: &[f32],
    g: &fgsm_wasm::Gradient,
) {
    let case: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let dir = onnxruntime_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let case_json = serde_json::json!({
        "name": name,
        "shape": model.input_shape(),
        "pixels": x,
        "label": label,
        "logits": logits,
        "loss": g.loss,
        "input_grad": g.grad,
    });
    std::fs::write(dir.join(format!("{case}.onnx")), built).unwrap();
    std::fs::write(dir.join(format!("{case}.json")), case_json.to_string()).unwrap();
}

fn check(name: &str, model: pb::ModelProto, ops: &[&str]) -> f32 {
    check_with(name, model, &Options::default(), ops, 1e-2)
}

use proto::{float, int, ints, string};

#[test]
fn conv_stride_1_pads_bias_relu() {
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[4, 3, 3, 3], 0.5);
    let b = n.weight(&[4], 0.2);
    let c = n.op("Conv", &["x", &w, &b], vec![ints("pads", &[1, 1, 1, 1])]);
    let r = n.op("Relu", &[&c], vec![]);
    let l = n.classify(&r);
    check("conv 3×3 stride 1 pad 1 + relu", n.model(&l, 13), &["Conv", "Relu", "Gemm"]);
}

#[test]
fn conv_strides_dilations_groups_pads_auto_pad() {
    let mut n = Net::new(3, 9, 10);
    let w = n.weight(&[6, 1, 3, 2], 0.5);
    let c = n.op(
        "Conv",
        &["x", &w],
        vec![ints("strides", &[2, 3]), ints("dilations", &[2, 1]), int("group", 3), ints("pads", &[1, 0, 2, 1])],
    );
    let t = n.op("Tanh", &[&c], vec![]);
    let l = n.classify(&t);
    check("conv strides 2×3, dilations 2×1, 3 groups, pads 1,0,2,1", n.model(&l, 13), &["Conv", "Tanh"]);

    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        let mut n = Net::new(3, 9, 8);
        let w = n.weight(&[4, 3, 3, 3], 0.5);
        let c = n.op("Conv", &["x", &w], vec![string("auto_pad", mode), ints("strides", &[2, 2])]);
        let l = n.classify(&c);
        check(&format!("conv auto_pad {mode} stride 2"), n.model(&l, 13), &["Conv"]);
    }

    // Stride 1, dilation 2, grouped: the flipped-kernel Conv with groups.
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[6, 1, 3, 3], 0.5);
    let c = n.op("Conv", &["x", &w], vec![ints("dilations", &[2, 2]), int("group", 3), ints("pads", &[2, 1, 0, 2])]);
    let l = n.classify(&c);
    check("conv stride 1, dilation 2, 3 groups, asymmetric pads", n.model(&l, 13), &["Conv"]);
}

#[test]
fn conv_depthwise_and_pointwise() {
    for stride in [1, 2] {
        let mut n = Net::new(3, 9, 9);
        let w = n.weight(&[3, 1, 3, 3], 0.7);
        let b = n.weight(&[3], 0.2);
        let c = n.op(
            "Conv",
            &["x", &w, &b],
            vec![int("group", 3), ints("pads", &[1, 1, 1, 1]), ints("strides", &[stride; 2])],
        );
        let p = n.weight(&[5, 3, 1, 1], 0.7);
        let c = n.op("Conv", &[&c, &p], vec![]);
        let l = n.classify(&c);
        check(&format!("depthwise 3×3 stride {stride} + pointwise 1×1"), n.model(&l, 13), &["Conv"]);
    }
}

/// int8 weights, one scale per output channel, dequantized in the graph (quantize_weights.py).
#[test]
fn conv_with_int8_weights() {
    for (m, group) in [(4, 1), (3, 3)] {
        let mut n = Net::new(3, 8, 8);
        let cg = 3 / group;
        let q: Vec<u8> = (0..m * cg * 9).map(|i| ((i * 37 % 255) as i32 - 127) as i8 as u8).collect();
        let q = n.raw(3, &[m, cg, 3, 3], q);
        let scale = n.positive(&[m], 0.002, 0.01);
        let zero = n.raw(3, &[m], vec![0; m]);
        let w = n.op("DequantizeLinear", &[&q, &scale, &zero], vec![int("axis", 0)]);
        let c = n.op("Conv", &["x", &w], vec![int("group", group as i64), ints("pads", &[1, 1, 1, 1])]);
        let l = n.classify(&c);
        check(&format!("conv with int8 per-channel weights, group {group}"), n.model(&l, 13), &["Conv"]);
    }
}

#[test]
fn conv_transpose() {
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[3, 2, 3, 3], 0.5);
    let b = n.weight(&[2], 0.2);
    let c = n.op(
        "ConvTranspose",
        &["x", &w, &b],
        vec![ints("strides", &[2, 2]), ints("pads", &[1, 0, 1, 1]), ints("output_padding", &[1, 0])],
    );
    let l = n.classify(&c);
    check("conv transpose stride 2, pads, output_padding", n.model(&l, 13), &["ConvTranspose"]);

    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[3, 2, 2, 3], 0.5);
    let c = n.op("ConvTranspose", &["x", &w], vec![int("group", 3), ints("dilations", &[2, 1])]);
    let l = n.classify(&c);
    check("conv transpose groups 3, dilation 2×1", n.model(&l, 13), &["ConvTranspose"]);
}

#[test]
fn gemm_and_matmul() {
    for (ta, tb, alpha, beta) in [(0, 0, 1.0, 1.0), (0, 1, 0.7, 2.0), (1, 0, 1.3, 0.5), (1, 1, 1.0, 1.0)] {
        let mut n = Net::new(1, 8, 8);
        let r = n.ints(&[8, 8]);
        let a = n.op("Reshape", &["x", &r], vec![]);
        let a = if ta == 1 { n.op("Transpose", &[&a], vec![]) } else { a };
        let w = n.weight(if tb == 1 { &[6, 8] } else { &[8, 6] }, 0.6);
        let c = n.weight(&[6], 0.3);
        let y = n.op(
            "Gemm",
            &[&a, &w, &c],
            vec![int("transA", ta), int("transB", tb), float("alpha", alpha), float("beta", beta)],
        );
        let l = n.classify(&y);
        check(&format!("gemm transA {ta} transB {tb} alpha {alpha} beta {beta}"), n.model(&l, 13), &["Gemm"]);
    }

    // Both operands from the image, a broadcast C from the image too.
    let mut n = Net::new(1, 8, 8);
    let r = n.ints(&[8, 8]);
    let a = n.op("Reshape", &["x", &r], vec![]);
    let b = n.op("Sigmoid", &[&a], vec![]);
    let row = n.ints(&[1]);
    let c = n.op("ReduceSum", &[&a, &row], vec![int("keepdims", 1)]);
    let y = n.op("Gemm", &[&a, &b, &c], vec![int("transB", 1), float("beta", 0.5)]);
    let l = n.classify(&y);
    check("gemm with A, B and C all from the image", n.model(&l, 13), &["Gemm", "Sigmoid"]);

    // Batched MatMul with broadcasting, attention-like: scores = q·kᵀ, softmax, ·v.
    let mut n = Net::new(1, 8, 8);
    let r = n.ints(&[2, 4, 8]);
    let t = n.op("Reshape", &["x", &r], vec![]);
    let wq = n.weight(&[8, 6], 0.6);
    let wk = n.weight(&[1, 8, 6], 0.6);
    let q = n.op("MatMul", &[&t, &wq], vec![]);
    let k = n.op("MatMul", &[&t, &wk], vec![]);
    let kt = n.op("Transpose", &[&k], vec![ints("perm", &[0, 2, 1])]);
    let s = n.op("MatMul", &[&q, &kt], vec![]);
    let p = n.op("Softmax", &[&s], vec![int("axis", -1)]);
    let v = n.op("MatMul", &[&p, &t], vec![]);
    let l = n.classify(&v);
    check("batched matmul with broadcast weights, q·kᵀ, softmax, ·v", n.model(&l, 13), &["MatMul", "Softmax"]);
}

#[test]
fn elementwise_with_broadcasting() {
    for op in ["Add", "Sub", "Mul", "Div"] {
        let mut n = Net::new(3, 8, 8);
        n.opset = 18;
        let axes = n.ints(&[2, 3]);
        let pooled = n.op("ReduceMean", &["x", &axes], vec![int("keepdims", 1)]);
        let offset = n.positive(&[1, 3, 1, 1], 0.5, 1.0);
        let shifted = n.op("Add", &[&pooled, &offset], vec![]);
        let y = n.op(op, &["x", &shifted], vec![]);
        let c = n.weight(&[8], 0.5);
        let y = n.op(op, &[&c, &y], vec![]);
        let l = n.classify(&y);
        check(&format!("{op}, both operands from the image, broadcast [1,3,1,1] and [8]"), n.model(&l, 18), &[op]);
    }
    let mut n = Net::new(3, 8, 8);
    let mut t = "x".to_string();
    let two = n.floats(&[], &[2.0]);
    let three = n.floats(&[], &[3.0]);
    let half = n.floats(&[], &[0.5]);
    let p2 = n.op("Pow", &[&t, &two], vec![]);
    let p3 = n.op("Pow", &[&t, &three], vec![]);
    let p05 = n.op("Pow", &[&t, &half], vec![]);
    let s = n.op("Sqrt", &[&t], vec![]);
    let rcp = n.op("Reciprocal", &[&t], vec![]);
    let e = n.op("Exp", &[&t], vec![]);
    let lg = n.op("Log", &[&t], vec![]);
    let ng = n.op("Neg", &[&t], vec![]);
    let c = n.weight(&[1, 3, 1, 1], 0.5);
    let shifted = n.op("Sub", &[&t, &c], vec![]);
    let ab = n.op("Abs", &[&shifted], vec![]);
    for other in [p2, p3, p05, s, rcp, e, lg, ng, ab] {
        t = n.op("Add", &[&t, &other], vec![]);
    }
    let small = n.floats(&[], &[0.05]);
    let t = n.op("Mul", &[&t, &small], vec![]);
    let l = n.classify(&t);
    check(
        "Pow (2, 3, 0.5), Sqrt, Reciprocal, Exp, Log, Neg, Abs",
        n.model(&l, 13),
        &["Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Neg", "Abs"],
    );
}

#[test]
fn activations() {
    let cases: Vec<(&str, Vec<pb::AttributeProto>, usize)> = vec![
        ("Relu", vec![], 1),
        ("LeakyRelu", vec![float("alpha", 0.1)], 1),
        ("Sigmoid", vec![], 1),
        ("HardSigmoid", vec![float("alpha", 0.3), float("beta", 0.4)], 1),
        ("HardSwish", vec![], 1),
        ("Tanh", vec![], 1),
        ("Erf", vec![], 1),
        ("Softmax", vec![int("axis", 1)], 1),
        ("LogSoftmax", vec![int("axis", -1)], 1),
        ("Clip", vec![], 3),
        ("Clip", vec![], 2),
        ("PRelu", vec![], 2),
    ];
    for (op, attrs, inputs) in cases {
        let mut n = Net::new(3, 8, 8);
        // Spread the inputs over the kinks of each function: (x − 0.5)·8 covers −4…4.
        let w = n.weight(&[4, 3, 3, 3], 2.0);
        let pre = n.op("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1])]);
        let mut ins = vec![pre.clone()];
        if op == "Clip" {
            ins.push(n.floats(&[], &[-1.0]));
            if inputs == 3 {
                ins.push(n.floats(&[], &[1.5]));
            }
        }
        if op == "PRelu" {
            ins.push(n.weight(&[4, 1, 1], 0.5));
        }
        let refs: Vec<&str> = ins.iter().map(|s| s.as_str()).collect();
        let y = n.op(op, &refs, attrs);
        let l = n.classify(&y);
        check(&format!("{op} with {} inputs", refs.len()), n.model(&l, 14), &[op]);
    }
    // GELU as PyTorch exports it: x·(1 + erf(x/√2))/2.
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[4, 3, 3, 3], 2.0);
    let x = n.op("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1])]);
    let sqrt2 = n.floats(&[], &[std::f32::consts::SQRT_2]);
    let one = n.floats(&[], &[1.0]);
    let half = n.floats(&[], &[0.5]);
    let d = n.op("Div", &[&x, &sqrt2], vec![]);
    let e = n.op("Erf", &[&d], vec![]);
    let a = n.op("Add", &[&e, &one], vec![]);
    let m = n.op("Mul", &[&x, &a], vec![]);
    let y = n.op("Mul", &[&m, &half], vec![]);
    let l = n.classify(&y);
    check("GELU (erf form)", n.model(&l, 13), &["Erf"]);
}

#[test]
fn normalisations() {
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[4, 3, 3, 3], 1.0);
    let c = n.op("Conv", &["x", &w], vec![]);
    let scale = n.positive(&[4], 0.5, 1.5);
    let bias = n.weight(&[4], 0.5);
    let mean = n.weight(&[4], 0.5);
    let var = n.positive(&[4], 0.5, 2.0);
    let b = n.op("BatchNormalization", &[&c, &scale, &bias, &mean, &var], vec![float("epsilon", 1e-3)]);
    let l = n.classify(&b);
    check("BatchNormalization (inference)", n.model(&l, 15), &["BatchNormalization"]);

    for axis in [-1, 2] {
        let mut n = Net::new(3, 8, 8);
        let scale_dims: &[usize] = if axis == -1 { &[8] } else { &[8, 8] };
        let scale = n.positive(scale_dims, 0.5, 1.5);
        let bias = n.weight(scale_dims, 0.5);
        let y = n.op("LayerNormalization", &["x", &scale, &bias], vec![int("axis", axis), float("epsilon", 1e-5)]);
        let l = n.classify(&y);
        check(&format!("LayerNormalization axis {axis}"), n.model(&l, 17), &["LayerNormalization"]);
    }
}

#[test]
fn max_pool() {
    let cases: Vec<(&str, [usize; 2], Vec<pb::AttributeProto>)> = vec![
        (
            "3×3 stride 2 pad 1 (ResNet stem)",
            [9, 9],
            vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
        ),
        ("2×2 stride 2 on an odd size", [9, 8], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
        ("3×3 stride 1 (overlapping)", [8, 8], vec![ints("kernel_shape", &[3, 3])]),
        (
            "3×2 stride 2 ceil_mode",
            [9, 8],
            vec![ints("kernel_shape", &[3, 2]), ints("strides", &[2, 2]), int("ceil_mode", 1)],
        ),
        ("2×2 dilation 2", [8, 8], vec![ints("kernel_shape", &[2, 2]), ints("dilations", &[2, 2])]),
        (
            "3×3 SAME_UPPER stride 2",
            [8, 9],
            vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), string("auto_pad", "SAME_UPPER")],
        ),
    ];
    for (what, [h, w], attrs) in cases {
        let mut n = Net::new(3, h, w);
        let y = n.op("MaxPool", &["x"], attrs);
        let l = n.classify(&y);
        check_at(&format!("MaxPool {what}"), n.model(&l, 13), &Options::default(), &["MaxPool"], 1e-2, true);
    }
}

#[test]
fn average_pools_and_reductions() {
    let cases: Vec<(&str, [usize; 2], Vec<pb::AttributeProto>)> = vec![
        ("2×2 stride 2", [8, 8], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
        (
            "3×3 stride 2 pad 1, count_include_pad 0",
            [9, 8],
            vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
        ),
        (
            "3×3 stride 2 pad 1, count_include_pad 1",
            [9, 8],
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[1, 1, 1, 1]),
                int("count_include_pad", 1),
            ],
        ),
        (
            "3×3 stride 2 ceil_mode, pads 0,1,1,0",
            [8, 9],
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[0, 1, 1, 0]),
                int("ceil_mode", 1),
            ],
        ),
        (
            "3×3 stride 2 ceil_mode, count_include_pad",
            [8, 9],
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[1, 1, 1, 1]),
                int("ceil_mode", 1),
                int("count_include_pad", 1),
            ],
        ),
        ("3×2 stride 1 on an odd size", [9, 8], vec![ints("kernel_shape", &[3, 2])]),
    ];
    for (what, [h, w], attrs) in cases {
        let mut n = Net::new(3, h, w);
        let y = n.op("AveragePool", &["x"], attrs);
        let l = n.classify(&y);
        check(&format!("AveragePool {what}"), n.model(&l, 13), &["AveragePool"]);
    }

    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[6, 3, 3, 3], 1.0);
    let c = n.op("Conv", &["x", &w], vec![]);
    let t = n.op("Tanh", &[&c], vec![]);
    let g = n.op("GlobalAveragePool", &[&t], vec![]);
    let l = n.classify(&g);
    check("GlobalAveragePool", n.model(&l, 13), &["GlobalAveragePool"]);

    // ReduceMean with the axes as an attribute (opset 13) and as an input (opset 18), ReduceSum.
    for (opset, keepdims) in [(13, 0), (18, 1)] {
        let mut n = Net::new(3, 8, 8);
        n.opset = opset;
        let w = n.weight(&[6, 3, 3, 3], 1.0);
        let c = n.op("Conv", &["x", &w], vec![]);
        let t = n.op("Tanh", &[&c], vec![]);
        let y = if opset == 13 {
            n.op("ReduceMean", &[&t], vec![ints("axes", &[2, -1]), int("keepdims", keepdims)])
        } else {
            let axes = n.ints(&[-2, 3]);
            n.op("ReduceMean", &[&t, &axes], vec![int("keepdims", keepdims)])
        };
        let axes = n.ints(&[1]);
        let s = n.op("ReduceSum", &[&t, &axes], vec![int("keepdims", keepdims)]);
        let ls = n.classify(&s);
        let ly = n.classify(&y);
        let l = n.op("Add", &[&ls, &ly], vec![]);
        check(
            &format!("ReduceMean and ReduceSum, opset {opset}, keepdims {keepdims}"),
            n.model(&l, opset),
            &["ReduceMean", "ReduceSum"],
        );
    }
}

#[test]
fn shape_operators() {
    // Reshape with a shape computed from Shape (a constant subgraph), Squeeze, Unsqueeze, Transpose,
    // Expand, Identity, Dropout, Cast.
    let mut n = Net::new(3, 8, 8);
    // A weight and a shape computed by constant subgraphs (no dependence on the image).
    let w = n.weight(&[3, 3, 1, 1], 1.0);
    let wt = n.op("Transpose", &[&w], vec![ints("perm", &[1, 0, 2, 3])]);
    let two = n.floats(&[], &[2.0]);
    let w2 = n.op("Mul", &[&wt, &two], vec![]);
    let x = n.op("Conv", &["x", &w2], vec![]);
    let f = n.op("Flatten", &[&x], vec![int("axis", 2)]);
    // (onnx_check must know the rank a Reshape produces, so its shape is an initializer.)
    let target = n.ints(&[1, 12, 16]);
    let axes0 = n.ints(&[0]);
    let r = n.op("Reshape", &[&f, &target], vec![]);
    let t = n.op("Transpose", &[&r], vec![ints("perm", &[0, 2, 1])]);
    let u = n.op("Unsqueeze", &[&t, &axes0], vec![]);
    let s = n.op("Squeeze", &[&u, &axes0], vec![]);
    let i = n.op("Identity", &[&s], vec![]);
    let d = n.op("Dropout", &[&i], vec![]);
    let c = n.op("Cast", &[&d], vec![int("to", 1)]);
    let to = n.ints(&[2, 16, 12]);
    let e = n.op("Expand", &[&c, &to], vec![]);
    let factor = n.weight(&[2, 1, 1], 1.0);
    let e = n.op("Mul", &[&e, &factor], vec![]);
    let l = n.classify(&e);
    check(
        "constant subgraphs, Flatten, Reshape, Transpose, Unsqueeze, Squeeze, Identity, Dropout, Cast, Expand",
        n.model(&l, 13),
        &["Flatten", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Identity", "Dropout", "Cast", "Expand"],
    );

    // Concat of two branches and of a constant; Split into three, one unused.
    let mut n = Net::new(3, 8, 8);
    let w = n.weight(&[2, 3, 1, 1], 1.0);
    let a = n.op("Conv", &["x", &w], vec![]);
    let b = n.op("Sigmoid", &["x"], vec![]);
    let k = n.weight(&[1, 1, 8, 8], 1.0);
    let cat = n.op("Concat", &[&a, &k, &b, &a], vec![int("axis", 1)]);
    let split = n.ints(&[3, 2, 3]);
    let parts = n.op_n("Split", &[&cat, &split], 3, vec![int("axis", 1)]);
    let m = n.op("Mul", &[&parts[0], &parts[2]], vec![]);
    let l = n.classify(&m);
    check("Concat (with a constant), Split into 3 with one part unused", n.model(&l, 13), &["Concat", "Split"]);

    // Slice with steps 1, 2 and −1 and negative starts; Pad with positive and negative pads.
    let mut n = Net::new(3, 9, 8);
    let starts = n.ints(&[1, -1, 0]);
    let ends = n.ints(&[8, -10, 3]);
    let axes = n.ints(&[2, 3, 1]);
    let steps = n.ints(&[2, -2, 1]);
    let s = n.op("Slice", &["x", &starts, &ends, &axes, &steps], vec![]);
    let pads = n.ints(&[0, 0, 2, 1, 0, 1, 1, 0]);
    let p = n.op("Pad", &[&s, &pads], vec![]);
    let starts = n.ints(&[1]);
    let ends = n.ints(&[100]);
    let axes = n.ints(&[-1]);
    let s2 = n.op("Slice", &[&p, &starts, &ends, &axes], vec![]);
    let l = n.classify(&s2);
    check("Slice steps 2, −2, 1 with negative starts; Pad", n.model(&l, 13), &["Slice", "Pad"]);

    // Gather with a scalar index (a ViT's class token), a run, and repeated indices.
    let mut n = Net::new(3, 8, 8);
    let r = n.ints(&[1, 8, 64]);
    let w = n.weight(&[8, 3, 3, 3], 0.4);
    let c = n.op("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1]), ints("strides", &[1, 1])]);
    let t = n.op("Reshape", &[&c, &r], vec![]);
    let t = n.op("Transpose", &[&t], vec![ints("perm", &[0, 2, 1])]);
    let one = n.scalar_int(1);
    let cls = n.op("Gather", &[&t, &one], vec![int("axis", 1)]);
    let run = n.ints(&[3, 4, 5]);
    let g2 = n.op("Gather", &[&t, &run], vec![int("axis", 2)]);
    let idx = n.ints(&[7, 0, 7, 63, -1]);
    let g3 = n.op("Gather", &[&t, &idx], vec![int("axis", 1)]);
    let l1 = n.classify(&cls);
    let l2 = n.classify(&g2);
    let l3 = n.classify(&g3);
    let s = n.op("Add", &[&l1, &l2], vec![]);
    let l = n.op("Add", &[&s, &l3], vec![]);
    check("Gather: scalar index, a run, repeated and negative indices", n.model(&l, 13), &["Gather"]);

    // Where with a constant condition.
    let mut n = Net::new(3, 8, 8);
    let cond: Vec<u8> = (0..64).map(|i| (i % 3 == 0) as u8).collect();
    let cond = n.raw(9, &[8, 8], cond);
    let s = n.op("Sigmoid", &["x"], vec![]);
    let y = n.op("Where", &[&cond, &s, "x"], vec![]);
    let l = n.classify(&y);
    check("Where with a constant condition", n.model(&l, 13), &["Where"]);
}

#[test]
fn final_softmax_is_stripped_and_normalisation_put_in_front() {
    for op in ["Softmax", "LogSoftmax"] {
        let mut n = Net::new(3, 8, 8);
        let w = n.weight(&[4, 3, 3, 3], 1.0);
        let c = n.op("Conv", &["x", &w], vec![]);
        let l = n.classify(&c);
        let p = n.op(op, &[&l], vec![int("axis", 1)]);
        let model = n.model(&p, 13);
        let options = Options {
            mean: Some(vec![0.485, 0.456, 0.406]),
            std: Some(vec![0.229, 0.224, 0.225]),
            ..Default::default()
        };
        let (_, report) = grad::build(&model.encode_to_vec(), &options).unwrap();
        assert_eq!(report.stripped.as_deref(), Some(op));
        assert!(report.normalised);
        check_with(
            &format!("final {op} stripped, ImageNet mean/std in front"),
            model,
            &options,
            &["Conv", "Sub", "Div"],
            1e-2,
        );
    }
}

/// A model with an operator that has no rule is refused, naming the operator and the node.
#[test]
fn operators_without_a_rule_are_refused_by_name() {
    let mut n = Net::new(3, 8, 8);
    let s = n.op("Sin", &["x"], vec![]);
    let l = n.classify(&s);
    let message = grad::build(&n.model(&l, 13).encode_to_vec(), &Options::default()).unwrap_err().to_string();
    println!("{message}");
    assert!(message.contains("Sin") && message.contains("Sin_"), "{message}");

    let mut n = Net::new(3, 8, 8);
    let pads = n.ints(&[0, 0, 1, 1, 0, 0, 1, 1]);
    let p = n.op("Pad", &["x", &pads], vec![string("mode", "reflect")]);
    let l = n.classify(&p);
    let message = grad::build(&n.model(&l, 13).encode_to_vec(), &Options::default()).unwrap_err().to_string();
    println!("{message}");
    assert!(message.contains("reflect"), "{message}");

    // The image reaching a weight input.
    let mut n = Net::new(3, 8, 8);
    let (starts, ends, axes) = (n.ints(&[0, 0]), n.ints(&[3, 3]), n.ints(&[2, 3]));
    let w = n.op("Slice", &["x", &starts, &ends, &axes], vec![]);
    let c = n.op("Conv", &["x", &w], vec![]);
    let l = n.classify(&c);
    let blockers = grad::blockers(&n.model(&l, 13), &Options::default()).unwrap();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(blockers[0].op, "Conv");
    assert!(blockers[0].reason.contains("input 1"), "{blockers:?}");
}

/// The loss head at extreme logits: 1e4 and −1e4 (every other probability underflows to exactly 0
/// in float32 and in float64), 50 and −30 (probabilities of e^−60, still normal floats). For every
/// label, the built `loss` and `input_grad` must be finite and equal to the float64 cross-entropy
/// and its gradient, computed here from the same float32 weights.
#[test]
fn extreme_logits_give_the_float64_loss_and_gradient() {
    for scores in [[1e4f64, 0.0, -1e4, 50.0], [30.0, 0.0, -30.0, 5.0], [-1e4, -1e4, 1e4, -1e4]] {
        let classes = scores.len();
        let mut n = Net::new(1, 8, 8);
        let x = vec![0.5f32; 64];
        // logits = flatten(x) · w with w[i][k] = scores[k] / 32 for every pixel i: scores at x = 0.5,
        // and a gradient that is the same for every pixel.
        let w: Vec<f32> = (0..64).flat_map(|_| scores.map(|s| (s / 32.0) as f32)).collect();
        let w = n.floats(&[64, classes], &w);
        let to = n.ints(&[1, -1]);
        let flat = n.op("Reshape", &["x", &to], vec![]);
        let logits = n.op("MatMul", &[&flat, &w], vec![]);
        let (built, _) = grad::build(&n.model(&logits, 13).encode_to_vec(), &Options::default()).unwrap();
        let model = Model::from_onnx_bytes(&built).unwrap();
        let w64: Vec<f64> = scores.iter().map(|&s| (s / 32.0) as f32 as f64).collect();
        let z: Vec<f64> = w64.iter().map(|wk| 64.0 * 0.5 * wk).collect();
        let best = (0..classes).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
        // Σ_j exp(z_j − max) = 1 + rest, and log(1 + rest) as ln_1p(rest): exact for a tiny rest.
        let rest: f64 = (0..classes).filter(|&j| j != best).map(|j| (z[j] - z[best]).exp()).sum();
        let p: Vec<f64> = z.iter().map(|v| (v - z[best]).exp() / (1.0 + rest)).collect();
        for label in 0..classes {
            let g = model.input_gradient(&x, label).unwrap();
            let loss = z[best] - z[label] + rest.ln_1p();
            // ∂loss/∂x_i = Σ_k w[i][k] (p_k − [k = label]), the same for every pixel.
            let grad: f64 = (0..classes).map(|k| w64[k] * (p[k] - (k == label) as u8 as f64)).sum();
            let worst = g.grad.iter().fold(0f64, |m, &v| m.max((v as f64 - grad).abs()));
            println!(
                "logits {scores:?}, label {label}: loss {} (float64 {loss:.6e}), grad {} (float64 {grad:.6e})",
                g.loss, g.grad[0]
            );
            assert!(g.loss.is_finite() && g.grad.iter().all(|v| v.is_finite()), "{scores:?}, label {label}");
            assert!((g.loss as f64 - loss).abs() <= 1e-5 * loss.abs(), "loss {} vs {loss}", g.loss);
            assert!(worst <= 1e-5 * grad.abs().max(1e-30), "grad {} vs {grad}", g.grad[0]);
        }
    }
}
