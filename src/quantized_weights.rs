//! Weights stored as int8 with a `DequantizeLinear` in the graph (how EfficientNet-Lite0 travels:
//! 5 MB instead of 19 MB) are turned back into float32 initializers here, before tract reads the
//! graph. tract would fold them too, but its type analysis of the per-channel form (a Cast, a Sub
//! and a Mul per weight, evaluated through generic broadcasting) took 1.3 s of a 1.7 s native load
//! of that model; this loop takes milliseconds. The arithmetic is the same as tract's, in the same
//! order and precision: `(x as f32 − zero_point as f32) · scale`, so the model is unchanged.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{self, tensor_proto::DataType};

/// Replaces every `DequantizeLinear` node whose inputs are all initializers by a float32
/// initializer holding its output. Nodes in forms this does not know (other types, a scale that
/// is not per-tensor or per-axis, data in an unexpected field) are left for tract. → how many
/// nodes were folded.
pub fn fold_constant_dequantize(graph: &mut pb::GraphProto) -> usize {
    let graph_inputs: HashSet<&str> = graph.input.iter().map(|v| v.name.as_str()).collect();
    let graph_outputs: HashSet<&str> = graph.output.iter().map(|v| v.name.as_str()).collect();
    let initializers: HashMap<&str, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let constant = |name: &str| (!graph_inputs.contains(name)).then(|| initializers.get(name)).flatten().copied();

    let mut folded = Vec::new(); // (node index, new initializer)
    for (index, node) in graph.node.iter().enumerate() {
        if node.op_type != "DequantizeLinear" || !(node.domain.is_empty() || node.domain == "ai.onnx") {
            continue;
        }
        let [output] = node.output.as_slice() else { continue };
        if graph_outputs.contains(output.as_str()) || !(2..=3).contains(&node.input.len()) {
            continue;
        }
        let Some(inputs) = node.input.iter().map(|name| constant(name)).collect::<Option<Vec<usize>>>() else {
            continue;
        };
        let axis = node.attribute.iter().find(|a| a.name == "axis").map_or(1, |a| a.i);
        let tensors: Vec<&pb::TensorProto> = inputs.iter().map(|&i| &graph.initializer[i]).collect();
        if let Some(values) = dequantize(tensors[0], tensors[1], tensors.get(2).copied(), axis) {
            let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let tensor = pb::TensorProto {
                name: output.clone(),
                dims: tensors[0].dims.clone(),
                data_type: DataType::Float as i32,
                raw_data,
                ..Default::default()
            };
            folded.push((index, tensor));
        }
    }
    if folded.is_empty() {
        return 0;
    }

    let removed: HashSet<usize> = folded.iter().map(|(index, _)| *index).collect();
    let count = folded.len();
    let inputs_of_folded: HashSet<String> =
        graph.node.iter().enumerate().filter(|(i, _)| removed.contains(i)).flat_map(|(_, n)| n.input.clone()).collect();
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        !removed.contains(&(index - 1))
    });
    graph.initializer.extend(folded.into_iter().map(|(_, tensor)| tensor));
    // The int8 weights, scales and zero points that nothing reads any more would only take memory.
    let still_read: HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .chain(graph.input.iter().chain(&graph.output).map(|v| v.name.as_str()))
        .collect();
    let unread: HashSet<String> =
        inputs_of_folded.into_iter().filter(|name| !still_read.contains(name.as_str())).collect();
    graph.initializer.retain(|t| !unread.contains(&t.name));
    count
}

/// `(x − zero_point) · scale` per tensor or per `axis`, or None for a form left to tract.
fn dequantize(
    x: &pb::TensorProto,
    scale: &pb::TensorProto,
    zero_point: Option<&pb::TensorProto>,
    axis: i64,
) -> Option<Vec<f32>> {
    let rank = x.dims.len() as i64;
    let shape: Vec<usize> = x.dims.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>()?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    let x = integers(x, count)?;
    let scales = floats(scale)?;
    let zero_points = match zero_point {
        Some(z) => integers(z, element_count(z)?)?,
        None => vec![0; scales.len()],
    };
    if zero_points.len() != scales.len() || scales.is_empty() {
        return None;
    }
    // Per tensor: one scale. Per axis: one scale per index along `axis`, whose stride is `inner`.
    let (channels, inner) = if scales.len() == 1 {
        (1, count.max(1))
    } else {
        let axis = usize::try_from(if axis < 0 { axis + rank } else { axis }).ok().filter(|&a| a < shape.len())?;
        if shape[axis] != scales.len() {
            return None;
        }
        (shape[axis], shape[axis + 1..].iter().product::<usize>().max(1))
    };
    Some(
        x.iter()
            .enumerate()
            .map(|(i, &q)| {
                let c = (i / inner) % channels;
                (q as f32 - zero_points[c] as f32) * scales[c]
            })
            .collect(),
    )
}

fn element_count(t: &pb::TensorProto) -> Option<usize> {
    t.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
}

/// The values of an int8 or uint8 tensor, from `raw_data` or `int32_data`.
fn integers(t: &pb::TensorProto, count: usize) -> Option<Vec<i32>> {
    let signed = match DataType::try_from(t.data_type).ok()? {
        DataType::Int8 => true,
        DataType::Uint8 => false,
        _ => return None,
    };
    if !t.raw_data.is_empty() {
        (t.raw_data.len() == count)
            .then(|| t.raw_data.iter().map(|&b| if signed { b as i8 as i32 } else { b as i32 }).collect())
    } else {
        (t.int32_data.len() == count).then(|| t.int32_data.clone())
    }
}

/// The values of a float32 tensor, from `raw_data` or `float_data`.
fn floats(t: &pb::TensorProto) -> Option<Vec<f32>> {
    if t.data_type != DataType::Float as i32 {
        return None;
    }
    let count = element_count(t)?;
    if !t.raw_data.is_empty() {
        (t.raw_data.len() == count.checked_mul(4)?)
            .then(|| t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    } else {
        (t.float_data.len() == count).then(|| t.float_data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[i64], data_type: DataType, raw_data: Vec<u8>) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: data_type as i32,
            raw_data,
            ..Default::default()
        }
    }

    fn graph_with(node_inputs: &[&str], axis: Option<i64>, initializers: Vec<pb::TensorProto>) -> pb::GraphProto {
        let node = pb::NodeProto {
            op_type: "DequantizeLinear".into(),
            input: node_inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["w".into()],
            attribute: axis
                .map(|i| pb::AttributeProto { name: "axis".into(), i, r#type: 2, ..Default::default() })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let reader = pb::NodeProto {
            op_type: "Identity".into(),
            input: vec!["w".into()],
            output: vec!["y".into()],
            ..Default::default()
        };
        pb::GraphProto { node: vec![node, reader], initializer: initializers, ..Default::default() }
    }

    fn folded_values(graph: &pb::GraphProto) -> Vec<f32> {
        let w = graph.initializer.iter().find(|t| t.name == "w").expect("w is an initializer now");
        floats(w).unwrap()
    }

    #[test]
    fn per_axis_int8_with_zero_points_follows_the_onnx_formula() {
        // x: [2, 3] int8, axis 0: row r uses scale[r] and zero_point[r].
        let x = [-128i8, 0, 127, 5, -5, 1].iter().map(|&v| v as u8).collect();
        let scale = [0.5f32, 0.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let zp = [1i8 as u8, (-2i8) as u8].to_vec();
        let mut graph = graph_with(
            &["x", "s", "z"],
            Some(0),
            vec![
                tensor("x", &[2, 3], DataType::Int8, x),
                tensor("s", &[2], DataType::Float, scale),
                tensor("z", &[2], DataType::Int8, zp),
            ],
        );
        assert_eq!(fold_constant_dequantize(&mut graph), 1);
        assert_eq!(folded_values(&graph), [(-129.0) * 0.5, -0.5, 63.0, 7.0 * 0.25, -3.0 * 0.25, 0.75]);
        assert_eq!(graph.node.len(), 1, "the DequantizeLinear node is gone");
        assert_eq!(graph.initializer.len(), 1, "the int8 weight, scale and zero point are dropped");
    }

    #[test]
    fn per_tensor_uint8_along_the_default_axis() {
        let mut graph = graph_with(
            &["x", "s"],
            None,
            vec![
                tensor("x", &[3], DataType::Uint8, vec![0, 128, 255]),
                tensor("s", &[], DataType::Float, 2f32.to_le_bytes().to_vec()),
            ],
        );
        assert_eq!(fold_constant_dequantize(&mut graph), 1);
        assert_eq!(folded_values(&graph), [0.0, 256.0, 510.0]);
    }

    #[test]
    fn forms_it_does_not_know_are_left_for_tract() {
        // A scale count that matches no axis, and a weight that is a graph input.
        let mut graph = graph_with(
            &["x", "s"],
            Some(1),
            vec![tensor("x", &[2, 3], DataType::Int8, vec![0; 6]), tensor("s", &[2], DataType::Float, vec![0; 8])],
        );
        assert_eq!(fold_constant_dequantize(&mut graph), 0);
        assert_eq!(graph.node.len(), 2);
        let mut graph = graph_with(&["x", "s"], None, vec![tensor("s", &[], DataType::Float, vec![0; 4])]);
        graph.input.push(pb::ValueInfoProto { name: "x".into(), ..Default::default() });
        assert_eq!(fold_constant_dequantize(&mut graph), 0);
    }
}
