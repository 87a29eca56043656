//! Appends nodes and constants to the graph under collision-free names (`grad/<hint>`, numbered).

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

use super::proto::{self, FLOAT, INT64};

pub struct Emitter {
    taken: HashSet<String>,
    pub nodes: Vec<pb::NodeProto>,
    pub initializers: Vec<pb::TensorProto>,
    consts: HashMap<(i32, Vec<usize>, Vec<u8>), String>,
    /// The highest opset an emitted node needs (ScatterElements' `reduction` needs 16).
    pub min_opset: i64,
}

impl Emitter {
    pub fn new(taken: HashSet<String>) -> Emitter {
        Emitter { taken, nodes: vec![], initializers: vec![], consts: HashMap::new(), min_opset: 13 }
    }

    pub fn name(&mut self, hint: &str) -> String {
        let base = format!("grad/{hint}");
        let mut name = base.clone();
        let mut i = 0;
        while self.taken.contains(&name) {
            i += 1;
            name = format!("{base}_{i}");
        }
        self.taken.insert(name.clone());
        name
    }

    /// One node with one output; returns the output's name.
    pub fn node(&mut self, op: &str, inputs: &[&str], hint: &str, attributes: Vec<pb::AttributeProto>) -> String {
        self.node_n(op, inputs, 1, hint, attributes).remove(0)
    }

    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: usize,
        hint: &str,
        attribute: Vec<pb::AttributeProto>,
    ) -> Vec<String> {
        let first = self.name(hint);
        let mut names = vec![first.clone()];
        for i in 1..outputs {
            names.push(self.name(&format!("{hint}_out{i}")));
        }
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: names.clone(),
            name: first,
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
        names
    }

    /// A node writing to a name chosen by the caller (the graph's outputs).
    pub fn node_to(&mut self, op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>) {
        let name = self.name(output);
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name,
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
    }

    /// A constant initializer; identical constants are stored once.
    pub fn constant(&mut self, data_type: i32, dims: &[usize], raw: Vec<u8>, hint: &str) -> String {
        let key = (data_type, dims.to_vec(), raw);
        if let Some(name) = self.consts.get(&key) {
            return name.clone();
        }
        let name = self.name(hint);
        self.initializers.push(proto::tensor(&name, data_type, dims, key.2.clone()));
        self.consts.insert(key, name.clone());
        name
    }

    pub fn f32s(&mut self, values: &[f32], dims: &[usize], hint: &str) -> String {
        self.constant(FLOAT, dims, proto::f32_bytes(values), hint)
    }

    pub fn scalar(&mut self, value: f32) -> String {
        self.f32s(&[value], &[], "c")
    }

    pub fn i64s(&mut self, values: &[i64], hint: &str) -> String {
        self.constant(INT64, &[values.len()], proto::i64_bytes(values), hint)
    }

    pub fn shape(&mut self, dims: &[usize]) -> String {
        self.i64s(&dims.iter().map(|&d| d as i64).collect::<Vec<_>>(), "shape")
    }

    // Shorthands for the ops the rules use most.

    pub fn mul(&mut self, a: &str, b: &str) -> String {
        self.node("Mul", &[a, b], "mul", vec![])
    }

    pub fn add(&mut self, a: &str, b: &str) -> String {
        self.node("Add", &[a, b], "add", vec![])
    }

    pub fn sub(&mut self, a: &str, b: &str) -> String {
        self.node("Sub", &[a, b], "sub", vec![])
    }

    pub fn div(&mut self, a: &str, b: &str) -> String {
        self.node("Div", &[a, b], "div", vec![])
    }

    pub fn scale(&mut self, a: &str, factor: f32) -> String {
        let c = self.scalar(factor);
        self.mul(a, &c)
    }

    pub fn reshape(&mut self, a: &str, dims: &[usize]) -> String {
        let s = self.shape(dims);
        self.node("Reshape", &[a, &s], "reshape", vec![])
    }

    pub fn reduce_sum(&mut self, a: &str, axes: &[usize], keepdims: bool) -> String {
        let axes = self.i64s(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>(), "axes");
        self.node("ReduceSum", &[a, &axes], "sum", vec![proto::int("keepdims", keepdims as i64)])
    }

    pub fn slice(&mut self, a: &str, starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> String {
        let starts = self.i64s(starts, "starts");
        let ends = self.i64s(ends, "ends");
        let axes = self.i64s(axes, "axes");
        let steps = self.i64s(steps, "steps");
        self.node("Slice", &[a, &starts, &ends, &axes, &steps], "slice", vec![])
    }

    /// Constant-mode zero padding; `pads` is ONNX's `[begin…, end…]` over every axis.
    pub fn pad(&mut self, a: &str, pads: &[i64]) -> String {
        if pads.iter().all(|&p| p == 0) {
            return a.into();
        }
        let pads = self.i64s(pads, "pads");
        self.node("Pad", &[a, &pads], "pad", vec![])
    }

    pub fn expand(&mut self, a: &str, dims: &[usize]) -> String {
        let s = self.shape(dims);
        self.node("Expand", &[a, &s], "expand", vec![])
    }

    pub fn zeros(&mut self, dims: &[usize]) -> String {
        let zero = self.scalar(0.0);
        self.expand(&zero, dims)
    }
}
