//! Checks an ONNX graph before tract reads it, for what tract 0.23.9 would panic on (a trap in the
//! browser, where `panic = "abort"`) and for sizes beyond [`crate::limits`]. tract's own errors stay
//! tract's: this only rejects what it cannot be trusted to reject.
//!
//! Known tract panics that these checks prevent (tests/fixtures/README.md has the files):
//! - a Reduce whose axes are out of range for its input's rank (`tract-hir` `ops/nn/reduce.rs:124`
//!   unwraps "Illegal combination of values for rank and axis");
//! - negative `Pad` pads.
//!
//! Ranks are worked out here from the declarations and a table of operators; where an axis must be
//! checked against a rank this table cannot give, the model is refused rather than risked.

use std::collections::HashMap;

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::type_proto::Value as TypeValue;

use crate::error::{Error, Result};
use crate::limits::{MAX_GROUPS, MAX_NODES, MAX_RANK, MAX_TENSOR_ELEMENTS, MAX_WINDOW, element_count};

/// ONNX `AttributeProto.AttributeType` codes.
const ATTR_FLOAT: i32 = 1;
const ATTR_INT: i32 = 2;
const ATTR_INTS: i32 = 7;

/// Operators that reduce over an `axes` list (an attribute, or a second input from opset 13 for
/// ReduceSum and opset 18 for the others).
const REDUCE_OPS: [&str; 10] = [
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
];

/// Operators with a sliding window: kernel, strides, dilations, pads.
const WINDOW_OPS: [&str; 8] =
    ["Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool", "MaxUnpool"];

/// Operators for which tract-onnx reads inputs with empty names as absent optional inputs
/// (`optional_inputs` in its model.rs). Elsewhere it counts them, then drops them, and indexes past
/// the end: a Conv with bias `""` panics in `tract-hir` `ops/cnn/conv.rs:164`.
#[rustfmt::skip]
const OPTIONAL_INPUT_OPS: [&str; 11] = [
    "Clip", "Pad", "Slice", "Resize", "Dropout", "MatMulInteger", "ConvInteger", "NonMaxSuppression", "LSTM", "GRU",
    "RNN",
];

/// Operators whose output has the rank of their first input.
#[rustfmt::skip]
const SAME_RANK_OPS: [&str; 46] = [
    "Abs", "Acos", "Asin", "Atan", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Conv", "ConvTranspose",
    "Cos", "CumSum", "DequantizeLinear", "QuantizeLinear", "Dropout", "Elu", "Erf", "Exp", "Floor", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
    "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LRN", "LeakyRelu", "Log", "LogSoftmax", "MaxPool",
    "AveragePool", "Neg", "Not", "PRelu", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin",
    "Softmax", "Sqrt", "Tanh",
];

/// Elementwise operators with broadcasting: the output has the largest rank of the inputs.
#[rustfmt::skip]
const BROADCAST_OPS: [&str; 19] = [
    "Add", "And", "BitShift", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max", "Mean",
    "Min", "Mod", "Mul", "Or", "Pow", "Sub", "Sum", "Where",
];

pub fn check_model(proto: &pb::ModelProto) -> Result<()> {
    let graph = proto.graph.as_ref().ok_or_else(|| Error::Parse("the file holds no graph".into()))?;
    if graph.node.len() > MAX_NODES {
        return Err(Error::Unsupported(format!(
            "the graph has {} nodes; models up to {MAX_NODES} nodes are accepted",
            graph.node.len()
        )));
    }
    let mut declared = HashMap::new();
    for value in graph.input.iter().chain(&graph.output).chain(&graph.value_info) {
        if let Some(rank) = check_declared(value)? {
            declared.insert(value.name.as_str(), rank);
        }
    }
    let mut constants: HashMap<&str, &pb::TensorProto> = HashMap::new();
    for tensor in &graph.initializer {
        check_tensor(tensor, &format!("initializer `{}`", tensor.name))?;
        constants.insert(tensor.name.as_str(), tensor);
    }
    for node in &graph.node {
        for attribute in &node.attribute {
            if attribute.g.is_some() || !attribute.graphs.is_empty() {
                return Err(Error::Unsupported(format!(
                    "node `{}` ({}) holds a subgraph; control flow (If, Loop, Scan) is not supported",
                    node.name, node.op_type
                )));
            }
            if attribute.sparse_tensor.is_some() || !attribute.sparse_tensors.is_empty() {
                return Err(Error::Unsupported(format!("node `{}` holds a sparse tensor", node.name)));
            }
            for tensor in attribute.t.iter().chain(&attribute.tensors) {
                check_tensor(tensor, &format!("the tensor of node `{}`", node.name))?;
            }
        }
        if node.op_type == "Constant"
            && let (Some(output), Some(tensor)) =
                (node.output.first(), node.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref()))
        {
            constants.insert(output.as_str(), tensor);
        }
    }
    // tract-onnx looks each graph output up with `[]` (model.rs:187): one nothing produces panics.
    for output in &graph.output {
        let defined = graph.input.iter().any(|i| i.name == output.name)
            || constants.contains_key(output.name.as_str())
            || graph.node.iter().any(|n| n.output.contains(&output.name));
        if !defined {
            return Err(Error::Unsupported(format!("output `{}` is not computed by any node", output.name)));
        }
    }
    let ranks = infer_ranks(graph, &constants);
    let opset =
        proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(0, |o| o.version);
    // Dimensions of the constants, and of what passes them on unchanged in shape (int8 weights
    // dequantized in the graph), so a convolution's kernel is known wherever its weight is fixed.
    let mut fixed_dims: HashMap<&str, &[i64]> = constants.iter().map(|(&name, t)| (name, t.dims.as_slice())).collect();
    for node in &graph.node {
        if matches!(node.op_type.as_str(), "DequantizeLinear" | "Cast" | "Identity")
            && let (Some(input), Some(output)) = (node.input.first(), node.output.first())
            && let Some(&dims) = fixed_dims.get(input.as_str())
        {
            fixed_dims.insert(output.as_str(), dims);
        }
    }
    let mut shape_lengths = HashMap::new();
    for node in &graph.node {
        if node.op_type == "Shape"
            && let (Some(input), Some(output)) = (node.input.first(), node.output.first())
            && let Some(&rank) = ranks.get(input.as_str()).or(declared.get(input.as_str()))
        {
            // Opset 15's start and end, clamped as the operator defines them.
            let r = rank as i64;
            let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) };
            let start = clamp(int_attr(node, "start").unwrap_or(0));
            let end = clamp(int_attr(node, "end").unwrap_or(r));
            shape_lengths.insert(output.as_str(), (end - start).max(0));
        }
    }
    let context = Context { declared, ranks, constants, fixed_dims, shape_lengths, opset };
    for node in &graph.node {
        check_node(node, &context).map_err(|message| {
            let name = if node.name.is_empty() { node.output.first().map_or("", |o| o.as_str()) } else { &node.name };
            Error::Unsupported(format!("node `{name}` ({}): {message}", node.op_type))
        })?;
    }
    Ok(())
}

/// A declared input, output or intermediate value: a tensor of a known element type whose fixed
/// dimensions are non-negative and within the limits. Returns its rank, when the shape is given.
fn check_declared(value: &pb::ValueInfoProto) -> Result<Option<usize>> {
    let Some(type_value) = value.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(None);
    };
    // The only kind tract's protobuf types know: sequences, maps and optionals do not even decode.
    let TypeValue::TensorType(tensor) = type_value;
    element_size(tensor.elem_type).ok_or_else(|| {
        Error::Unsupported(format!("`{}` has an unsupported element type {}", value.name, tensor.elem_type))
    })?;
    let Some(shape) = tensor.shape.as_ref() else { return Ok(None) };
    let fixed: Vec<i64> =
        shape.dim.iter().filter_map(|d| if let Some(Dim::DimValue(v)) = d.value { Some(v) } else { None }).collect();
    if shape.dim.len() > MAX_RANK || element_count(&fixed).is_none() {
        return Err(Error::Unsupported(format!(
            "`{}` is declared with dimensions {:?}; each must be at least 0, with at most {MAX_RANK} of them \
             and {MAX_TENSOR_ELEMENTS} elements in all",
            value.name, fixed
        )));
    }
    Ok(Some(shape.dim.len()))
}

/// Bytes of one element of an ONNX data type that tract reads; `None` for the others.
fn element_size(data_type: i32) -> Option<usize> {
    match data_type {
        2 | 3 | 9 => Some(1),       // uint8, int8, bool
        4 | 5 | 10 | 16 => Some(2), // uint16, int16, float16, bfloat16
        1 | 6 | 12 => Some(4),      // float, int32, uint32
        7 | 11 | 13 => Some(8),     // int64, double, uint64
        _ => None,
    }
}

/// A tensor held in the file: one file (no external data), a supported type, dimensions within the
/// limits, and exactly as much data as its dimensions say.
fn check_tensor(tensor: &pb::TensorProto, what: &str) -> Result<()> {
    if tensor.data_location == Some(1) || !tensor.external_data.is_empty() {
        return Err(Error::Unsupported(format!("{what} keeps its data in another file; the model must be one file")));
    }
    if tensor.segment.is_some() {
        return Err(Error::Unsupported(format!("{what} is a segment of a tensor, which is not supported")));
    }
    let size = element_size(tensor.data_type)
        .ok_or_else(|| Error::Unsupported(format!("{what} has an unsupported data type {}", tensor.data_type)))?;
    let count = element_count(&tensor.dims).ok_or_else(|| {
        Error::Unsupported(format!(
            "{what} has dimensions {:?}; each must be at least 0, with at most {MAX_RANK} of them and \
             {MAX_TENSOR_ELEMENTS} elements in all",
            tensor.dims
        ))
    })?;
    let stored = if !tensor.raw_data.is_empty() {
        (tensor.raw_data.len() / size, tensor.raw_data.len() % size == 0)
    } else {
        let n = match tensor.data_type {
            1 => tensor.float_data.len(),
            7 => tensor.int64_data.len(),
            11 => tensor.double_data.len(),
            12 | 13 => tensor.uint64_data.len(),
            _ => tensor.int32_data.len(),
        };
        (n, true)
    };
    if !stored.1 || stored.0 as u64 != count {
        return Err(Error::Unsupported(format!(
            "{what} has dimensions {:?} ({count} values) but holds {} bytes of data",
            tensor.dims,
            tensor.raw_data.len().max(stored.0 * size)
        )));
    }
    Ok(())
}

/// The values of a small constant integer (or float, which tract casts) tensor.
fn constant_values(tensor: &pb::TensorProto) -> Option<Vec<i64>> {
    let raw = &tensor.raw_data;
    let from_raw = |size: usize, f: &dyn Fn(&[u8]) -> i64| -> Vec<i64> { raw.chunks_exact(size).map(f).collect() };
    Some(match (tensor.data_type, raw.is_empty()) {
        (7, true) => tensor.int64_data.clone(),
        (7, false) => from_raw(8, &|b| i64::from_le_bytes(b.try_into().unwrap_or_default())),
        (6, true) => tensor.int32_data.iter().map(|&v| v as i64).collect(),
        (6, false) => from_raw(4, &|b| i32::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        (1, true) => tensor.float_data.iter().map(|&v| v as i64).collect(),
        (1, false) => from_raw(4, &|b| f32::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        (11, true) => tensor.double_data.iter().map(|&v| v as i64).collect(),
        (11, false) => from_raw(8, &|b| f64::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        (12 | 13, true) => tensor.uint64_data.iter().map(|&v| v as i64).collect(),
        (13, false) => from_raw(8, &|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        (2 | 3 | 4 | 5 | 9, true) => tensor.int32_data.iter().map(|&v| v as i64).collect(),
        (2 | 9, false) => raw.iter().map(|&b| b as i64).collect(),
        (3, false) => raw.iter().map(|&b| b as i8 as i64).collect(),
        _ => return None,
    })
}

/// Rank of every value whose rank follows from the declarations and the operator table.
fn infer_ranks(graph: &pb::GraphProto, constants: &HashMap<&str, &pb::TensorProto>) -> HashMap<String, usize> {
    let mut ranks: HashMap<String, usize> = HashMap::new();
    for input in &graph.input {
        if let Some(TypeValue::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref())
            && let Some(shape) = &t.shape
        {
            ranks.insert(input.name.clone(), shape.dim.len());
        }
    }
    for tensor in &graph.initializer {
        ranks.insert(tensor.name.clone(), tensor.dims.len());
    }
    for node in &graph.node {
        let rank = |i: usize| node.input.get(i).and_then(|name| ranks.get(name)).copied();
        let op = node.op_type.as_str();
        let out = if SAME_RANK_OPS.contains(&op) || op == "Transpose" {
            rank(0)
        } else if BROADCAST_OPS.contains(&op) {
            let known: Option<Vec<usize>> = (0..node.input.len()).map(rank).collect();
            known.and_then(|r| r.into_iter().max())
        } else {
            match op {
                "Constant" => node.attribute.iter().find_map(|a| match a.name.as_str() {
                    "value" => a.t.as_ref().map(|t| t.dims.len()),
                    "value_int" | "value_float" | "value_string" => Some(0),
                    "value_ints" | "value_floats" | "value_strings" => Some(1),
                    _ => None,
                }),
                "Flatten" | "Gemm" => Some(2),
                "Shape" | "Size" => Some(if op == "Shape" { 1 } else { 0 }),
                "OneHot" => rank(0).map(|r| r + 1),
                "Reshape" => node
                    .input
                    .get(1)
                    .and_then(|s| constants.get(s.as_str()))
                    .map(|t| t.dims.iter().product::<i64>() as usize),
                _ if REDUCE_OPS.contains(&op) => rank(0).and_then(|r| {
                    if int_attr(node, "keepdims").unwrap_or(1) != 0 {
                        return Some(r);
                    }
                    let axes = reduce_axes(node, constants).ok()?;
                    match axes {
                        Some(axes) if !axes.is_empty() => r.checked_sub(axes.len()),
                        _ if int_attr(node, "noop_with_empty_axes").unwrap_or(0) != 0 => Some(r),
                        _ => Some(0),
                    }
                }),
                "Expand" => rank(0)
                    .zip(
                        node.input
                            .get(1)
                            .and_then(|s| constants.get(s.as_str()))
                            .map(|t| t.dims.iter().product::<i64>() as usize),
                    )
                    .map(|(a, b)| a.max(b)),
                "Concat" | "Pad" | "Slice" | "Resize" | "Split" | "Tile" | "Upsample" => rank(0),
                "Gather" => rank(0).zip(rank(1)).and_then(|(data, indices)| (data + indices).checked_sub(1)),
                "MatMul" => match (rank(0), rank(1)) {
                    (Some(1), Some(1)) => Some(0),
                    (Some(1), Some(b)) => b.checked_sub(1),
                    (Some(a), Some(1)) => a.checked_sub(1),
                    (Some(a), Some(b)) if a >= 2 && b >= 2 => Some(a.max(b)),
                    _ => None,
                },
                "Squeeze" | "Unsqueeze" => rank(0).and_then(|r| {
                    let axes = match ints_attr(node, "axes") {
                        Some(axes) => axes.len(),
                        None => constant_values(constants.get(node.input.get(1)?.as_str())?)?.len(),
                    };
                    if op == "Squeeze" { r.checked_sub(axes) } else { r.checked_add(axes) }
                }),
                "ArgMax" | "ArgMin" => rank(0).and_then(|r| {
                    if int_attr(node, "keepdims").unwrap_or(1) != 0 { Some(r) } else { r.checked_sub(1) }
                }),
                _ => None,
            }
        };
        if let (Some(out), Some(name)) = (out, node.output.first()) {
            ranks.insert(name.clone(), out);
        }
    }
    ranks
}

struct Context<'g> {
    declared: HashMap<&'g str, usize>,
    ranks: HashMap<String, usize>,
    constants: HashMap<&'g str, &'g pb::TensorProto>,
    fixed_dims: HashMap<&'g str, &'g [i64]>,
    /// Lengths of `Shape` outputs whose input's rank is known.
    shape_lengths: HashMap<&'g str, i64>,
    opset: i64,
}

impl Context<'_> {
    /// Every rank known for a value: worked out, and declared. tract may use either.
    fn ranks_of(&self, name: &str) -> Vec<usize> {
        let mut ranks: Vec<usize> = self.ranks.get(name).into_iter().chain(self.declared.get(name)).copied().collect();
        ranks.dedup();
        ranks
    }
}

fn int_attr(node: &pb::NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn ints_attr<'n>(node: &'n pb::NodeProto, name: &str) -> Option<&'n [i64]> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.ints.as_slice())
}

/// A Reduce's axes: the attribute, or the constant second input. `Err` when the second input is
/// there but not a constant this check can read.
fn reduce_axes(
    node: &pb::NodeProto,
    constants: &HashMap<&str, &pb::TensorProto>,
) -> std::result::Result<Option<Vec<i64>>, String> {
    if let Some(axes) = ints_attr(node, "axes") {
        return Ok(Some(axes.to_vec()));
    }
    match node.input.get(1).filter(|name| !name.is_empty()) {
        None => Ok(None),
        Some(name) => constants
            .get(name.as_str())
            .and_then(|t| constant_values(t))
            .map(Some)
            .ok_or_else(|| format!("its axes `{name}` must be a constant integer tensor")),
    }
}

/// `axis` must index a tensor of one of `ranks` (from −rank to rank − 1, or to rank when `end_ok`).
/// With no rank known, a `strict` check refuses the model (tract would find the rank and panic on a
/// wrong axis); otherwise the axis only has to be within `MAX_RANK`.
fn check_axis(axis: i64, ranks: &[usize], end_ok: bool, strict: bool, what: &str) -> std::result::Result<(), String> {
    if ranks.is_empty() && strict {
        return Err(format!("the rank of its input cannot be worked out, so its {what} cannot be checked"));
    }
    if ranks.is_empty() && axis.unsigned_abs() > MAX_RANK as u64 {
        return Err(format!("{what} {axis} is beyond the largest rank, {MAX_RANK}"));
    }
    for &rank in ranks {
        let rank = rank as i64;
        let top = if end_ok { rank } else { rank - 1 };
        if axis < -rank || axis > top {
            return Err(format!("{what} {axis} is out of range for an input of rank {rank}"));
        }
    }
    Ok(())
}

/// Attributes whose type tract trusts: it reads the field the name implies, whatever the type says.
fn expected_attribute_type(name: &str) -> Option<i32> {
    match name {
        "axes" | "pads" | "strides" | "kernel_shape" | "dilations" | "perm" | "output_padding" | "output_shape" => {
            Some(ATTR_INTS)
        }
        "axis"
        | "group"
        | "keepdims"
        | "to"
        | "transA"
        | "transB"
        | "noop_with_empty_axes"
        | "ceil_mode"
        | "count_include_pad"
        | "storage_order"
        | "select_last_index" => Some(ATTR_INT),
        "alpha" | "beta" | "epsilon" | "momentum" => Some(ATTR_FLOAT),
        _ => None,
    }
}

fn check_node(node: &pb::NodeProto, cx: &Context) -> std::result::Result<(), String> {
    for attribute in &node.attribute {
        if let Some(expected) = expected_attribute_type(&attribute.name)
            && attribute.r#type != expected
        {
            return Err(format!("attribute `{}` has type {}, expected {expected}", attribute.name, attribute.r#type));
        }
    }
    let op = node.op_type.as_str();
    // tract drops empty input names (absent optional inputs), and many of its operators index the
    // inputs they require without counting them first.
    if !OPTIONAL_INPUT_OPS.contains(&op)
        && let Some(slot) = node.input.iter().position(|name| name.is_empty())
    {
        return Err(format!("its input {slot} has no name, and this operator has no optional inputs"));
    }
    let given = node.input.iter().filter(|name| !name.is_empty()).count();
    let needed = required_inputs(op, cx.opset);
    if given < needed {
        return Err(format!("it has {given} inputs; it needs at least {needed}"));
    }
    // Extra inputs are no better: a Transpose with nothing to move returns its inputs as its
    // outputs, two for one (tract-hir `ops/expandable.rs:138`, index out of bounds).
    if let Some(most) = most_inputs(op)
        && given > most
    {
        return Err(format!("it has {given} inputs; it takes at most {most}"));
    }
    let input_ranks = |i: usize| node.input.get(i).map(|name| cx.ranks_of(name)).unwrap_or_default();

    if WINDOW_OPS.contains(&op) || op.starts_with("Global") {
        // [N, C, spatial…]: tract-core `ops/nn/data_formats.rs:119` subtracts from the rank unchecked.
        let with_weight = matches!(op, "Conv" | "ConvTranspose" | "ConvInteger");
        for slot in 0..1 + with_weight as usize {
            if let Some(rank) = input_ranks(slot).into_iter().find(|&r| r < 3) {
                return Err(format!("its input {slot} has rank {rank}; it needs [N, C, …] with a spatial axis"));
            }
        }
        if with_weight
            && let (Some(&data), Some(&weight)) = (input_ranks(0).first(), input_ranks(1).first())
            && data != weight
        {
            return Err(format!("its input has rank {data} but its weight rank {weight}"));
        }
    }
    if WINDOW_OPS.contains(&op) {
        let weight_slot = if op == "QLinearConv" { 3 } else { 1 };
        let weight = node.input.get(weight_slot).and_then(|name| cx.fixed_dims.get(name.as_str()));
        check_window(node, weight.copied())?;
    }
    // tract evaluates a Gather of constants while it reads the graph (shape arithmetic: a Gather
    // of a Shape) and indexes without a bounds check (tract-core `ops/array/gather.rs:75`).
    if op == "Gather"
        && let Some(indices) =
            node.input.get(1).and_then(|i| cx.constants.get(i.as_str())).and_then(|t| constant_values(t))
    {
        let data = node.input[0].as_str();
        let axis = int_attr(node, "axis").unwrap_or(0);
        let size = match (cx.shape_lengths.get(data), cx.fixed_dims.get(data)) {
            (Some(&len), _) if axis == 0 || axis == -1 => Some(len),
            (_, Some(dims)) => usize::try_from(if axis < 0 { axis + dims.len() as i64 } else { axis })
                .ok()
                .and_then(|a| dims.get(a).copied()),
            _ => None,
        };
        if let Some(size) = size
            && let Some(bad) = indices.iter().find(|&&i| i < -size || i >= size)
        {
            return Err(format!("index {bad} is out of range for an axis of size {size}"));
        }
    }
    if REDUCE_OPS.contains(&op) {
        if let Some(axes) = reduce_axes(node, &cx.constants)? {
            let ranks = input_ranks(0);
            for axis in axes {
                check_axis(axis, &ranks, false, true, "axis")?;
            }
        }
    }
    match op {
        "Pad" => {
            let pads = match ints_attr(node, "pads") {
                Some(pads) => Some(pads.to_vec()),
                None => {
                    node.input.get(1).and_then(|name| cx.constants.get(name.as_str())).and_then(|t| constant_values(t))
                }
            };
            if let Some(pads) = pads {
                if let Some(p) = pads.iter().find(|&&p| p < 0) {
                    return Err(format!("negative pads such as {p} (cropping) are not supported"));
                }
                if let Some(p) = pads.iter().find(|&&p| p > MAX_WINDOW) {
                    return Err(format!("a pad of {p} is more than {MAX_WINDOW}"));
                }
                if pads.len() % 2 != 0 {
                    return Err(format!("it has {} pads, an odd number", pads.len()));
                }
                // From opset 18 a fourth input may name the axes the pads are for (tract-onnx
                // `ops/array/pad.rs` indexes with them unchecked).
                let axes = node.input.get(3).filter(|name| !name.is_empty());
                let ranks = input_ranks(0);
                let padded_axes = match axes {
                    None => ranks.clone(),
                    Some(name) => {
                        let axes = cx
                            .constants
                            .get(name.as_str())
                            .and_then(|t| constant_values(t))
                            .ok_or(format!("its axes `{name}` must be a constant integer tensor"))?;
                        for &axis in &axes {
                            check_axis(axis, &ranks, false, true, "axis")?;
                        }
                        vec![axes.len()]
                    }
                };
                for count in padded_axes {
                    if pads.len() != 2 * count {
                        return Err(format!("it has {} pads for {count} axes", pads.len()));
                    }
                }
            }
        }
        // The axis, given or default, indexes the input (tract-hir `ops/nn/layer_max.rs` makes it
        // a usize unchecked; a scalar input then overflows in tract-core `ops/change_axes.rs:150`).
        "Softmax" | "LogSoftmax" | "Hardmax" => {
            let axis = int_attr(node, "axis").unwrap_or(if cx.opset >= 13 { -1 } else { 1 });
            check_axis(axis, &input_ranks(0), false, true, "axis")?;
        }
        // The axis, given or (but for Concat) default, indexes the input.
        "Concat" | "Gather" | "GatherElements" | "Split" | "ArgMax" | "ArgMin" => {
            let default = if op == "Concat" { None } else { Some(0) };
            if let Some(axis) = int_attr(node, "axis").or(default) {
                check_axis(axis, &input_ranks(0), false, false, "axis")?;
            }
        }
        // Axes out of range or repeated make tract-hir `ops/array/squeeze.rs:20` remove past the end.
        "Squeeze" | "Unsqueeze" => {
            if let Some(axes) = reduce_axes(node, &cx.constants)? {
                let ranks: Vec<usize> = if op == "Squeeze" {
                    input_ranks(0)
                } else {
                    input_ranks(0).iter().map(|r| r + axes.len()).collect()
                };
                for &axis in &axes {
                    check_axis(axis, &ranks, false, true, "axis")?;
                }
                for rank in ranks {
                    let mut resolved: Vec<i64> =
                        axes.iter().map(|&a| if a < 0 { a + rank as i64 } else { a }).collect();
                    resolved.sort_unstable();
                    if resolved.windows(2).any(|w| w[0] == w[1]) {
                        return Err(format!("its axes {axes:?} name an axis twice"));
                    }
                }
            }
        }
        // tract-hir `ops/matmul.rs:99` inserts into the shape of a scalar operand at index 1.
        "MatMul" | "MatMulInteger" => {
            for i in 0..2 {
                if input_ranks(i).contains(&0) {
                    return Err(format!("its input {i} is a scalar; MatMul needs tensors of rank 1 or more"));
                }
            }
        }
        // Default axis 1; on a scalar, tract-hir `ops/array/flatten.rs:15` slices out of range.
        "Flatten" => {
            let axis = int_attr(node, "axis").unwrap_or(1);
            check_axis(axis, &input_ranks(0), true, true, "axis")?;
        }
        "OneHot" => {
            if let Some(axis) = int_attr(node, "axis") {
                let ranks: Vec<usize> = input_ranks(0).iter().map(|r| r + 1).collect();
                check_axis(axis, &ranks, false, false, "axis")?;
            }
        }
        "Transpose" => {
            if let Some(perm) = ints_attr(node, "perm") {
                let mut seen = vec![false; perm.len()];
                for &p in perm {
                    let slot = usize::try_from(p)
                        .ok()
                        .and_then(|p| seen.get_mut(p))
                        .ok_or(format!("perm {perm:?} is not a permutation"))?;
                    if std::mem::replace(slot, true) {
                        return Err(format!("perm {perm:?} is not a permutation"));
                    }
                }
                for rank in input_ranks(0) {
                    if perm.len() != rank {
                        return Err(format!("perm {perm:?} does not fit an input of rank {rank}"));
                    }
                }
            }
        }
        "Reshape" | "Expand" | "Tile" | "ConstantOfShape" => {
            let shape = node.input.get(if op == "ConstantOfShape" { 0 } else { 1 });
            if let Some(values) =
                shape.and_then(|name| cx.constants.get(name.as_str())).and_then(|t| constant_values(t))
            {
                let sizes: Vec<i64> = values.iter().map(|&v| if op == "Reshape" && v <= 0 { 1 } else { v }).collect();
                if values.iter().any(|&v| v < if op == "Reshape" { -1 } else { 0 }) || element_count(&sizes).is_none() {
                    return Err(format!(
                        "its shape {values:?} is negative or larger than {MAX_TENSOR_ELEMENTS} elements"
                    ));
                }
                if op == "Reshape" && values.iter().filter(|&&v| v == -1).count() > 1 {
                    return Err(format!("its shape {values:?} has more than one −1"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Inputs an operator cannot do without, from the ONNX operator specifications.
fn required_inputs(op: &str, opset: i64) -> usize {
    match op {
        "Constant" | "RandomNormal" | "RandomUniform" => 0,
        "Sum" | "Max" | "Min" | "Mean" | "Concat" => 1,
        "Where" | "OneHot" | "Range" | "InstanceNormalization" => 3,
        "BatchNormalization" => 5,
        "Slice" if opset >= 10 => 3,
        "Pad" if opset >= 11 => 2,
        "Unsqueeze" if opset >= 13 => 2,
        "Conv" | "ConvTranspose" | "ConvInteger" | "Gemm" | "MatMul" | "MatMulInteger" | "Reshape" | "Expand"
        | "Tile" | "Gather" | "GatherElements" | "GatherND" | "PRelu" | "ScatterElements" | "ScatterND" => 2,
        _ if BROADCAST_OPS.contains(&op) => 2,
        _ => 1,
    }
}

/// Inputs an operator can take, from the ONNX operator specifications (all opsets); `None` for the
/// variadic ones and those not listed.
fn most_inputs(op: &str) -> Option<usize> {
    Some(match op {
        "Sum" | "Max" | "Min" | "Mean" | "Concat" => return None,
        "Where"
        | "OneHot"
        | "Conv"
        | "ConvTranspose"
        | "Gemm"
        | "Clip"
        | "Dropout"
        | "InstanceNormalization"
        | "LayerNormalization"
        | "DequantizeLinear"
        | "QuantizeLinear"
        | "Range"
        | "Tile" => 3,
        "Pad" | "Resize" | "ConvInteger" | "MatMulInteger" => 4,
        "Slice" | "BatchNormalization" => 5,
        "MatMul" | "Reshape" | "Expand" | "Gather" | "GatherElements" | "GatherND" | "PRelu" | "Squeeze"
        | "Unsqueeze" | "Split" | "CumSum" | "Upsample" => 2,
        "Constant" => 0,
        _ if REDUCE_OPS.contains(&op) => 2,
        _ if BROADCAST_OPS.contains(&op) => 2,
        _ if SAME_RANK_OPS.contains(&op) => 1,
        "Transpose" | "Flatten" | "Shape" | "Size" | "Hardmax" | "ArgMax" | "ArgMin" | "Not" | "IsNaN" | "IsInf" => 1,
        _ => return None,
    })
}

/// Kernel, strides, dilations, pads and groups of a sliding-window operator.
fn check_window(node: &pb::NodeProto, weight: Option<&[i64]>) -> std::result::Result<(), String> {
    let ranged = |name: &str, low: i64, high: i64| -> std::result::Result<Option<usize>, String> {
        match ints_attr(node, name) {
            None => Ok(None),
            Some(values) => match values.iter().find(|&&v| v < low || v > high) {
                Some(v) => Err(format!("{name} {values:?}: {v} is outside {low} to {high}")),
                None => Ok(Some(values.len())),
            },
        }
    };
    let kernel = ranged("kernel_shape", 1, MAX_WINDOW)?;
    let strides = ranged("strides", 1, MAX_WINDOW)?;
    let dilations = ranged("dilations", 1, MAX_WINDOW)?;
    let output_padding = ranged("output_padding", 0, MAX_WINDOW)?;
    let pads = ranged("pads", 0, MAX_WINDOW)?;
    ranged("output_shape", 1, MAX_TENSOR_ELEMENTS as i64)?;
    if let Some(group) = int_attr(node, "group")
        && !(1..=MAX_GROUPS).contains(&group)
    {
        return Err(format!("group {group} is outside 1 to {MAX_GROUPS}"));
    }
    // The kernel tract uses is the weight's, when the weight is a constant (pools have none).
    let weight_kernel = match weight {
        Some(dims) if node.op_type.contains("Conv") => {
            if dims.len() < 3 {
                return Err(format!("its weight has {} dimensions; a convolution weight needs at least 3", dims.len()));
            }
            if let Some(d) = dims.iter().find(|&&d| !(1..=MAX_TENSOR_ELEMENTS as i64).contains(&d)) {
                return Err(format!("its weight has a dimension of {d}"));
            }
            let spatial = &dims[2..];
            if let Some(k) = spatial.iter().find(|&&k| k > MAX_WINDOW) {
                return Err(format!("its kernel side {k} is more than {MAX_WINDOW}"));
            }
            if let Some(shape) = ints_attr(node, "kernel_shape").filter(|shape| *shape != spatial) {
                return Err(format!("kernel_shape {shape:?} differs from its weight's {spatial:?}"));
            }
            Some(spatial.to_vec())
        }
        _ => None,
    };
    let spatial = weight_kernel
        .as_ref()
        .map(|k| k.len())
        .or(kernel)
        .or(strides)
        .or(dilations)
        .or(output_padding)
        .or(pads.map(|p| p / 2));
    if let Some(spatial) = spatial {
        if spatial == 0 || spatial + 2 > MAX_RANK {
            return Err(format!("a {spatial}-dimensional window is not supported"));
        }
        for (name, len, want) in [
            ("kernel_shape", kernel, spatial),
            ("strides", strides, spatial),
            ("dilations", dilations, spatial),
            ("output_padding", output_padding, spatial),
            ("pads", pads, 2 * spatial),
        ] {
            if let Some(len) = len.filter(|&len| len != want) {
                return Err(format!("{name} has {len} values where {want} are needed"));
            }
        }
    }
    // A transposed convolution's output side is `(in − 1)·stride + field − pad_begin − pad_end +
    // output_padding`, which tract works out in unsigned arithmetic (tract-core
    // `ops/cnn/padding.rs:276`, and :316 for auto_pad SAME): pads beyond the kernel's field, or a
    // stride beyond it, underflow.
    if node.op_type == "ConvTranspose" {
        let kernel = weight_kernel.or_else(|| ints_attr(node, "kernel_shape").map(|k| k.to_vec()));
        let Some(kernel) = kernel else {
            return Err("its kernel size cannot be worked out (no constant weight, no kernel_shape)".into());
        };
        let at = |values: Option<&[i64]>, axis: usize, default: i64| {
            values.and_then(|v| v.get(axis)).copied().unwrap_or(default)
        };
        let auto_pad =
            node.attribute.iter().find(|a| a.name == "auto_pad").map(|a| a.s.as_slice()).unwrap_or(b"NOTSET");
        for (axis, &k) in kernel.iter().enumerate() {
            // All within MAX_WINDOW (checked above), so no product here overflows.
            let field = (k - 1) * at(ints_attr(node, "dilations"), axis, 1) + 1;
            let adjustment = at(ints_attr(node, "output_padding"), axis, 0);
            let pads = ints_attr(node, "pads");
            let (begin, end) = (at(pads, axis, 0), at(pads, kernel.len() + axis, 0));
            if begin + end > field {
                return Err(format!("pads {begin} + {end} on axis {axis} are more than the kernel's field, {field}"));
            }
            if auto_pad.starts_with(b"SAME") && at(ints_attr(node, "strides"), axis, 1) > field + adjustment {
                return Err(format!("with auto_pad SAME, the stride on axis {axis} is more than the kernel's field"));
            }
        }
    }
    Ok(())
}
