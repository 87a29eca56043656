//! Reverse-mode rules, one per ONNX operator: given ∂loss/∂outputs of a forward node, emit the nodes
//! that compute ∂loss/∂inputs. Only operators tract 0.23.9 runs are emitted, in the forms it runs
//! fast (Sign + Mul rather than Greater + Where for ReLU masks; stride-1 backward convolutions as
//! `Conv` with a flipped kernel, stored once and folded by tract at load).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::pb;
use tract_onnx::prelude::*;

use super::analysis::Facts;
use super::emit::Emitter;
use super::fail;
use super::proto::{self, attr_float, attr_int, attr_ints, attr_str, node_name};
use crate::error::Result;

/// Outputs of these carry no gradient: shapes, comparisons, indices, and functions whose
/// derivative is zero almost everywhere.
pub const NON_DIFFERENTIABLE: [&str; 25] = [
    "Shape",
    "Size",
    "Constant",
    "ConstantOfShape",
    "Equal",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "ArgMax",
    "ArgMin",
    "Not",
    "And",
    "Or",
    "Xor",
    "NonZero",
    "Range",
    "IsNaN",
    "IsInf",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "EyeLike",
    "RandomNormalLike",
];

/// Which inputs of an operator a gradient can flow through. Other inputs (weights, shapes, axes,
/// indices) must not depend on the image.
pub enum Inputs {
    Only(&'static [usize]),
    All,
}

/// The operators with a rule, and their differentiable inputs.
pub fn rule_inputs(op: &str) -> Option<Inputs> {
    use Inputs::*;
    Some(match op {
        "Conv" | "ConvTranspose" => Only(&[0, 2]),
        "Gemm" => Only(&[0, 1, 2]),
        "MatMul" | "Add" | "Sub" | "Mul" | "Div" => Only(&[0, 1]),
        "Where" => Only(&[1, 2]),
        "Concat" => All,
        "Pow" | "Sqrt" | "Neg" | "Reciprocal" | "Exp" | "Log" | "Abs" | "Relu" | "Clip" | "LeakyRelu" | "PRelu"
        | "Sigmoid" | "HardSigmoid" | "HardSwish" | "Tanh" | "Erf" | "Softmax" | "LogSoftmax"
        | "BatchNormalization" | "LayerNormalization" | "MaxPool" | "AveragePool" | "GlobalAveragePool"
        | "ReduceMean" | "ReduceSum" | "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" | "Transpose" | "Split"
        | "Slice" | "Pad" | "Gather" | "Expand" | "Identity" | "Dropout" | "Cast" => Only(&[0]),
        _ => return None,
    })
}

/// Every operator with a rule, for messages.
pub const SUPPORTED: &str = "Conv, ConvTranspose, Gemm, MatMul, Add, Sub, Mul, Div, Pow, Sqrt, Neg, Reciprocal, \
     Exp, Log, Abs, Where (constant condition), Relu, Clip, LeakyRelu, PRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, \
     Erf, Softmax, LogSoftmax, BatchNormalization (inference), LayerNormalization, MaxPool, AveragePool, \
     GlobalAveragePool, ReduceMean, ReduceSum, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, \
     Slice, Pad (constant), Gather (constant indices), Expand, Identity, Dropout, Cast";

/// A weight stored as integers and dequantized in the graph (`DequantizeLinear` of constants).
pub struct Dequantized {
    pub q: Arc<Tensor>,
    pub scale: Vec<f32>,
    pub zero: Option<Arc<Tensor>>,
    pub axis: usize,
}

pub struct Backward {
    pub e: Emitter,
    pub facts: Facts,
    pub needed: HashSet<String>,
    pub grads: HashMap<String, Vec<String>>,
    pub dequantized: HashMap<String, Dequantized>,
}

/// An axis, negative ones counted from the end, checked against the rank.
fn axis_of(a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(fail(format!("axis {a} is out of range for a tensor of rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

impl Backward {
    fn add_grad(&mut self, tensor: &str, g: String) {
        if self.needed.contains(tensor) {
            self.grads.entry(tensor.to_string()).or_default().push(g);
        }
    }

    fn needs(&self, tensor: &str) -> bool {
        self.needed.contains(tensor)
    }

    /// The sum of the gradients that reached `tensor`.
    pub fn total_grad(&mut self, tensor: &str) -> Option<String> {
        let gs = self.grads.remove(tensor)?;
        let mut acc = gs[0].clone();
        for g in &gs[1..] {
            acc = self.e.node("Add", &[&acc, g], "accumulate", vec![]);
        }
        Some(acc)
    }

    fn shape(&self, name: &str) -> Result<Vec<usize>> {
        self.facts.shape(name)
    }

    /// Sums a gradient of the broadcast shape back to the operand's shape.
    fn unbroadcast(&mut self, g: &str, out: &[usize], input: &[usize]) -> String {
        if out == input {
            return g.into();
        }
        let padded: Vec<usize> = std::iter::repeat_n(1, out.len() - input.len()).chain(input.iter().copied()).collect();
        let axes: Vec<usize> = (0..out.len()).filter(|&i| padded[i] == 1 && out[i] != 1).collect();
        let summed = if axes.is_empty() { g.to_string() } else { self.e.reduce_sum(g, &axes, true) };
        self.e.reshape(&summed, input)
    }

    /// Applies the rule of `node`, given the gradients of its outputs.
    pub fn apply(&mut self, node: &pb::NodeProto, gs: &[Option<String>]) -> Result<()> {
        let op = node.op_type.as_str();
        let here = || format!("{op} node `{}`", node_name(node));
        if op != "Split" && gs.iter().skip(1).any(|g| g.is_some()) {
            return Err(fail(format!("{}: only its first output can carry a gradient", here())));
        }
        let Some(g) = gs.first().cloned().flatten() else {
            if op == "Split" {
                return self.split(node, gs);
            }
            return Ok(());
        };
        let g = g.as_str();
        let ins: Vec<&str> = node.input.iter().map(|s| s.as_str()).collect();
        let x = ins.first().copied().unwrap_or("");
        let y = node.output[0].as_str();
        match op {
            "Identity" | "Dropout" => self.add_grad(x, g.into()),
            "Cast" => {
                if !self.facts.is_float(x) {
                    return Err(fail(format!("{}: a gradient cannot flow into a non-float tensor", here())));
                }
                let to = match self.facts.get(x).and_then(|f| f.datum_type) {
                    Some(DatumType::F16) => 10,
                    Some(DatumType::F64) => 11,
                    _ => proto::FLOAT,
                };
                let cast = self.e.node("Cast", &[g], "cast_grad", vec![proto::int("to", to as i64)]);
                self.add_grad(x, cast);
            }
            "Relu" => {
                // x > 0 exactly where y = relu(x) > 0, and then sign(y) = 1: one Sign and one Mul,
                // far faster in tract than Greater + Where (a bool tensor and a select).
                let mask = self.e.node("Sign", &[y], "relu_mask", vec![]);
                let d = self.e.mul(g, &mask);
                self.add_grad(x, d);
            }
            "LeakyRelu" => {
                let alpha = attr_float(node, "alpha").unwrap_or(0.01);
                let zero = self.e.scalar(0.0);
                let mask = self.e.node("Greater", &[x, &zero], "lrelu_mask", vec![]);
                let neg = self.e.scale(g, alpha);
                let d = self.e.node("Where", &[&mask, g, &neg], "lrelu_grad", vec![]);
                self.add_grad(x, d);
            }
            "PRelu" => {
                let zero = self.e.scalar(0.0);
                let mask = self.e.node("Greater", &[x, &zero], "prelu_mask", vec![]);
                let neg = self.e.mul(g, ins[1]);
                let d = self.e.node("Where", &[&mask, g, &neg], "prelu_grad", vec![]);
                let d = self.unbroadcast(&d, &self.shape(y)?, &self.shape(x)?);
                self.add_grad(x, d);
            }
            "Clip" => {
                let lo = ins.get(1).filter(|s| !s.is_empty()).map(|s| s.to_string());
                let hi = ins.get(2).filter(|s| !s.is_empty()).map(|s| s.to_string());
                // Strict inequalities, as PyTorch's hardtanh/relu6 backward: lo < x < hi exactly where
                // (y − lo)·(hi − y) > 0, each factor being ≥ 0. Sign + Mul as for Relu.
                let mut factors = vec![];
                if let Some(lo) = lo {
                    factors.push(self.e.node("Sub", &[y, &lo], "clip_above_lo", vec![]));
                }
                if let Some(hi) = hi {
                    factors.push(self.e.node("Sub", &[&hi, y], "clip_below_hi", vec![]));
                }
                let d = match factors.as_slice() {
                    [] => g.to_string(),
                    [f] => {
                        let m = self.e.node("Sign", &[f], "clip_mask", vec![]);
                        self.e.mul(g, &m)
                    }
                    [a, b] => {
                        let inside = self.e.mul(a, b);
                        let m = self.e.node("Sign", &[&inside], "clip_mask", vec![]);
                        self.e.mul(g, &m)
                    }
                    _ => unreachable!(),
                };
                self.add_grad(x, d);
            }
            "Sigmoid" => {
                let one = self.e.scalar(1.0);
                let one_minus = self.e.sub(&one, y);
                let d = self.e.mul(y, &one_minus);
                let d = self.e.mul(g, &d);
                self.add_grad(x, d);
            }
            "Tanh" => {
                let one = self.e.scalar(1.0);
                let y2 = self.e.mul(y, y);
                let d = self.e.sub(&one, &y2);
                let d = self.e.mul(g, &d);
                self.add_grad(x, d);
            }
            "HardSigmoid" => {
                let alpha = attr_float(node, "alpha").unwrap_or(0.2);
                let beta = attr_float(node, "beta").unwrap_or(0.5);
                // y = clip(αx + β, 0, 1): slope α strictly inside, as onnxruntime and PyTorch.
                let ax = self.e.scale(x, alpha);
                let b = self.e.scalar(beta);
                let inner = self.e.add(&ax, &b);
                let zero = self.e.scalar(0.0);
                let one = self.e.scalar(1.0);
                let above = self.e.node("Sub", &[&inner, &zero], "hs_lo", vec![]);
                let below = self.e.sub(&one, &inner);
                let relu_a = self.e.node("Relu", &[&above], "hs_lo_relu", vec![]);
                let relu_b = self.e.node("Relu", &[&below], "hs_hi_relu", vec![]);
                let inside = self.e.mul(&relu_a, &relu_b);
                let mask = self.e.node("Sign", &[&inside], "hs_mask", vec![]);
                let ga = self.e.scale(g, alpha);
                let d = self.e.mul(&ga, &mask);
                self.add_grad(x, d);
            }
            "HardSwish" => {
                // y = x·relu6(x + 3)/6: dy/dx = 0 (x < −3), 1 (x > 3), x/3 + 1/2 between.
                let third = self.e.scale(x, 1.0 / 3.0);
                let half = self.e.scalar(0.5);
                let mid = self.e.add(&third, &half);
                let three = self.e.scalar(3.0);
                let minus3 = self.e.scalar(-3.0);
                let one = self.e.scalar(1.0);
                let zero = self.e.scalar(0.0);
                let hi = self.e.node("Greater", &[x, &three], "hsw_hi", vec![]);
                let d = self.e.node("Where", &[&hi, &one, &mid], "hsw_d1", vec![]);
                let lo = self.e.node("Greater", &[&minus3, x], "hsw_lo", vec![]);
                let d = self.e.node("Where", &[&lo, &zero, &d], "hsw_d", vec![]);
                let d = self.e.mul(g, &d);
                self.add_grad(x, d);
            }
            "Erf" => {
                // d erf(x)/dx = 2/√π · exp(−x²)
                let x2 = self.e.mul(x, x);
                let neg = self.e.node("Neg", &[&x2], "erf_negx2", vec![]);
                let ex = self.e.node("Exp", &[&neg], "erf_exp", vec![]);
                let gs = self.e.scale(g, std::f32::consts::FRAC_2_SQRT_PI);
                let d = self.e.mul(&gs, &ex);
                self.add_grad(x, d);
            }
            "Neg" => {
                let d = self.e.node("Neg", &[g], "neg_grad", vec![]);
                self.add_grad(x, d);
            }
            "Exp" => {
                let d = self.e.mul(g, y);
                self.add_grad(x, d);
            }
            "Log" => {
                let d = self.e.div(g, x);
                self.add_grad(x, d);
            }
            "Abs" => {
                let s = self.e.node("Sign", &[x], "abs_sign", vec![]);
                let d = self.e.mul(g, &s);
                self.add_grad(x, d);
            }
            "Sqrt" => {
                let half = self.e.scale(g, 0.5);
                let d = self.e.div(&half, y);
                self.add_grad(x, d);
            }
            "Reciprocal" => {
                let y2 = self.e.mul(y, y);
                let gy2 = self.e.mul(g, &y2);
                let d = self.e.node("Neg", &[&gy2], "recip_grad", vec![]);
                self.add_grad(x, d);
            }
            "Pow" => self.pow(node, g)?,
            "Add" | "Sub" | "Mul" | "Div" => self.arithmetic(node, g)?,
            "Where" => {
                let (ys, zero) = (self.shape(y)?, self.e.scalar(0.0));
                for (i, branch) in [(1, true), (2, false)] {
                    if self.needs(ins[i]) {
                        let (a, b) = if branch { (g, zero.as_str()) } else { (zero.as_str(), g) };
                        let d = self.e.node("Where", &[ins[0], a, b], "where_grad", vec![]);
                        let d = self.unbroadcast(&d, &ys, &self.shape(ins[i])?);
                        self.add_grad(ins[i], d);
                    }
                }
            }
            "Softmax" => {
                let axis = axis_of(attr_int(node, "axis").unwrap_or(-1), self.facts.rank(y)?)?;
                // dx = y·(g − Σ g·y)
                let gy = self.e.mul(g, y);
                let s = self.e.reduce_sum(&gy, &[axis], true);
                let c = self.e.sub(g, &s);
                let d = self.e.mul(y, &c);
                self.add_grad(x, d);
            }
            "LogSoftmax" => {
                let axis = axis_of(attr_int(node, "axis").unwrap_or(-1), self.facts.rank(y)?)?;
                // dx = g − exp(y)·Σ g
                let s = self.e.reduce_sum(g, &[axis], true);
                let p = self.e.node("Exp", &[y], "logsoftmax_p", vec![]);
                let ps = self.e.mul(&p, &s);
                let d = self.e.sub(g, &ps);
                self.add_grad(x, d);
            }
            "BatchNormalization" => {
                if attr_int(node, "training_mode").unwrap_or(0) != 0
                    || node.output.iter().skip(1).any(|o| !o.is_empty())
                {
                    return Err(fail(format!("{} is in training mode; export the model in eval mode", here())));
                }
                // y = (x − mean)·scale/√(var + ε) + bias: dx = g·scale/√(var + ε), folded by tract.
                let eps = self.e.scalar(attr_float(node, "epsilon").unwrap_or(1e-5));
                let var = self.e.add(ins[4], &eps);
                let root = self.e.node("Sqrt", &[&var], "bn_sqrt", vec![]);
                let factor = self.e.div(ins[1], &root);
                let xs = self.shape(x)?;
                let mut dims = vec![xs[1]];
                dims.extend(std::iter::repeat_n(1, xs.len() - 2));
                let factor = self.e.reshape(&factor, &dims);
                let d = self.e.mul(g, &factor);
                self.add_grad(x, d);
            }
            "LayerNormalization" => self.layer_norm(node, g)?,
            "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => {
                let d = self.e.reshape(g, &self.shape(x)?);
                self.add_grad(x, d);
            }
            "Transpose" => {
                let rank = self.facts.rank(x)?;
                let perm = attr_ints(node, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..rank as i64).collect::<Vec<_>>() {
                    return Err(fail(format!("{}: perm {perm:?} is not a permutation of 0..{rank}", here())));
                }
                let mut inverse = vec![0i64; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    inverse[p as usize] = i as i64;
                }
                let d = self.e.node("Transpose", &[g], "transpose_grad", vec![proto::ints("perm", &inverse)]);
                self.add_grad(x, d);
            }
            "Expand" => {
                let d = self.unbroadcast(g, &self.shape(y)?, &self.shape(x)?);
                self.add_grad(x, d);
            }
            "GlobalAveragePool" => {
                let xs = self.shape(x)?;
                let scaled = self.e.scale(g, 1.0 / xs[2..].iter().product::<usize>() as f32);
                let d = self.e.expand(&scaled, &xs);
                self.add_grad(x, d);
            }
            "ReduceMean" | "ReduceSum" => self.reduce(node, g)?,
            "Concat" => {
                let rank = self.facts.rank(y)?;
                let axis = axis_of(attr_int(node, "axis").unwrap_or(0), rank)?;
                let mut offset = 0i64;
                for &input in &ins {
                    let len = self.shape(input)?[axis] as i64;
                    if self.needs(input) {
                        let d = self.e.slice(g, &[offset], &[offset + len], &[axis as i64], &[1]);
                        self.add_grad(input, d);
                    }
                    offset += len;
                }
            }
            "Split" => return self.split(node, gs),
            "Slice" => self.slice(node, g)?,
            "Pad" => self.pad(node, g)?,
            "Gather" => self.gather(node, g)?,
            "Gemm" => self.gemm(node, g)?,
            "MatMul" => self.matmul(node, g)?,
            "Conv" => self.conv(node, g)?,
            "ConvTranspose" => self.conv_transpose(node, g)?,
            "MaxPool" => self.max_pool(node, g)?,
            "AveragePool" => self.average_pool(node, g)?,
            _ => {
                return Err(fail(format!(
                    "{} is on the path from the image to the logits and has no gradient rule",
                    here()
                )));
            }
        }
        Ok(())
    }

    fn arithmetic(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (a, b, y) = (node.input[0].as_str(), node.input[1].as_str(), node.output[0].as_str());
        let ys = self.shape(y)?;
        let op = node.op_type.as_str();
        if self.needs(a) {
            let d = match op {
                "Add" | "Sub" => g.to_string(),
                "Mul" => self.e.mul(g, b),
                _ => self.e.div(g, b),
            };
            let d = self.unbroadcast(&d, &ys, &self.shape(a)?);
            self.add_grad(a, d);
        }
        if self.needs(b) {
            let d = match op {
                "Add" => g.to_string(),
                "Sub" => self.e.node("Neg", &[g], "sub_grad", vec![]),
                "Mul" => self.e.mul(g, a),
                _ => {
                    // d(a/b)/db = −y/b
                    let gy = self.e.mul(g, y);
                    let q = self.e.div(&gy, b);
                    self.e.node("Neg", &[&q], "div_grad_b", vec![])
                }
            };
            let d = self.unbroadcast(&d, &ys, &self.shape(b)?);
            self.add_grad(b, d);
        }
        Ok(())
    }

    fn pow(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (a, b, y) = (node.input[0].as_str(), node.input[1].as_str(), node.output[0].as_str());
        // d(aᵖ)/da = p·aᵖ⁻¹
        let d = match self.facts.floats(b) {
            Some((p, _)) if p.len() == 1 && p[0] == 1.0 => g.to_string(),
            Some((p, _)) if p.len() == 1 && p[0] == 2.0 => {
                let two_a = self.e.scale(a, 2.0);
                self.e.mul(g, &two_a)
            }
            Some((p, _)) if p.len() == 1 => {
                let e = self.e.scalar(p[0] - 1.0);
                let pw = self.e.node("Pow", &[a, &e], "pow_d", vec![]);
                let d = self.e.scale(&pw, p[0]);
                self.e.mul(g, &d)
            }
            _ => {
                let one = self.e.scalar(1.0);
                let e = self.e.sub(b, &one);
                let pw = self.e.node("Pow", &[a, &e], "pow_d", vec![]);
                let d = self.e.mul(&pw, b);
                self.e.mul(g, &d)
            }
        };
        let d = self.unbroadcast(&d, &self.shape(y)?, &self.shape(a)?);
        self.add_grad(a, d);
        Ok(())
    }

    fn layer_norm(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let x = node.input[0].as_str();
        let xs = self.shape(x)?;
        let axis = axis_of(attr_int(node, "axis").unwrap_or(-1), xs.len())?;
        let axes: Vec<usize> = (axis..xs.len()).collect();
        let n = xs[axis..].iter().product::<usize>() as f32;
        let eps = self.e.scalar(attr_float(node, "epsilon").unwrap_or(1e-5));
        // x̂ = (x − μ)/σ; dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂))/σ with ĝ = g·γ.
        let sum = self.e.reduce_sum(x, &axes, true);
        let mean = self.e.scale(&sum, 1.0 / n);
        let centred = self.e.sub(x, &mean);
        let sq = self.e.mul(&centred, &centred);
        let sq_sum = self.e.reduce_sum(&sq, &axes, true);
        let var = self.e.scale(&sq_sum, 1.0 / n);
        let var_eps = self.e.add(&var, &eps);
        let sigma = self.e.node("Sqrt", &[&var_eps], "ln_sigma", vec![]);
        let inv = self.e.node("Reciprocal", &[&sigma], "ln_inv_sigma", vec![]);
        let xhat = self.e.mul(&centred, &inv);
        let gh = self.e.mul(g, &node.input[1]);
        let gh_sum = self.e.reduce_sum(&gh, &axes, true);
        let m1 = self.e.scale(&gh_sum, 1.0 / n);
        let ghx = self.e.mul(&gh, &xhat);
        let ghx_sum = self.e.reduce_sum(&ghx, &axes, true);
        let m2 = self.e.scale(&ghx_sum, 1.0 / n);
        let a = self.e.sub(&gh, &m1);
        let b = self.e.mul(&xhat, &m2);
        let c = self.e.sub(&a, &b);
        let d = self.e.mul(&c, &inv);
        self.add_grad(x, d);
        Ok(())
    }

    fn reduce(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let x = node.input[0].as_str();
        let xs = self.shape(x)?;
        let axes = match (attr_ints(node, "axes"), node.input.get(1).filter(|s| !s.is_empty())) {
            (Some(a), _) => a,
            (None, Some(name)) => self.facts.ints(name, "the axes")?,
            (None, None) => vec![],
        };
        let axes: Vec<usize> = if axes.is_empty() {
            if attr_int(node, "noop_with_empty_axes").unwrap_or(0) != 0 {
                self.add_grad(x, g.into());
                return Ok(());
            }
            (0..xs.len()).collect()
        } else {
            axes.iter().map(|&a| axis_of(a, xs.len())).collect::<Result<_>>()?
        };
        let kept: Vec<usize> = (0..xs.len()).map(|i| if axes.contains(&i) { 1 } else { xs[i] }).collect();
        let mut d = self.e.reshape(g, &kept);
        if node.op_type == "ReduceMean" {
            let n: usize = axes.iter().map(|&a| xs[a]).product();
            d = self.e.scale(&d, 1.0 / n as f32);
        }
        let d = self.e.expand(&d, &xs);
        self.add_grad(x, d);
        Ok(())
    }

    fn split(&mut self, node: &pb::NodeProto, gs: &[Option<String>]) -> Result<()> {
        let x = node.input[0].as_str();
        let rank = self.facts.rank(x)?;
        let axis = axis_of(attr_int(node, "axis").unwrap_or(0), rank)?;
        let mut parts = vec![];
        for (i, output) in node.output.iter().enumerate() {
            match gs.get(i).cloned().flatten() {
                Some(g) => parts.push(g),
                None => {
                    let shape = self.shape(output)?;
                    parts.push(self.e.zeros(&shape));
                }
            }
        }
        let refs: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
        let d = self.e.node("Concat", &refs, "split_grad", vec![proto::int("axis", axis as i64)]);
        self.add_grad(x, d);
        Ok(())
    }

    fn slice(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (x, y) = (node.input[0].as_str(), node.output[0].as_str());
        let (xs, ys) = (self.shape(x)?, self.shape(y)?);
        let starts = self.facts.ints(&node.input[1], "Slice starts")?;
        let optional = |i: usize| node.input.get(i).filter(|s| !s.is_empty());
        let axes = match optional(3) {
            Some(name) => self.facts.ints(name, "Slice axes")?,
            None => (0..starts.len() as i64).collect(),
        };
        let steps = match optional(4) {
            Some(name) => self.facts.ints(name, "Slice steps")?,
            None => vec![1; starts.len()],
        };
        if ys.contains(&0) {
            return Ok(());
        }
        let mut current = g.to_string();
        let mut shape = ys.clone();
        let mut pads = vec![0i64; 2 * xs.len()];
        for ((&start, &axis), &step) in starts.iter().zip(&axes).zip(&steps) {
            let axis = axis_of(axis, xs.len())?;
            let (dim, len) = (xs[axis] as i64, ys[axis] as i64);
            let start = if start < 0 { start.saturating_add(dim) } else { start };
            let (mut first, mut step) = (start, step);
            if step == 0 {
                return Err(fail(format!("Slice node `{}`: a step of 0", node_name(node))));
            }
            if len == 1 {
                // One element: where it is is all that matters.
                step = 1;
            }
            if step < 0 {
                // Reversed: the same elements ascending, from the last one selected.
                first = first.clamp(0, dim - 1);
                first = first.saturating_add((len - 1).saturating_mul(step));
                step = step.saturating_neg();
                current = self.e.slice(&current, &[-1], &[i64::MIN], &[axis as i64], &[-1]);
            } else {
                first = first.clamp(0, dim);
            }
            if step > 1 {
                // Spread the values `step` apart: append step − 1 zeros after each, then trim.
                let mut split = shape.clone();
                split.insert(axis + 1, 1);
                let spread = self.e.reshape(&current, &split);
                let mut p = vec![0i64; 2 * split.len()];
                p[split.len() + axis + 1] = step - 1;
                let spread = self.e.pad(&spread, &p);
                let mut merged = shape.clone();
                merged[axis] = (len * step) as usize;
                let merged_t = self.e.reshape(&spread, &merged);
                let span = (len - 1) * step + 1;
                current = self.e.slice(&merged_t, &[0], &[span], &[axis as i64], &[1]);
                shape[axis] = span as usize;
            }
            let end = dim - first - shape[axis] as i64;
            if first < 0 || end < 0 {
                return Err(fail(format!("Slice node `{}`: cannot place its output in its input", node_name(node))));
            }
            pads[axis] = first;
            pads[xs.len() + axis] = end;
        }
        let d = self.e.pad(&current, &pads);
        self.add_grad(x, d);
        Ok(())
    }

    fn pad(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (x, y) = (node.input[0].as_str(), node.output[0].as_str());
        let mode = attr_str(node, "mode").unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(fail(format!(
                "Pad node `{}`: mode `{mode}` has no gradient rule (only `constant`)",
                node_name(node)
            )));
        }
        let (xs, ys) = (self.shape(x)?, self.shape(y)?);
        let rank = xs.len();
        let given = self.facts.ints(&node.input[1], "Pad pads")?;
        let axes: Vec<usize> = match node.input.get(3).filter(|s| !s.is_empty()) {
            Some(name) => {
                self.facts.ints(name, "Pad axes")?.iter().map(|&a| axis_of(a, rank)).collect::<Result<_>>()?
            }
            None => (0..rank).collect(),
        };
        if given.len() != 2 * axes.len() {
            return Err(fail(format!("Pad node `{}`: {} pads for {} axes", node_name(node), given.len(), axes.len())));
        }
        let mut pads = vec![0i64; 2 * rank];
        for (i, &axis) in axes.iter().enumerate() {
            pads[axis] = given[i];
            pads[rank + axis] = given[axes.len() + i];
        }
        // Positive pads are cut off the gradient; negative ones (crops) are padded back with zeros.
        let starts: Vec<i64> = (0..rank).map(|a| pads[a].max(0)).collect();
        let ends: Vec<i64> = (0..rank).map(|a| ys[a] as i64 - pads[rank + a].max(0)).collect();
        let all: Vec<i64> = (0..rank as i64).collect();
        let cut = self.e.slice(g, &starts, &ends, &all, &vec![1; rank]);
        let back: Vec<i64> = pads.iter().map(|&p| (-p).max(0)).collect();
        let d = self.e.pad(&cut, &back);
        self.add_grad(x, d);
        Ok(())
    }

    fn gather(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let x = node.input[0].as_str();
        let xs = self.shape(x)?;
        let axis = axis_of(attr_int(node, "axis").unwrap_or(0), xs.len())?;
        let dim = xs[axis] as i64;
        let index_shape = self.shape(&node.input[1])?;
        let indices: Vec<i64> = self
            .facts
            .ints(&node.input[1], "Gather indices")?
            .iter()
            .map(|&i| if i < 0 { i + dim } else { i })
            .collect();
        if let Some(bad) = indices.iter().find(|&&i| !(0..dim).contains(&i)) {
            return Err(fail(format!("Gather node `{}`: index {bad} is out of range for size {dim}", node_name(node))));
        }
        let contiguous = index_shape.len() <= 1 && indices.windows(2).all(|w| w[1] == w[0] + 1);
        let d = if contiguous && !indices.is_empty() {
            // One index or a run of them: the gradient is g padded with zeros along the axis.
            let mut kept = xs.clone();
            kept[axis] = indices.len();
            let r = self.e.reshape(g, &kept);
            let mut pads = vec![0i64; 2 * xs.len()];
            pads[axis] = indices[0];
            pads[xs.len() + axis] = dim - indices[indices.len() - 1] - 1;
            self.e.pad(&r, &pads)
        } else {
            // Any indices: a matrix product with the one-hot selection, so repeats add up.
            let n = indices.len();
            let mut selection = vec![0f32; dim as usize * n];
            for (j, &i) in indices.iter().enumerate() {
                selection[i as usize * n + j] = 1.0;
            }
            let s = self.e.f32s(&selection, &[dim as usize, n], "gather_selection");
            let pre: usize = xs[..axis].iter().product();
            let post: usize = xs[axis + 1..].iter().product();
            let r = self.e.reshape(g, &[pre, n, post]);
            let m = self.e.node("MatMul", &[&s, &r], "gather_grad", vec![]);
            self.e.reshape(&m, &xs)
        };
        self.add_grad(x, d);
        Ok(())
    }

    fn gemm(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (a, b) = (node.input[0].as_str(), node.input[1].as_str());
        let alpha = attr_float(node, "alpha").unwrap_or(1.0);
        let ta = attr_int(node, "transA").unwrap_or(0);
        let tb = attr_int(node, "transB").unwrap_or(0);
        let zero = self.e.scalar(0.0);
        let gemm = |e: &mut Emitter, p: &str, q: &str, ta: i64, tb: i64| {
            // tract's Gemm wants three inputs; β = 0 leaves C out.
            e.node(
                "Gemm",
                &[p, q, &zero],
                "gemm_grad",
                vec![
                    proto::float("alpha", alpha),
                    proto::float("beta", 0.0),
                    proto::int("transA", ta),
                    proto::int("transB", tb),
                ],
            )
        };
        if self.needs(a) {
            let d = if ta == 0 { gemm(&mut self.e, g, b, 0, 1 - tb) } else { gemm(&mut self.e, b, g, tb, 1) };
            self.add_grad(a, d);
        }
        if self.needs(b) {
            let d = if tb == 0 { gemm(&mut self.e, a, g, 1 - ta, 0) } else { gemm(&mut self.e, g, a, 1, ta) };
            self.add_grad(b, d);
        }
        if let Some(c) = node.input.get(2).filter(|c| self.needs(c)) {
            let beta = attr_float(node, "beta").unwrap_or(1.0);
            let d = if beta == 1.0 { g.to_string() } else { self.e.scale(g, beta) };
            let d = self.unbroadcast(&d, &self.shape(&node.output[0])?, &self.shape(c)?);
            self.add_grad(c, d);
        }
        Ok(())
    }

    fn matmul(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (a, b, y) = (node.input[0].as_str(), node.input[1].as_str(), node.output[0].as_str());
        let (sa, sb, ys) = (self.shape(a)?, self.shape(b)?, self.shape(y)?);
        if sa.len() < 2 || sb.len() < 2 {
            return Err(fail(format!("MatMul node `{}`: 1-D operands have no gradient rule", node_name(node))));
        }
        let swap_last = |e: &mut Emitter, t: &str, rank: usize| {
            let mut perm: Vec<i64> = (0..rank as i64).collect();
            perm.swap(rank - 1, rank - 2);
            e.node("Transpose", &[t], "matmul_t", vec![proto::ints("perm", &perm)])
        };
        let batch = &ys[..ys.len() - 2];
        if self.needs(a) {
            let bt = swap_last(&mut self.e, b, sb.len());
            let d = self.e.node("MatMul", &[g, &bt], "matmul_grad_a", vec![]);
            let full: Vec<usize> = batch.iter().chain(&sa[sa.len() - 2..]).copied().collect();
            let d = self.unbroadcast(&d, &full, &sa);
            self.add_grad(a, d);
        }
        if self.needs(b) {
            let at = swap_last(&mut self.e, a, sa.len());
            let d = self.e.node("MatMul", &[&at, g], "matmul_grad_b", vec![]);
            let full: Vec<usize> = batch.iter().chain(&sb[sb.len() - 2..]).copied().collect();
            let d = self.unbroadcast(&d, &full, &sb);
            self.add_grad(b, d);
        }
        Ok(())
    }

    fn conv(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (x, w, y) = (node.input[0].as_str(), node.input[1].as_str(), node.output[0].as_str());
        let (xs, ws, ys) = (self.shape(x)?, self.shape(w)?, self.shape(y)?);
        let geo = Window::read(node, &xs, &ys, &ws[2..])?;
        let group = attr_int(node, "group").unwrap_or(1);
        let nsp = geo.kernel.len();
        if self.needs(x) {
            // Rows and columns the forward convolution never read (the stride's remainder).
            let mut outpad = vec![];
            for i in 0..nsp {
                let base = geo.strides[i] * (ys[2 + i] as i64 - 1) + geo.extent(i) - geo.pads[i] - geo.pads[nsp + i];
                let extra = xs[2 + i] as i64 - base;
                if extra < 0 || extra >= geo.strides[i].max(geo.dilations[i]) {
                    return Err(fail(format!(
                        "Conv node `{}`: its input size cannot be recovered by a transposed convolution",
                        node_name(node)
                    )));
                }
                outpad.push(extra);
            }
            let back_pads: Vec<i64> =
                (0..2 * nsp).map(|i| geo.dilations[i % nsp] * (geo.kernel[i % nsp] - 1) - geo.pads[i]).collect();
            let stride1 = geo.strides.iter().all(|&s| s == 1) && back_pads.iter().all(|&p| p >= 0);
            let flipped = if stride1 { self.flipped_kernel(w, &ws, group as usize)? } else { None };
            let d = if let Some(kernel) = flipped {
                // Stride 1: the input gradient is a plain convolution of g with the kernel flipped in
                // space and transposed in channels (per group), padded by dilation·(k − 1) − pad.
                // tract runs Conv (im2col + matmul, or its depthwise kernel) much faster than
                // ConvTranspose, whose depthwise form has no fast path.
                self.e.node(
                    "Conv",
                    &[g, &kernel],
                    "conv_grad",
                    vec![
                        proto::ints("strides", &geo.strides),
                        proto::ints("pads", &back_pads),
                        proto::ints("dilations", &geo.dilations),
                        proto::int("group", group),
                        proto::ints("kernel_shape", &geo.kernel),
                    ],
                )
            } else {
                let mut attrs = vec![
                    proto::ints("strides", &geo.strides),
                    proto::ints("pads", &geo.pads),
                    proto::ints("dilations", &geo.dilations),
                    proto::int("group", group),
                    proto::ints("kernel_shape", &geo.kernel),
                ];
                if outpad.iter().any(|&p| p != 0) {
                    attrs.push(proto::ints("output_padding", &outpad));
                }
                self.e.node("ConvTranspose", &[g, w], "conv_grad", attrs)
            };
            self.add_grad(x, d);
        }
        if let Some(bias) = node.input.get(2).filter(|b| self.needs(b)) {
            let axes: Vec<usize> = std::iter::once(0).chain(2..ys.len()).collect();
            let d = self.e.reduce_sum(g, &axes, false);
            self.add_grad(bias, d);
        }
        Ok(())
    }

    /// The kernel of the stride-1 input-gradient convolution: `[M, C/G, k…]` → `[C, M/G, k…]`,
    /// channels swapped within each group and space flipped. `None` when the weight's values are
    /// not known at build time (then a ConvTranspose reads the weight itself).
    fn flipped_kernel(&mut self, w: &str, ws: &[usize], group: usize) -> Result<Option<String>> {
        if group == 1 && ws[2..].iter().all(|&k| k == 1) {
            // 1×1: nothing to flip, and a Transpose (absorbed by tract) keeps the file from storing
            // the weight twice.
            let perm: Vec<i64> = [1, 0].into_iter().chain(2..ws.len() as i64).collect();
            return Ok(Some(self.e.node("Transpose", &[w], "conv_wt", vec![proto::ints("perm", &perm)])));
        }
        let (m, cg) = (ws[0], ws[1]);
        let flipped_dims: Vec<usize> = [group * cg, m / group].into_iter().chain(ws[2..].iter().copied()).collect();
        if let Some(dq) = self.dequantized.get(w) {
            // Integer weights: store the rearranged integers with the same scales, so the backward
            // kernel holds exactly the forward pass's dequantized values.
            let axis = if dq.scale.len() == 1 {
                Some((1, dq.scale.clone(), dq.zero.clone()))
            } else if dq.axis == 0 && group == 1 {
                Some((1, dq.scale.clone(), dq.zero.clone()))
            } else if dq.axis == 0 && m == group {
                // One output channel per group (depthwise): row g·cg + i belongs to channel g.
                let repeat = |v: &[u8], size: usize| -> Vec<u8> {
                    v.chunks(size).flat_map(|c| std::iter::repeat_n(c, cg).flatten().copied()).collect()
                };
                let scale = dq.scale.iter().flat_map(|&s| std::iter::repeat_n(s, cg)).collect();
                let zero = match &dq.zero {
                    Some(z) => {
                        let size = z.datum_type().size_of();
                        let view = z.try_as_plain_ram().map_err(|e| fail(format!("{e}")))?;
                        let bytes = repeat(view.as_bytes(), size);
                        let t = unsafe {
                            Tensor::from_raw_dt(z.datum_type(), &[z.len() * cg], &bytes)
                                .map_err(|e| fail(format!("{e}")))?
                        };
                        Some(Arc::new(t))
                    }
                    None => None,
                };
                Some((0, scale, zero))
            } else {
                None
            };
            if let Some((axis, scale, zero)) = axis {
                let q = tensor_proto_code(dq.q.datum_type())?;
                let view = dq.q.try_as_plain_ram().map_err(|e| fail(format!("{e}")))?;
                let raw = rearrange(view.as_bytes(), dq.q.datum_type().size_of(), ws, group);
                let q = self.e.constant(q, &flipped_dims, raw, "conv_wflip_q");
                let scale_dims = if scale.len() == 1 { vec![] } else { vec![scale.len()] };
                let s = self.e.f32s(&scale, &scale_dims, "conv_wflip_scale");
                let mut inputs = vec![q, s];
                if let Some(z) = zero {
                    let code = tensor_proto_code(z.datum_type())?;
                    let view = z.try_as_plain_ram().map_err(|e| fail(format!("{e}")))?;
                    inputs.push(self.e.constant(code, &scale_dims, view.as_bytes().to_vec(), "conv_wflip_zero"));
                }
                let refs: Vec<&str> = inputs.iter().map(|s| s.as_str()).collect();
                let node = self.e.node("DequantizeLinear", &refs, "conv_wflip", vec![proto::int("axis", axis)]);
                return Ok(Some(node));
            }
        }
        let Some((values, _)) = self.facts.floats(w) else { return Ok(None) };
        let raw = rearrange(&proto::f32_bytes(&values), 4, ws, group);
        Ok(Some(self.e.constant(proto::FLOAT, &flipped_dims, raw, "conv_wflip")))
    }

    fn conv_transpose(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (x, w, y) = (node.input[0].as_str(), node.input[1].as_str(), node.output[0].as_str());
        let ws = self.shape(w)?;
        let nsp = ws.len() - 2;
        if attr_ints(node, "output_shape").is_some() || attr_str(node, "auto_pad").is_some_and(|a| a != "NOTSET") {
            return Err(fail(format!(
                "ConvTranspose node `{}`: `output_shape` and `auto_pad` have no gradient rule; give `pads`",
                node_name(node)
            )));
        }
        let kernel = attr_ints(node, "kernel_shape").unwrap_or_else(|| ws[2..].iter().map(|&k| k as i64).collect());
        let strides = attr_ints(node, "strides").unwrap_or_else(|| vec![1; nsp]);
        let dilations = attr_ints(node, "dilations").unwrap_or_else(|| vec![1; nsp]);
        let pads = attr_ints(node, "pads").unwrap_or_else(|| vec![0; 2 * nsp]);
        let group = attr_int(node, "group").unwrap_or(1);
        if self.needs(x) {
            // The adjoint of a transposed convolution is the convolution with the same weight.
            let d = self.e.node(
                "Conv",
                &[g, w],
                "convt_grad",
                vec![
                    proto::ints("strides", &strides),
                    proto::ints("pads", &pads),
                    proto::ints("dilations", &dilations),
                    proto::int("group", group),
                    proto::ints("kernel_shape", &kernel),
                ],
            );
            self.add_grad(x, d);
        }
        if let Some(bias) = node.input.get(2).filter(|b| self.needs(b)) {
            let axes: Vec<usize> = std::iter::once(0).chain(2..self.facts.rank(y)?).collect();
            let d = self.e.reduce_sum(g, &axes, false);
            self.add_grad(bias, d);
        }
        Ok(())
    }

    /// Each window's gradient goes to the position of its maximum: the first one in row-major
    /// order when several are equal (tract's MaxPool `Indices`, as PyTorch's and onnxruntime's).
    /// A position that is the maximum of several overlapping windows receives their sum.
    fn max_pool(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let x = node.input[0].as_str();
        if node.output.get(1).is_some_and(|o| !o.is_empty()) {
            return Err(fail(format!("MaxPool node `{}`: its Indices output has no gradient rule", node_name(node))));
        }
        let xs = self.shape(x)?;
        let numel: usize = xs.iter().product();
        let mut attrs: Vec<pb::AttributeProto> =
            node.attribute.iter().filter(|a| a.name != "storage_order").cloned().collect();
        attrs.push(proto::int("storage_order", 0));
        let outs = self.e.node_n("MaxPool", &[x], 2, "maxpool_argmax", attrs);
        let indices = self.e.reshape(&outs[1], &[outs_len(&self.shape(&node.output[0])?)]);
        let updates = self.e.reshape(g, &[outs_len(&self.shape(&node.output[0])?)]);
        let zeros = self.e.zeros(&[numel]);
        self.e.min_opset = self.e.min_opset.max(16);
        let scattered = self.e.node(
            "ScatterElements",
            &[&zeros, &indices, &updates],
            "maxpool_grad",
            vec![proto::int("axis", 0), proto::string("reduction", "add")],
        );
        let d = self.e.reshape(&scattered, &xs);
        self.add_grad(x, d);
        Ok(())
    }

    /// The gradient of each window, divided by that window's divisor (a constant map: taps inside
    /// the input, or inside the padded input with `count_include_pad`, as tract counts them), spread
    /// over the window by a depthwise ConvTranspose of ones, then cut to the input.
    fn average_pool(&mut self, node: &pb::NodeProto, g: &str) -> Result<()> {
        let (x, y) = (node.input[0].as_str(), node.output[0].as_str());
        let (xs, ys) = (self.shape(x)?, self.shape(y)?);
        let kernel: Vec<usize> = attr_ints(node, "kernel_shape")
            .ok_or_else(|| fail(format!("AveragePool node `{}` has no kernel_shape", node_name(node))))?
            .iter()
            .map(|&k| k as usize)
            .collect();
        let geo = Window::read(node, &xs, &ys, &kernel)?;
        let include_pad = attr_int(node, "count_include_pad").unwrap_or(0) != 0;
        let nsp = kernel.len();
        // Per axis, the number of taps each output position counts; the divisor is their product.
        let counts: Vec<Vec<f32>> = (0..nsp)
            .map(|i| {
                let (size, pb, pe) = (xs[2 + i] as i64, geo.pads[i], geo.pads[nsp + i]);
                (0..ys[2 + i] as i64)
                    .map(|o| {
                        let start = o * geo.strides[i] - pb;
                        (0..geo.kernel[i])
                            .map(|k| start + k * geo.dilations[i])
                            .filter(|&p| if include_pad { p < size + pe } else { (0..size).contains(&p) })
                            .count() as f32
                    })
                    .collect()
            })
            .collect();
        let out_spatial: Vec<usize> = ys[2..].to_vec();
        let total: usize = out_spatial.iter().product();
        let mut inverse = vec![1f32; total];
        for (flat, v) in inverse.iter_mut().enumerate() {
            let mut rest = flat;
            let mut divisor = 1f32;
            for i in (0..nsp).rev() {
                divisor *= counts[i][rest % out_spatial[i]];
                rest /= out_spatial[i];
            }
            *v = 1.0 / divisor;
        }
        let map_dims: Vec<usize> = [1, 1].into_iter().chain(out_spatial.iter().copied()).collect();
        let map = self.e.f32s(&inverse, &map_dims, "avgpool_divisors");
        let scaled = self.e.mul(g, &map);
        let channels = xs[1];
        let ones_dims: Vec<usize> = [channels, 1].into_iter().chain(kernel.iter().copied()).collect();
        let ones = self.e.f32s(&vec![1.0; ones_dims.iter().product()], &ones_dims, "avgpool_ones");
        let spread = self.e.node(
            "ConvTranspose",
            &[&scaled, &ones],
            "avgpool_spread",
            vec![
                proto::ints("strides", &geo.strides),
                proto::ints("dilations", &geo.dilations),
                proto::int("group", channels as i64),
                proto::ints("kernel_shape", &geo.kernel),
            ],
        );
        // The spread covers the padded input from −pad; keep [pad, pad + size) of each axis.
        let mut starts = vec![];
        let mut ends = vec![];
        let mut tail = vec![0i64; 2 * xs.len()];
        for i in 0..nsp {
            let full = geo.strides[i] * (ys[2 + i] as i64 - 1) + geo.extent(i);
            let (pb, size) = (geo.pads[i], xs[2 + i] as i64);
            starts.push(pb);
            ends.push((pb + size).min(full));
            tail[xs.len() + 2 + i] = (pb + size - full).max(0);
        }
        let axes: Vec<i64> = (2..xs.len() as i64).collect();
        let cut = self.e.slice(&spread, &starts, &ends, &axes, &vec![1; nsp]);
        let d = self.e.pad(&cut, &tail);
        self.add_grad(x, d);
        Ok(())
    }
}

fn outs_len(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Kernel, strides, dilations and the explicit pads (`auto_pad` resolved) of a Conv or a pool.
struct Window {
    kernel: Vec<i64>,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    pads: Vec<i64>,
}

impl Window {
    fn read(node: &pb::NodeProto, xs: &[usize], ys: &[usize], kernel: &[usize]) -> Result<Window> {
        let nsp = xs.len() - 2;
        let kernel = attr_ints(node, "kernel_shape").unwrap_or_else(|| kernel.iter().map(|&k| k as i64).collect());
        let strides = attr_ints(node, "strides").unwrap_or_else(|| vec![1; nsp]);
        let dilations = attr_ints(node, "dilations").unwrap_or_else(|| vec![1; nsp]);
        if kernel.len() != nsp
            || strides.len() != nsp
            || dilations.len() != nsp
            || kernel.iter().chain(&strides).chain(&dilations).any(|&v| v < 1)
        {
            return Err(fail(format!(
                "{} node `{}`: kernel_shape, strides and dilations must be {nsp} positive values",
                node.op_type,
                node_name(node)
            )));
        }
        let mut window = Window { kernel, strides, dilations, pads: vec![0; 2 * nsp] };
        match attr_str(node, "auto_pad").as_deref().unwrap_or("NOTSET") {
            "NOTSET" | "" => {
                window.pads = attr_ints(node, "pads").unwrap_or_else(|| vec![0; 2 * nsp]);
                if window.pads.len() != 2 * nsp {
                    return Err(fail(format!(
                        "{} node `{}`: pads must have {} values",
                        node.op_type,
                        node_name(node),
                        2 * nsp
                    )));
                }
            }
            "VALID" => {}
            mode @ ("SAME_UPPER" | "SAME_LOWER") => {
                for i in 0..nsp {
                    let total =
                        ((ys[2 + i] as i64 - 1) * window.strides[i] + window.extent(i) - xs[2 + i] as i64).max(0);
                    let (small, big) = (total / 2, total - total / 2);
                    (window.pads[i], window.pads[nsp + i]) =
                        if mode == "SAME_UPPER" { (small, big) } else { (big, small) };
                }
            }
            other => {
                return Err(fail(format!("{} node `{}`: unknown auto_pad `{other}`", node.op_type, node_name(node))));
            }
        }
        Ok(window)
    }

    /// Span of the dilated kernel along spatial axis `i`.
    fn extent(&self, i: usize) -> i64 {
        self.dilations[i] * (self.kernel[i] - 1) + 1
    }
}

/// `[M, C/G, k…]` → `[C, M/G, k…]` with space reversed, on raw little-endian elements of `size`
/// bytes. Reversing every spatial axis of a row-major block is reversing its flattened order.
fn rearrange(data: &[u8], size: usize, ws: &[usize], group: usize) -> Vec<u8> {
    let (m, cg) = (ws[0], ws[1]);
    let mg = m / group;
    let kvol: usize = ws[2..].iter().product();
    let mut out = vec![0u8; data.len()];
    for gi in 0..group {
        for j in 0..mg {
            for i in 0..cg {
                for k in 0..kvol {
                    let src = (((gi * mg + j) * cg + i) * kvol + k) * size;
                    let dst = (((gi * cg + i) * mg + j) * kvol + (kvol - 1 - k)) * size;
                    out[dst..dst + size].copy_from_slice(&data[src..src + size]);
                }
            }
        }
    }
    out
}

fn tensor_proto_code(dt: DatumType) -> Result<i32> {
    Ok(match dt {
        DatumType::F32 => 1,
        DatumType::U8 => 2,
        DatumType::I8 => 3,
        DatumType::I32 => 6,
        DatumType::I64 => 7,
        other => return Err(fail(format!("a quantized weight of type {other:?} is not supported"))),
    })
}
