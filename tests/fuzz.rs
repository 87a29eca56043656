//! A deterministic fuzz run of everything a reader can hand the crate: mutated copies of the shipped
//! MNIST model (truncated, bytes flipped, protobuf-aware edits of dims, attributes, data types,
//! initializers and names), also through the gradient-graph builder, mutated forward-only
//! architectures (tests/fixtures/architectures) through the builder, malformed pixel buffers and
//! labels, and the image helpers' sizes. Each
//! case must come back `Ok` or as an `Error`; a panic is a trap in the browser (`panic = "abort"`).
//!
//! `FGSM_FUZZ_CASES=N` sets the number of mutated model files (default 2,000), `FGSM_FUZZ_SEED=S`
//! the seed (default 1). Files that panic are written to `target/fuzz-panics/` for a fixture;
//! `RUST_BACKTRACE=1 cargo run --features cli --bin fgsm -- info FILE` shows where one panics.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::Instant;

use common::{mnist_bytes, repo_path};
use fgsm_wasm::{FgsmOptions, Label, Method, Model, Norm, Options, fgsm, image};
use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::type_proto::Value as TypeValue;

const DEFAULT_MODEL_CASES: usize = 2000;

/// SplitMix64 (Steele, Lea and Flood 2014): ten lines, no dependency, and its stream never changes
/// with a crate upgrade, so a seed names the same cases for ever.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Values that tend to break size and index arithmetic, or a random one.
    fn interesting_i64(&mut self) -> i64 {
        const VALUES: [i64; 26] = [
            0,
            1,
            -1,
            2,
            -2,
            3,
            4,
            7,
            8,
            27,
            28,
            255,
            2047,
            2048,
            2049,
            65536,
            -65536,
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 31,
            1 << 32,
            (1 << 32) + 1,
            i64::MAX,
            i64::MIN,
            i64::MAX / 2,
            14355223812243457,
        ];
        if self.chance(5) { self.next_u64() as i64 } else { *self.pick(&VALUES) }
    }
    fn interesting_f32(&mut self) -> f32 {
        const VALUES: [f32; 10] =
            [0.0, -0.0, 1.0, -1.0, 0.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN_POSITIVE];
        if self.chance(4) { f32::from_bits(self.next_u64() as u32) } else { *self.pick(&VALUES) }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
        Err(_) => default,
    }
}

/// What a panic said and where, caught by the hook so the report can name the source line.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{location}: {message}"));
    }));
}

/// Outcome of the run: cases per kind, and every panic as (case, description).
#[derive(Default)]
struct Tally {
    cases: usize,
    ok: usize,
    errors: usize,
    panics: Vec<String>,
}

impl Tally {
    fn run<T, E: std::fmt::Display>(&mut self, name: &str, case: impl FnOnce() -> Result<T, E>) -> bool {
        self.cases += 1;
        match catch_unwind(AssertUnwindSafe(case)) {
            Ok(Ok(_)) => {
                self.ok += 1;
                true
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                assert!(!message.trim().is_empty(), "{name}: an empty error message");
                self.errors += 1;
                false
            }
            Err(_) => {
                let what = LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
                self.panics.push(format!("{name}: {what}"));
                false
            }
        }
    }
}

// --- model mutations ------------------------------------------------------------------------------

/// One mutated model file and a short description of how it was made.
fn mutate_file(rng: &mut Rng, original: &[u8], proto: &pb::ModelProto, structural: usize) -> (String, Vec<u8>) {
    match rng.below(10) {
        0 => {
            let cut = match rng.below(3) {
                0 => rng.below(64.min(original.len())),
                1 => rng.below(structural),
                _ => rng.below(original.len()),
            };
            (format!("truncated to {cut} bytes"), original[..cut].to_vec())
        }
        1 | 2 => {
            let mut bytes = original.to_vec();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                // Most flips land in the graph's structure (nodes, attributes, declarations) rather
                // than in the weights, where any byte is a valid float.
                let at = if rng.chance(4) {
                    rng.below(bytes.len())
                } else if rng.chance(3) {
                    bytes.len() - 1 - rng.below(2048.min(bytes.len()))
                } else {
                    rng.below(structural)
                };
                bytes[at] = if rng.chance(2) { bytes[at] ^ (1 << rng.below(8)) } else { rng.next_u64() as u8 };
            }
            (format!("{flips} byte flips"), bytes)
        }
        _ => {
            let mut proto = proto.clone();
            let edits = 1 + rng.below(3);
            let mut names = Vec::new();
            for _ in 0..edits {
                names.push(edit_proto(rng, &mut proto));
            }
            (names.join(", "), proto.encode_to_vec())
        }
    }
}

/// One protobuf-aware edit; returns what it did.
fn edit_proto(rng: &mut Rng, proto: &mut pb::ModelProto) -> String {
    let graph = proto.graph.as_mut().unwrap();
    match rng.below(14) {
        0 | 1 => edit_declared_dims(rng, graph),
        2..=5 => edit_attribute(rng, graph),
        6 if !graph.initializer.is_empty() => {
            let ix = rng.below(graph.initializer.len());
            let name = graph.initializer.remove(ix).name;
            format!("dropped initializer {name}")
        }
        7 => edit_initializer(rng, graph),
        8 => {
            let declared = graph.input.len() + graph.output.len();
            if declared == 0 {
                return "no-op".into();
            }
            let value = graph.input.iter_mut().chain(graph.output.iter_mut()).nth(rng.below(declared)).unwrap();
            let Some(TypeValue::TensorType(t)) = value.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
                return "no-op".into();
            };
            t.elem_type = *rng.pick(&[0, 1, 2, 6, 7, 10, 11, 13, 16, 17, 100, -1]);
            format!("dtype of {} set to {}", value.name, t.elem_type)
        }
        9 => {
            let names = ["image", "label", "logits", "loss", "input_grad", "", "x", "image "];
            let new = rng.pick(&names).to_string();
            let declared = graph.input.len() + graph.output.len();
            if declared == 0 {
                return "no-op".into();
            }
            let value = graph.input.iter_mut().chain(graph.output.iter_mut()).nth(rng.below(declared)).unwrap();
            let old = std::mem::replace(&mut value.name, new.clone());
            format!("renamed {old} to {new:?}")
        }
        10 if !graph.node.is_empty() => {
            // Rewire one node input to another tensor, to nothing, or to an unknown name.
            let candidates: Vec<String> = graph.node.iter().flat_map(|n| n.output.clone()).collect();
            let node = rng.below(graph.node.len());
            let node = &mut graph.node[node];
            if node.input.is_empty() {
                return "no-op".into();
            }
            let slot = rng.below(node.input.len());
            node.input[slot] = match rng.below(3) {
                0 => String::new(),
                1 => "nowhere".into(),
                _ => rng.pick(&candidates).clone(),
            };
            format!("rewired input {slot} of {}", node.name)
        }
        11 if !graph.node.is_empty() => {
            let ix = rng.below(graph.node.len());
            match rng.below(3) {
                0 => {
                    let node = graph.node.remove(ix);
                    format!("removed node {}", node.name)
                }
                1 => {
                    let node = graph.node[ix].clone();
                    graph.node.insert(rng.below(graph.node.len()), node);
                    "duplicated a node".into()
                }
                _ => {
                    let ops = [
                        "Relu",
                        "Conv",
                        "Pad",
                        "Reshape",
                        "ReduceSum",
                        "ReduceMean",
                        "MaxPool",
                        "Gemm",
                        "MatMul",
                        "Transpose",
                        "Flatten",
                        "Softmax",
                        "LogSoftmax",
                        "Gather",
                        "Squeeze",
                        "Unsqueeze",
                        "Concat",
                        "Slice",
                        "Expand",
                        "Tile",
                        "OneHot",
                        "ConvTranspose",
                        "Cast",
                        "Sign",
                        "Mul",
                        "Nope",
                    ];
                    let op = rng.pick(&ops).to_string();
                    graph.node[ix].op_type = op.clone();
                    format!("node {ix} became {op}")
                }
            }
        }
        12 => {
            let version = *rng.pick(&[0, 1, 7, 9, 11, 12, 13, 17, 18, 21, 99, -1]);
            if let Some(opset) = proto.opset_import.first_mut() {
                opset.version = version;
            }
            format!("opset {version}")
        }
        _ => edit_constant_values(rng, graph),
    }
}

fn edit_declared_dims(rng: &mut Rng, graph: &mut pb::GraphProto) -> String {
    let count = graph.input.len() + graph.output.len() + graph.value_info.len();
    let value = graph.input.iter_mut().chain(graph.output.iter_mut()).chain(graph.value_info.iter_mut());
    let value = value.into_iter().nth(rng.below(count)).unwrap();
    let Some(TypeValue::TensorType(t)) = value.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        return "no-op".into();
    };
    let shape = t.shape.get_or_insert_with(Default::default);
    let what = match rng.below(6) {
        0 if !shape.dim.is_empty() => {
            shape.dim.remove(rng.below(shape.dim.len()));
            "removed a dim".to_string()
        }
        1 => {
            let d = pb::tensor_shape_proto::Dimension {
                value: Some(Dim::DimValue(rng.interesting_i64())),
                ..Default::default()
            };
            shape.dim.push(d);
            "added a dim".into()
        }
        2 if !shape.dim.is_empty() => {
            let ix = rng.below(shape.dim.len());
            shape.dim[ix].value = Some(Dim::DimParam(rng.pick(&["N", "", "h", "w"]).to_string()));
            format!("dim {ix} symbolic")
        }
        _ if !shape.dim.is_empty() => {
            let ix = rng.below(shape.dim.len());
            let v = rng.interesting_i64();
            shape.dim[ix].value = Some(Dim::DimValue(v));
            format!("dim {ix} = {v}")
        }
        _ => "no-op".into(),
    };
    format!("{} of {}", what, value.name)
}

/// Attributes whose values feed size arithmetic in convolutions, pools, reductions and shapes.
const ATTRIBUTES: [&str; 16] = [
    "axes",
    "axis",
    "pads",
    "strides",
    "kernel_shape",
    "dilations",
    "group",
    "perm",
    "keepdims",
    "to",
    "alpha",
    "beta",
    "transA",
    "transB",
    "auto_pad",
    "output_padding",
];

fn edit_attribute(rng: &mut Rng, graph: &mut pb::GraphProto) -> String {
    if graph.node.is_empty() {
        return "no-op".into();
    }
    let ix = rng.below(graph.node.len());
    let node = &mut graph.node[ix];
    let (op, name) = (node.op_type.clone(), node.name.clone());
    if node.attribute.is_empty() || rng.chance(4) {
        // Add one the node may not expect, of a random type.
        let attr = rng.pick(&ATTRIBUTES).to_string();
        let mut attribute = pb::AttributeProto { name: attr.clone(), ..Default::default() };
        match rng.below(4) {
            0 => {
                attribute.r#type = 2; // INT
                attribute.i = rng.interesting_i64();
            }
            1 => {
                attribute.r#type = 7; // INTS
                attribute.ints = (0..rng.below(7)).map(|_| rng.interesting_i64()).collect();
            }
            2 => {
                attribute.r#type = 1; // FLOAT
                attribute.f = rng.interesting_f32();
            }
            _ => {
                attribute.r#type = 3; // STRING
                attribute.s = rng.pick(&[&b"SAME_UPPER"[..], b"VALID", b"NOTSET", b"??", b""]).to_vec();
            }
        }
        node.attribute.retain(|a| a.name != attr);
        node.attribute.push(attribute);
        return format!("added attribute {attr} to {op} {name}");
    }
    let a = rng.below(node.attribute.len());
    let attribute = &mut node.attribute[a];
    let what = match rng.below(8) {
        0 => {
            node.attribute.remove(a);
            return format!("removed an attribute of {op} {name}");
        }
        1 => {
            // Same values, another declared type.
            attribute.r#type = *rng.pick(&[0, 1, 2, 3, 4, 6, 7, 8, 99]);
            "retyped".to_string()
        }
        2 => {
            attribute.ints.clear();
            "emptied".into()
        }
        3 => {
            attribute.ints.push(rng.interesting_i64());
            "lengthened".into()
        }
        4 => {
            attribute.i = rng.interesting_i64();
            "int".into()
        }
        5 => {
            attribute.f = rng.interesting_f32();
            "float".into()
        }
        _ if !attribute.ints.is_empty() => {
            let i = rng.below(attribute.ints.len());
            attribute.ints[i] = rng.interesting_i64();
            "one of ints".into()
        }
        _ => {
            attribute.i = rng.interesting_i64();
            "int".into()
        }
    };
    format!("attribute {} of {op} {name}: {what}", node.attribute[a].name)
}

fn edit_initializer(rng: &mut Rng, graph: &mut pb::GraphProto) -> String {
    if graph.initializer.is_empty() {
        return "no-op".into();
    }
    let ix = rng.below(graph.initializer.len());
    let t = &mut graph.initializer[ix];
    let what = match rng.below(5) {
        0 if !t.dims.is_empty() => {
            let d = rng.below(t.dims.len());
            t.dims[d] = rng.interesting_i64();
            format!("dim {d} = {}", t.dims[d])
        }
        1 => {
            t.data_type = *rng.pick(&[0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 16, 100]);
            format!("data type {}", t.data_type)
        }
        2 => {
            let keep = rng.below(t.raw_data.len() + 1);
            t.raw_data.truncate(keep);
            format!("raw data cut to {keep}")
        }
        3 => {
            t.data_location = Some(1); // EXTERNAL
            t.external_data = vec![pb::StringStringEntryProto { key: "location".into(), value: "/etc/passwd".into() }];
            "external data".into()
        }
        _ => {
            t.dims.push(rng.interesting_i64());
            "extra dim".into()
        }
    };
    format!("initializer {}: {what}", t.name)
}

/// Small integer tensors (Reshape shapes, Reduce axes, Pad pads, Slice bounds) steer shapes: edit a
/// value inside one, be it an initializer or a `Constant` node's tensor.
fn edit_constant_values(rng: &mut Rng, graph: &mut pb::GraphProto) -> String {
    let mut tensors: Vec<&mut pb::TensorProto> = graph.initializer.iter_mut().filter(|t| t.data_type == 7).collect();
    for node in graph.node.iter_mut().filter(|n| n.op_type == "Constant") {
        tensors.extend(node.attribute.iter_mut().filter_map(|a| a.t.as_mut()));
    }
    if tensors.is_empty() {
        return "no-op".into();
    }
    let ix = rng.below(tensors.len());
    let t = &mut tensors[ix];
    let value = rng.interesting_i64();
    if t.data_type == 7 && t.raw_data.len() >= 8 {
        let at = 8 * rng.below(t.raw_data.len() / 8);
        t.raw_data[at..at + 8].copy_from_slice(&value.to_le_bytes());
    } else if !t.int64_data.is_empty() {
        let at = rng.below(t.int64_data.len());
        t.int64_data[at] = value;
    } else if t.raw_data.len() >= 4 {
        let at = 4 * rng.below(t.raw_data.len() / 4);
        t.raw_data[at..at + 4].copy_from_slice(&rng.interesting_f32().to_le_bytes());
    } else {
        return "no-op".into();
    }
    format!("a value of constant {} = {value}", t.name)
}

// --- inputs ---------------------------------------------------------------------------------------

/// A pixel buffer that is wrong in one way (or, now and then, right).
fn pixels(rng: &mut Rng, len: usize) -> (String, Vec<f32>) {
    let mut pixels: Vec<f32> = (0..len).map(|_| rng.below(256) as f32 / 255.0).collect();
    let what = match rng.below(6) {
        0 => {
            let n = *rng.pick(&[0, 1, len - 1, len + 1, 2 * len, 3 * len]);
            pixels.resize(n, 0.5);
            format!("{n} values")
        }
        1..=3 => {
            let v = *rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.001, 1.001, -1e30, 1e30, 2.0]);
            let at = rng.below(len);
            pixels[at] = v;
            format!("pixel {at} = {v}")
        }
        4 => {
            pixels.iter_mut().for_each(|p| *p = if rng.chance(2) { 0.0 } else { 1.0 });
            "black and white".into()
        }
        _ => "valid".into(),
    };
    (what, pixels)
}

fn label(rng: &mut Rng, classes: usize) -> usize {
    *rng.pick(&[0, classes - 1, classes, classes + 1, usize::MAX, usize::MAX / 2, 1 << 32, i64::MAX as usize])
}

#[test]
fn no_input_makes_the_crate_panic() {
    let model_cases = env_number("FGSM_FUZZ_CASES", DEFAULT_MODEL_CASES as u64) as usize;
    let seed = env_number("FGSM_FUZZ_SEED", 1);
    let mut rng = Rng(seed);
    let original = mnist_bytes();
    let proto = pb::ModelProto::decode(&original[..]).unwrap();
    // The nodes come first in the file; past them lie the weights' raw bytes.
    let structural = {
        let graph = proto.graph.as_ref().unwrap();
        pb::GraphProto { node: graph.node.clone(), ..Default::default() }.encoded_len() + 64
    };
    let good = common::mnist();
    let classes = good.num_classes();
    let len = good.input_len();
    install_quiet_panic_hook();

    let started = Instant::now();
    let mut tally = Tally::default();
    let (mut loaded, mut slowest) = (0, (0f64, String::new()));
    let panic_dir = repo_path("target/fuzz-panics");
    for case in 0..model_cases {
        let (what, bytes) = mutate_file(&mut rng, &original, &proto, structural);
        let t = Instant::now();
        let name = format!("model case {case} ({what})");
        let mut model = None;
        let before = tally.panics.len();
        if tally.run(&name, || Model::from_onnx_bytes(&bytes).map(|m| model = Some(m))) {
            loaded += 1;
        }
        if tally.panics.len() > before {
            std::fs::create_dir_all(&panic_dir).unwrap();
            std::fs::write(panic_dir.join(format!("case-{seed}-{case}.onnx")), &bytes).unwrap();
        }
        // The gradient-graph builder on the mutated file's forward part (the page will run it on
        // whatever a reader drops).
        tally.run(&format!("{name}: grad-graph"), || {
            let mut forward = fgsm_wasm::grad::decode(&bytes)?;
            fgsm_wasm::grad::strip_gradient(&mut forward);
            fgsm_wasm::grad::build_model(forward, &Default::default())
        });
        if tally.panics.len() > before {
            std::fs::create_dir_all(&panic_dir).unwrap();
            std::fs::write(panic_dir.join(format!("case-{seed}-{case}-grad.onnx")), &bytes).unwrap();
        }
        // A mutated model that still loads must also run, or fail with an error, on any input.
        if let Some(model) = model {
            let (what, px) = pixels(&mut rng, model.input_len());
            let l = label(&mut rng, model.num_classes());
            tally.run(&format!("{name}: predict, {what}"), || model.predict(&px));
            tally.run(&format!("{name}: gradient, {what}, label {l}"), || model.input_gradient(&px, l));
        }
        let seconds = t.elapsed().as_secs_f64();
        if seconds > slowest.0 {
            slowest = (seconds, name);
        }
    }

    // The gradient-graph builder on mutated forward-only architectures (MaxPool, Concat, Split,
    // Slice, LayerNormalization, attention…).
    let builder_started = Instant::now();
    let mut built = 0;
    for fixture in ["resnet18-dynamo", "shufflenet_v2_x0_5-torchscript", "vit-dynamo", "densenet-dynamo"] {
        let original = std::fs::read(repo_path(&format!("tests/fixtures/architectures/{fixture}.onnx"))).unwrap();
        let proto = pb::ModelProto::decode(&original[..]).unwrap();
        let structural = {
            let graph = proto.graph.as_ref().unwrap();
            pb::GraphProto { node: graph.node.clone(), ..Default::default() }.encoded_len() + 64
        };
        for case in 0..model_cases / 20 {
            let (what, bytes) = mutate_file(&mut rng, &original, &proto, structural);
            let name = format!("{fixture} case {case} ({what}): grad-graph");
            let before = tally.panics.len();
            let t = Instant::now();
            if tally.run(&name, || fgsm_wasm::grad::build(&bytes, &Default::default())) {
                built += 1;
            }
            if tally.panics.len() > before {
                std::fs::create_dir_all(&panic_dir).unwrap();
                std::fs::write(panic_dir.join(format!("case-{seed}-{fixture}-{case}.onnx")), &bytes).unwrap();
            }
            let seconds = t.elapsed().as_secs_f64();
            if seconds > slowest.0 {
                slowest = (seconds, name);
            }
        }
    }
    println!(
        "builder on {} mutated architectures: {built} built, in {:.1} s",
        4 * (model_cases / 20),
        builder_started.elapsed().as_secs_f64()
    );
    let model_seconds = started.elapsed().as_secs_f64();

    // The shipped model, with every kind of bad pixel buffer, label and ε.
    for case in 0..model_cases {
        let (what, px) = pixels(&mut rng, len);
        let l = label(&mut rng, classes);
        let eps = rng.interesting_f32().abs().min(2.0);
        let name = format!("input case {case} ({what}, label {l}, ε {eps})");
        match rng.below(5) {
            4 => {
                // An image session, then any attack with any options (iterative ones kept short).
                let options = Options {
                    method: *rng.pick(&Method::ALL),
                    eps: rng.interesting_f32(),
                    alpha: if rng.chance(2) { None } else { Some(rng.interesting_f32()) },
                    steps: *rng.pick(&[None, Some(0), Some(1), Some(3)]),
                    norm: *rng.pick(&[None, Some(Norm::Linf), Some(Norm::L2)]),
                    momentum: if rng.chance(2) { None } else { Some(rng.interesting_f32()) },
                    seed: rng.next_u64(),
                    label: *rng.pick(&[Label::Predicted, Label::Untargeted(l), Label::Targeted(l)]),
                };
                tally.run(&format!("{name}, session attack {options:?}"), || good.session(&px)?.attack(&options))
            }
            0 => tally.run(&name, || good.predict(&px)),
            1 => tally.run(&name, || good.input_gradient(&px, l)),
            2 => tally.run(&name, || fgsm(&good, &px, eps, FgsmOptions { label: Some(l), targeted: rng.chance(2) })),
            _ => tally.run(&name, || fgsm(&good, &px, eps, FgsmOptions::default())),
        };
    }

    // The image helpers, with sizes whose products overflow 32 and 64 bits.
    let sides = [0usize, 1, 3, 28, 65536, 1 << 31, 1 << 32, usize::MAX, usize::MAX / 2 + 1];
    for case in 0..model_cases / 4 {
        let (w, h) = (*rng.pick(&sides), *rng.pick(&sides));
        let n = *rng.pick(&[0usize, 1, 4, 16, 784, w.wrapping_mul(h) % (1 << 20)]);
        let ink: Vec<f32> = (0..n).map(|_| if rng.chance(3) { rng.interesting_f32() } else { 1.0 }).collect();
        let channels = *rng.pick(&[0usize, 1, 2, 3, 4, usize::MAX]);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        let name = format!("image case {case} ({w}×{h}, {n} values, {channels} channels)");
        tally.run(&format!("{name}: centre_digit"), || image::centre_digit(&ink, w, h));
        tally.run(&format!("{name}: rgba_to_pixels"), || image::rgba_to_pixels(&bytes, channels));
        tally.run(&format!("{name}: pixels_to_rgba"), || image::pixels_to_rgba(&ink, channels));
        let (eps, gain) = (rng.interesting_f32(), rng.interesting_f32());
        tally.run(&format!("{name}: perturbation_to_rgba"), || image::perturbation_to_rgba(&ink, channels, eps, gain));
    }
    let _ = std::panic::take_hook();

    // Straight to stderr, which the test harness does not capture, so that `./build.sh test` (and
    // CI) always prints the figure, not only runs with --nocapture.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "fuzz (seed {seed}): {model_cases} mutated model files ({loaded} still loaded) in {model_seconds:.1} s, \
         slowest {:.2} s ({}); {} cases in all in {:.1} s: {} ok, {} errors, {} panics",
        slowest.0,
        slowest.1,
        tally.cases,
        started.elapsed().as_secs_f64(),
        tally.ok,
        tally.errors,
        tally.panics.len()
    );
    for panic in &tally.panics {
        println!("PANIC {panic}");
    }
    assert!(tally.panics.is_empty(), "{} of {} cases panicked (listed above)", tally.panics.len(), tally.cases);
}
