//! The gradient-graph builder: turns a forward-only ONNX image classifier into the product's model
//! format (models/README.md): inputs `image` (float32 `[1,C,H,W]` in [0,1]) and `label` (int64
//! `[1]`), outputs `logits`, `loss` (cross-entropy) and `input_grad` (∂loss/∂image), the backward
//! pass written out with ordinary inference operators that tract runs.
//!
//! - `proto`: reading and writing ONNX protobuf pieces (tract-onnx's own types);
//! - `analysis`: shapes, types and constant values from tract's type analysis;
//! - `emit`: new nodes and constants under collision-free names;
//! - `head`: the cross-entropy head and its float32-safe numerics;
//! - `rules`: one reverse-mode rule per operator.
//!
//! An operator on the path from the image to the logits without a rule stops the build with an
//! error naming the operator and the node: the builder never writes a wrong gradient.

mod analysis;
mod emit;
mod head;
pub mod proto;
mod rules;

use std::collections::{BTreeMap, HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::model::{IMAGE, INPUT_GRAD, LABEL, LOGITS, LOSS};
use analysis::Facts;
use emit::Emitter;
use rules::{Backward, Dequantized, Inputs};

pub(crate) fn fail(message: String) -> Error {
    Error::Builder(message)
}

/// Choices a model may need; all optional.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The image input, when the model has several inputs.
    pub input: Option<String>,
    /// The logits tensor, when the model has several outputs or the logits are an inner tensor.
    pub logits: Option<String>,
    /// Per-channel normalisation the model expects (`(x − mean)/std` on [0,1] pixels), put in front
    /// so that `image` takes pixels in [0,1].
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
}

/// What the builder found and did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub input: String,
    pub logits: String,
    pub input_shape: [usize; 4],
    pub classes: usize,
    /// The final Softmax or LogSoftmax that was removed so that `logits` are pre-softmax scores.
    pub stripped: Option<String>,
    pub normalised: bool,
    /// Operators on the path from the image to the logits, with their counts.
    pub ops: BTreeMap<String, usize>,
    pub nodes_added: usize,
}

/// An operator on the path from the image to the logits that has no rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocker {
    pub op: String,
    pub node: String,
    pub reason: String,
}

/// Builds the gradient graph of a forward-only ONNX file; returns the new file's bytes.
pub fn build(bytes: &[u8], options: &Options) -> Result<(Vec<u8>, Report)> {
    use prost::Message;
    let (model, report) = build_model(decode(bytes)?, options)?;
    Ok((model.encode_to_vec(), report))
}

pub fn decode(bytes: &[u8]) -> Result<pb::ModelProto> {
    crate::limits::check_file_size(bytes.len())?;
    tract_onnx::onnx().proto_model_for_read(&mut &bytes[..]).map_err(|e| Error::Parse(format!("{e:#}")))
}

/// The forward part of a model with a gradient graph: `label`, `loss`, `input_grad` and every node
/// only they need removed (nodes are topologically sorted in ONNX, so one backward sweep does).
pub fn strip_gradient(model: &mut pb::ModelProto) {
    let Some(graph) = model.graph.as_mut() else { return };
    let mut needed: HashSet<String> = HashSet::from([LOGITS.to_string()]);
    let mut keep = vec![false; graph.node.len()];
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().cloned());
        }
    }
    let mut kept = keep.iter();
    graph.node.retain(|_| *kept.next().unwrap_or(&false));
    graph.initializer.retain(|t| needed.contains(&t.name));
    graph.input.retain(|v| needed.contains(&v.name));
    graph.output.retain(|v| v.name == LOGITS);
    graph.value_info.retain(|v| needed.contains(&v.name));
}

/// Whether a model file already carries the gradient graph of the model format: an input `label`
/// and outputs `loss` and `input_grad`.
pub fn has_gradient_graph(model: &pb::ModelProto) -> bool {
    let Some(graph) = model.graph.as_ref() else { return false };
    let declared = |list: &[pb::ValueInfoProto], name: &str| list.iter().any(|v| v.name == name);
    declared(&graph.input, LABEL) && declared(&graph.output, LOSS) && declared(&graph.output, INPUT_GRAD)
}

/// What a reader's file is, before anything is built: whether it already has a gradient graph and,
/// if not, its image input's shape and the operators that would stop the builder.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub gradient_graph: bool,
    /// `[1, C, H, W]` of the image input; `None` when the file already has a gradient graph.
    pub input_shape: Option<[usize; 4]>,
    pub blockers: Vec<Blocker>,
}

pub fn inspect(bytes: &[u8]) -> Result<Inspection> {
    let model = decode(bytes)?;
    if has_gradient_graph(&model) {
        return Ok(Inspection { gradient_graph: true, input_shape: None, blockers: vec![] });
    }
    let prepared = prepare(model, &Options::default())?;
    Ok(Inspection { gradient_graph: false, input_shape: Some(prepared.shape), blockers: prepared.blockers })
}

/// The operators that would stop the builder, without building.
pub fn blockers(model: &pb::ModelProto, options: &Options) -> Result<Vec<Blocker>> {
    let prepared = prepare(model.clone(), options)?;
    Ok(prepared.blockers)
}

struct Prepared {
    model: pb::ModelProto,
    facts: Facts,
    /// Forward nodes in topological order.
    nodes: Vec<pb::NodeProto>,
    shape: [usize; 4],
    classes: usize,
    needed: HashSet<String>,
    blockers: Vec<Blocker>,
    report: Report,
}

pub fn build_model(model: pb::ModelProto, options: &Options) -> Result<(pb::ModelProto, Report)> {
    let Prepared { mut model, facts, nodes, shape, classes, needed, blockers, mut report } = prepare(model, options)?;
    if !blockers.is_empty() {
        let list: Vec<String> =
            blockers.iter().map(|b| format!("{} (node `{}`): {}", b.op, b.node, b.reason)).collect();
        return Err(fail(format!(
            "no gradient can be built through {}. Operators with a rule: {}",
            list.join("; "),
            rules::SUPPORTED
        )));
    }
    let graph = model.graph.as_mut().expect("prepare checked the graph");

    let mut taken: HashSet<String> = HashSet::new();
    for node in &nodes {
        taken.extend(node.input.iter().chain(&node.output).cloned());
        taken.insert(node.name.clone());
    }
    taken.extend(graph.initializer.iter().map(|t| t.name.clone()));
    taken.extend([IMAGE, LABEL, LOGITS, LOSS, INPUT_GRAD].map(String::from));

    // Integer weights dequantized in the graph, so backward kernels can be stored as integers too.
    let mut dequantized = HashMap::new();
    for node in &nodes {
        if node.op_type == "DequantizeLinear"
            && let (Some(q), Some(scale)) = (facts.value(&node.input[0]), facts.floats(&node.input[1]))
        {
            let zero = node.input.get(2).filter(|z| !z.is_empty()).and_then(|z| facts.value(z));
            if node.input.get(2).is_some_and(|z| !z.is_empty()) && zero.is_none() {
                continue;
            }
            let axis = proto::attr_int(node, "axis").unwrap_or(1);
            let rank = q.rank() as i64;
            let axis = if axis < 0 { axis + rank } else { axis } as usize;
            dequantized.insert(node.output[0].clone(), Dequantized { q, scale: scale.0, zero, axis });
        }
    }

    let mut b = Backward { e: Emitter::new(taken), facts, needed, grads: HashMap::new(), dequantized };
    let logits_grad = head::cross_entropy(&mut b.e, classes);
    b.grads.insert(LOGITS.into(), vec![logits_grad]);

    for node in nodes.iter().rev() {
        if !node.output.iter().any(|o| b.needed.contains(o)) {
            continue;
        }
        let gs: Vec<Option<String>> = node.output.iter().map(|o| b.total_grad(o)).collect();
        if gs.iter().all(|g| g.is_none()) {
            continue;
        }
        b.apply(node, &gs)?;
    }
    let image_grad = b.total_grad(IMAGE).ok_or_else(|| fail("no gradient reached the image".into()))?;
    b.e.node_to("Identity", &[&image_grad], INPUT_GRAD, vec![]);

    report.nodes_added = b.e.nodes.len();
    graph.node = nodes;
    graph.node.extend(b.e.nodes);
    graph.initializer.extend(b.e.initializers);
    graph.input = vec![proto::value_info(IMAGE, proto::FLOAT, &shape), proto::value_info(LABEL, proto::INT64, &[1])];
    graph.output = vec![
        proto::value_info(LOGITS, proto::FLOAT, &[1, classes]),
        proto::value_info(LOSS, proto::FLOAT, &[]),
        proto::value_info(INPUT_GRAD, proto::FLOAT, &shape),
    ];
    graph.value_info.clear();
    if let Some(o) = model.opset_import.iter_mut().find(|o| o.domain.is_empty() || o.domain == "ai.onnx") {
        o.version = o.version.max(b.e.min_opset);
    }
    Ok((model, report))
}

/// Renames a tensor everywhere in the graph.
fn rename(graph: &mut pb::GraphProto, old: &str, new: &str) {
    if old == new {
        return;
    }
    for node in &mut graph.node {
        for name in node.input.iter_mut().chain(node.output.iter_mut()) {
            if name == old {
                *name = new.into();
            }
        }
    }
    for v in graph.input.iter_mut().chain(graph.output.iter_mut()).chain(graph.value_info.iter_mut()) {
        if v.name == old {
            v.name = new.into();
        }
    }
}

/// Nodes in an order where each comes after the producers of its inputs (Kahn's algorithm, keeping
/// the file's order where it is already valid).
fn topological(nodes: Vec<pb::NodeProto>, sources: &HashSet<String>) -> Result<Vec<pb::NodeProto>> {
    let mut available: HashSet<String> = sources.clone();
    let mut pending = nodes;
    let mut sorted = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = vec![];
        for node in pending {
            if node.input.iter().all(|i| i.is_empty() || available.contains(i)) {
                available.extend(node.output.iter().cloned());
                sorted.push(node);
            } else {
                rest.push(node);
            }
        }
        if rest.len() == before {
            let node = &rest[0];
            return Err(fail(format!(
                "node `{}` ({}) reads a tensor nothing computes, or the graph has a cycle",
                proto::node_name(node),
                node.op_type
            )));
        }
        pending = rest;
    }
    Ok(sorted)
}

fn prepare(mut model: pb::ModelProto, options: &Options) -> Result<Prepared> {
    crate::onnx_check::check_model(&model)?;
    let opset = proto::opset(&model).ok_or_else(|| fail("the model imports no default-domain opset".into()))?;
    if opset < 13 {
        return Err(fail(format!("the model uses opset {opset}; export it with opset 13 or newer")));
    }
    let graph = model.graph.as_mut().ok_or_else(|| Error::Parse("the file holds no graph".into()))?;
    let initializers: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    graph.input.retain(|i| !initializers.contains(&i.name));
    graph.value_info.clear();

    let all_tensors: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().chain(&n.output))
        .chain(graph.input.iter().map(|i| &i.name))
        .chain(initializers.iter())
        .cloned()
        .collect();
    for reserved in [LABEL, LOSS, INPUT_GRAD] {
        if all_tensors.contains(reserved) {
            return Err(fail(format!(
                "the model already has a tensor named `{reserved}`: it seems to carry a gradient graph already"
            )));
        }
    }

    // The image input.
    let input = match &options.input {
        Some(name) => graph
            .input
            .iter()
            .find(|i| &i.name == name)
            .ok_or_else(|| fail(format!("the model has no input named `{name}`")))?,
        None => match graph.input.as_slice() {
            [one] => one,
            many => {
                let names: Vec<&str> = many.iter().map(|i| i.name.as_str()).collect();
                return Err(fail(format!("the model has inputs {names:?}: name the image with --input")));
            }
        },
    };
    let input_name = input.name.clone();
    let (elem, dims) =
        proto::declared(input).ok_or_else(|| fail(format!("input `{input_name}` is not declared as a tensor")))?;
    if elem != proto::FLOAT {
        return Err(fail(format!("input `{input_name}` must be float32, it has ONNX type {elem}")));
    }
    if dims.len() != 4 {
        return Err(fail(format!("input `{input_name}` must be [1, C, H, W], it has rank {}", dims.len())));
    }
    let mut shape = [1usize; 4];
    for axis in 1..4 {
        shape[axis] = dims[axis]
            .filter(|&d| d > 0)
            .ok_or_else(|| fail(format!("input `{input_name}` needs a fixed size: axis {axis} is not a number")))?
            as usize;
    }
    if dims[0].is_some_and(|b| b != 1) {
        return Err(fail(format!("input `{input_name}` must have batch size 1, it has {:?}", dims[0])));
    }
    crate::limits::check_input_shape(shape)?;
    if graph.input.len() > 1 {
        // Other inputs would be unset when the model runs.
        let others: Vec<&str> = graph.input.iter().filter(|i| i.name != input_name).map(|i| i.name.as_str()).collect();
        return Err(fail(format!("the model has inputs besides the image: {others:?}")));
    }

    // The logits, and a final Softmax/LogSoftmax stripped off them.
    let mut logits = match &options.logits {
        Some(name) => {
            if !all_tensors.contains(name) {
                return Err(fail(format!("the model has no tensor named `{name}`")));
            }
            name.clone()
        }
        None => match graph.output.as_slice() {
            [one] => one.name.clone(),
            many => {
                let names: Vec<&str> = many.iter().map(|o| o.name.as_str()).collect();
                return Err(fail(format!("the model has outputs {names:?}: name the logits with --logits")));
            }
        },
    };
    let mut stripped = None;
    if let Some(i) = graph.node.iter().position(|n| n.output.first() == Some(&logits))
        && matches!(graph.node[i].op_type.as_str(), "Softmax" | "LogSoftmax")
    {
        let node = graph.node.remove(i);
        stripped = Some(node.op_type.clone());
        logits = node.input[0].clone();
    }
    for (tensor, name) in [(&input_name, IMAGE), (&logits, LOGITS)] {
        if tensor != name && all_tensors.contains(name) {
            return Err(fail(format!("the model already uses the name `{name}` for another tensor")));
        }
    }

    // Normalisation in front: image → (image − mean)/std → the model's input.
    let normalised = options.mean.is_some() || options.std.is_some();
    let first = if normalised { "grad/normalised_image" } else { IMAGE };
    rename(graph, &input_name, first);
    if normalised {
        let channels = shape[1];
        let per_channel = |v: &Option<Vec<f32>>, default: f32, what: &str| -> Result<Vec<f32>> {
            let v = v.clone().unwrap_or_else(|| vec![default]);
            match v.len() {
                1 => Ok(vec![v[0]; channels]),
                n if n == channels => Ok(v),
                n => Err(fail(format!("{what} has {n} values; the image has {channels} channels"))),
            }
        };
        let mean = per_channel(&options.mean, 0.0, "--mean")?;
        let std = per_channel(&options.std, 1.0, "--std")?;
        if std.iter().any(|&s| s == 0.0 || !s.is_finite()) || mean.iter().any(|m| !m.is_finite()) {
            return Err(fail("--mean and --std must be finite numbers, and --std not 0".into()));
        }
        let mut taken = all_tensors.clone();
        taken.insert(first.into());
        let mut e = Emitter::new(taken);
        let m = e.f32s(&mean, &[1, channels, 1, 1], "mean");
        let s = e.f32s(&std, &[1, channels, 1, 1], "std");
        let centred = e.sub(IMAGE, &m);
        e.node_to("Div", &[&centred, &s], first, vec![]);
        graph.initializer.extend(e.initializers);
        let mut nodes = e.nodes;
        nodes.append(&mut graph.node);
        graph.node = nodes;
    }
    graph.input = vec![proto::value_info(IMAGE, proto::FLOAT, &shape)];
    graph.output = vec![pb::ValueInfoProto { name: logits.clone(), ..Default::default() }];

    let mut sources: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    sources.insert(IMAGE.into());
    graph.node = topological(std::mem::take(&mut graph.node), &sources)?;

    let facts = Facts::analyse(&model, IMAGE, shape)?;
    let graph = model.graph.as_mut().expect("checked above");
    let logits_shape = facts.shape(&logits)?;
    let classes: usize = logits_shape.iter().product();
    if logits_shape.first() != Some(&1) || logits_shape.iter().filter(|&&d| d != 1).count() > 1 || classes < 2 {
        return Err(fail(format!(
            "the logits `{logits}` must have shape [1, K] with K ≥ 2, they have {logits_shape:?}"
        )));
    }
    let mut facts = facts;
    if logits_shape.len() == 2 {
        rename(graph, &logits, LOGITS);
        facts.rename(&logits, LOGITS);
    } else {
        // [1, K, 1, 1] and the like: a Reshape to [1, K] in the forward graph.
        let mut e = Emitter::new(all_tensors.clone());
        let s = e.shape(&[1, classes]);
        e.node_to("Reshape", &[&logits, &s], LOGITS, vec![]);
        graph.initializer.extend(e.initializers);
        graph.node.extend(e.nodes);
        facts.insert_shape(LOGITS, vec![1, classes]);
    }
    graph.output = vec![pb::ValueInfoProto { name: LOGITS.into(), ..Default::default() }];
    let nodes = graph.node.clone();

    // Tensors that depend on the image through something a gradient can flow through.
    let mut active: HashSet<String> = HashSet::from([IMAGE.to_string()]);
    for node in &nodes {
        if rules::NON_DIFFERENTIABLE.contains(&node.op_type.as_str()) {
            continue;
        }
        if node.input.iter().any(|i| active.contains(i)) {
            for o in &node.output {
                if !o.is_empty() && facts.is_float(o) && facts.value(o).is_none() {
                    active.insert(o.clone());
                }
            }
        }
    }
    // … and that the logits depend on.
    let producers: HashMap<&str, &pb::NodeProto> =
        nodes.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect();
    let mut needed = HashSet::new();
    let mut stack = vec![LOGITS.to_string()];
    while let Some(t) = stack.pop() {
        if !active.contains(&t) || !needed.insert(t.clone()) {
            continue;
        }
        if let Some(p) = producers.get(t.as_str()) {
            stack.extend(p.input.iter().filter(|i| active.contains(*i)).cloned());
        }
    }
    if !needed.contains(IMAGE) {
        return Err(fail("the logits do not depend on the image".into()));
    }

    let mut blockers = vec![];
    let mut ops = BTreeMap::new();
    for node in &nodes {
        if !node.output.iter().any(|o| needed.contains(o)) {
            continue;
        }
        *ops.entry(node.op_type.clone()).or_insert(0) += 1;
        let blocker =
            |reason: String| Blocker { op: node.op_type.clone(), node: proto::node_name(node).to_string(), reason };
        let domain_ok = node.domain.is_empty() || node.domain == "ai.onnx";
        match rules::rule_inputs(&node.op_type).filter(|_| domain_ok) {
            None => blockers.push(blocker("no gradient rule".into())),
            Some(Inputs::All) => {}
            Some(Inputs::Only(positions)) => {
                if let Some(i) =
                    node.input.iter().enumerate().position(|(i, x)| needed.contains(x) && !positions.contains(&i))
                {
                    blockers.push(blocker(format!("input {i} depends on the image, and no gradient flows through it")));
                }
            }
        }
    }

    let report =
        Report { input: input_name, logits, input_shape: shape, classes, stripped, normalised, ops, nodes_added: 0 };
    Ok(Prepared { model, facts, nodes, shape, classes, needed, blockers, report })
}
