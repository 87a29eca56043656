//! Reading and writing the pieces of an ONNX graph with tract-onnx's own protobuf types: attributes,
//! constant tensors, declared values.

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension::Value as Dim};
use tract_onnx::pb::type_proto::{Tensor as TensorType, Value as TypeValue};

/// ONNX `AttributeProto.AttributeType` codes.
const ATTR_FLOAT: i32 = 1;
const ATTR_INT: i32 = 2;
const ATTR_STRING: i32 = 3;
const ATTR_FLOATS: i32 = 6;
const ATTR_INTS: i32 = 7;

/// ONNX `TensorProto.DataType` codes.
pub const FLOAT: i32 = 1;
pub const INT64: i32 = 7;

pub fn attr<'n>(node: &'n pb::NodeProto, name: &str) -> Option<&'n pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub fn attr_int(node: &pb::NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

pub fn attr_float(node: &pb::NodeProto, name: &str) -> Option<f32> {
    attr(node, name).map(|a| a.f)
}

pub fn attr_ints(node: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

pub fn attr_str(node: &pb::NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

pub fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: ATTR_INT, i: value, ..Default::default() }
}

pub fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: ATTR_FLOAT, f: value, ..Default::default() }
}

pub fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: ATTR_INTS, ints: values.to_vec(), ..Default::default() }
}

pub fn floats(name: &str, values: &[f32]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: ATTR_FLOATS, floats: values.to_vec(), ..Default::default() }
}

pub fn string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: ATTR_STRING, s: value.as_bytes().to_vec(), ..Default::default() }
}

/// A tensor stored as little-endian raw bytes.
pub fn tensor(name: &str, data_type: i32, dims: &[usize], raw: Vec<u8>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type,
        dims: dims.iter().map(|&d| d as i64).collect(),
        raw_data: raw,
        ..Default::default()
    }
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn i64_bytes(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A declared tensor value with a fixed shape.
pub fn value_info(name: &str, elem_type: i32, dims: &[usize]) -> pb::ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(Dim::DimValue(d as i64)), ..Default::default() }).collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(TypeValue::TensorType(TensorType { elem_type, shape: Some(pb::TensorShapeProto { dim }) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Element type and dimensions (None where symbolic) of a declared tensor.
pub fn declared(value: &pb::ValueInfoProto) -> Option<(i32, Vec<Option<i64>>)> {
    let TypeValue::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Dim::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some((tensor.elem_type, dims))
}

/// The name a message uses for a node: its own, else its first output's.
pub fn node_name(node: &pb::NodeProto) -> &str {
    if node.name.is_empty() { node.output.first().map_or("", |o| o.as_str()) } else { &node.name }
}

/// The default-domain opset the model imports.
pub fn opset(model: &pb::ModelProto) -> Option<i64> {
    model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map(|o| o.version)
}
