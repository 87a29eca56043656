#!/usr/bin/env python3
"""Add an input-gradient graph to a forward-only ONNX image classifier.

Usage:
    python models/tools/gradient_graph.py forward.onnx out.onnx

The input model must have one input (float32 [1,C,H,W], pixel values in [0,1],
any normalisation done inside the graph) and one output (pre-softmax logits
[1,K]).  They are renamed to `image` and `logits` if needed; a symbolic batch
dimension is fixed to 1.  The output model has one more input and two more
outputs:

    label       int64 [1]           class index the loss is measured against
    loss        float32 []          cross-entropy of logits vs label
    input_grad  float32 [1,C,H,W]   d loss / d image

The gradient at the logits is written as p_j (j != label) and -sum_{j != label} p_j
(label) rather than softmax - onehot, so that it keeps its direction in float32 even when
the model is so confident that p_label rounds to 1.

The backward pass is written with ordinary inference ops (Conv, ConvTranspose, Sign,
Gemm, ...), because browser/edge runtimes such as tract implement neither
ONNX's training-only `Gradient` op nor the loss ops.  Supported forward ops:
Conv (any strides, pads, dilations, groups), Relu, Clip (ReLU6), LeakyRelu,
Sigmoid, HardSigmoid, HardSwish, Tanh, Gemm, MatMul, Add, Sub, Mul, Div, Neg,
Flatten, Reshape, Squeeze, Unsqueeze, Transpose, GlobalAveragePool,
AveragePool (no padding), MaxPool (non-overlapping windows, no padding),
BatchNormalization (inference), Identity, Dropout.  Anything else on the path
from image to logits stops the tool with an error naming the op.  Weights may be
DequantizeLinear of constant integers (quantize_weights.py): the gradient is then that of
the dequantized network, and flipped backward kernels are stored as integers too.
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

MIN_OPSET, MAX_OPSET = 13, 17

# Outputs of these ops carry no gradient (shape computations, comparisons).
NON_DIFFERENTIABLE = {
    "Shape", "Size", "Constant", "ConstantOfShape", "Equal", "Greater", "Less",
    "GreaterOrEqual", "LessOrEqual", "ArgMax", "ArgMin", "Not", "And", "Or",
    "NonZero", "Range",
}

# Input positions through which a gradient can flow, per op.  Tensors at other
# positions (shapes, axes, weights) must not depend on the image.
DIFF_INPUTS = {
    "Conv": [0], "Relu": [0], "Clip": [0], "LeakyRelu": [0], "Sigmoid": [0],
    "HardSigmoid": [0], "HardSwish": [0], "Tanh": [0],
    "Gemm": [0, 1], "MatMul": [0, 1], "Add": [0, 1], "Sub": [0, 1],
    "Mul": [0, 1], "Div": [0, 1], "Neg": [0],
    "Flatten": [0], "Reshape": [0], "Squeeze": [0], "Unsqueeze": [0],
    "Transpose": [0], "GlobalAveragePool": [0], "AveragePool": [0],
    "MaxPool": [0], "BatchNormalization": [0], "Identity": [0], "Dropout": [0],
}


class UnsupportedModel(Exception):
    pass


class Builder:
    """Appends backward nodes and constants with collision-free names."""

    def __init__(self, graph, taken):
        self.graph = graph
        self.taken = set(taken)
        self.nodes = []
        self.inits = []
        self.const_cache = {}

    def name(self, hint):
        base = "grad/" + hint
        n, i = base, 0
        while n in self.taken:
            i += 1
            n = f"{base}_{i}"
        self.taken.add(n)
        return n

    def node(self, op, inputs, hint, **attrs):
        out = self.name(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def const(self, array, hint):
        array = np.asarray(array)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.const_cache:
            name = self.name(hint)
            self.inits.append(numpy_helper.from_array(array, name))
            self.const_cache[key] = name
        return self.const_cache[key]

    def f32(self, value, hint="c"):
        return self.const(np.array(value, dtype=np.float32), hint)

    def i64(self, values, hint="shape"):
        return self.const(np.array(values, dtype=np.int64), hint)


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _rename(graph, old, new):
    if old == new:
        return
    for n in graph.node:
        n.input[:] = [new if x == old else x for x in n.input]
        n.output[:] = [new if x == old else x for x in n.output]
    for v in list(graph.input) + list(graph.output) + list(graph.value_info):
        if v.name == old:
            v.name = new


def _static_shape(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(d.dim_value)
    return dims


def prepare(model):
    """Checks the interface, fixes batch=1, renames to image/logits, infers shapes."""
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UnsupportedModel(
            f"expected exactly one input and one output, found inputs "
            f"{[i.name for i in inputs]} and outputs {[o.name for o in graph.output]}")
    inp, out = inputs[0], graph.output[0]
    if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
        raise UnsupportedModel("the input must be float32")
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise UnsupportedModel(f"the input must be [1,C,H,W], it has rank {len(dims)}")
    if not dims[0].HasField("dim_value") or dims[0].dim_value != 1:
        dims[0].Clear()
        dims[0].dim_value = 1
    for d in dims[1:]:
        if not d.HasField("dim_value"):
            raise UnsupportedModel("C, H and W of the input must be fixed numbers")
    for o in graph.output:
        for d in o.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()  # re-inferred below from the fixed input shape
    _rename(graph, inp.name, "image")
    _rename(graph, out.name, "logits")

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise UnsupportedModel("the model has no default-domain opset")
    if opset < MIN_OPSET:
        from onnx import version_converter
        model = version_converter.convert_version(model, MIN_OPSET)
    elif opset > MAX_OPSET:
        print(f"warning: opset {opset} is newer than tract 0.23 is known to read well "
              f"({MIN_OPSET}-{MAX_OPSET})", file=sys.stderr)
    for o in model.opset_import:
        if o.domain not in ("", "ai.onnx"):
            raise UnsupportedModel(f"ops from domain '{o.domain}' are not supported")
    # Old exporters list initializers as graph inputs too; they are constants here.
    keep = [i for i in model.graph.input if i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)


def add_gradient_graph(model):
    model = prepare(model)
    graph = model.graph
    producers = {}
    for n in graph.node:
        for o in n.output:
            producers[o] = n

    shapes = {}
    for v in list(graph.input) + list(graph.output) + list(graph.value_info):
        s = _static_shape(v)
        if s is not None:
            shapes[v.name] = s
    for i in graph.initializer:
        shapes[i.name] = list(i.dims)

    const_values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            a = _attrs(n)
            if "value" in a:
                const_values[n.output[0]] = numpy_helper.to_array(a["value"])

    # DequantizeLinear of constants (integer weights): the integers, scales, zero points and
    # axis, and the float32 values every runtime computes from them, (q − zero)·scale.
    dequantized = {}
    for n in graph.node:
        if n.op_type == "DequantizeLinear" and all(x in const_values for x in n.input if x):
            q = const_values[n.input[0]]
            scale = const_values[n.input[1]].astype(np.float32)
            zero = const_values[n.input[2]] if len(n.input) > 2 and n.input[2] else None
            axis = int(_attrs(n).get("axis", 1))
            axis = axis + q.ndim if axis < 0 else axis
            shape = [1] * q.ndim
            if scale.size > 1:
                shape[axis] = scale.size
            zf = 0 if zero is None else zero.astype(np.float32).reshape(shape)
            const_values[n.output[0]] = (q.astype(np.float32) - zf) * scale.reshape(shape)
            dequantized[n.output[0]] = (q, scale, zero, axis)

    def constant(name, what):
        if name not in const_values:
            raise UnsupportedModel(f"{what} ('{name}') must be an initializer or Constant")
        return const_values[name]

    def rearrange(w, ws, group):
        """[M, C/G, k…] → [C, M/G, k…]: channels swapped within each group, space flipped."""
        m, cg = ws[0], ws[1]
        w = w.reshape([group, m // group, cg] + list(ws[2:])).swapaxes(1, 2)
        w = w.reshape([group * cg, m // group] + list(ws[2:]))
        return np.ascontiguousarray(np.flip(w, axis=tuple(range(2, len(ws)))))

    def backward_kernel(weight, ws, group):
        """The kernel of the stride-1 input-gradient Conv: rearrange() of the forward weight."""
        m, cg = ws[0], ws[1]
        if group == 1 and all(k_ == 1 for k_ in ws[2:]):
            # 1×1: nothing to flip, and a Transpose node (folded by the runtime at load) keeps the
            # file from storing the largest weights twice.
            return b.node("Transpose", [weight], "conv_wt", perm=[1, 0] + list(range(2, len(ws))))
        if weight in dequantized:
            # Weights stored as integers: store the rearranged integers too, with the same scales,
            # so the backward kernel holds exactly the forward pass's dequantized values.
            q, scale, zero, axis = dequantized[weight]
            q = rearrange(q, ws, group)
            if scale.size == 1:
                axis_b = 1  # ignored for per-tensor parameters
            elif axis == 0 and group == 1:
                axis_b = 1  # forward output channel m is column m of [C, M, k…]
            elif axis == 0 and m == group:
                # one output channel per group (depthwise): row g·cg + i belongs to channel g
                axis_b, scale, zero = 0, np.repeat(scale, cg), np.repeat(zero, cg)
            else:
                axis_b = None
            if axis_b is not None:
                ins_ = [b.const(q, "conv_wflip_q"), b.const(scale, "conv_wflip_scale")]
                if zero is not None:
                    ins_.append(b.const(zero, "conv_wflip_zero"))
                return b.node("DequantizeLinear", ins_, "conv_wflip", axis=axis_b)
        w = constant(weight, "Conv weight")
        return b.const(rearrange(w, ws, group), "conv_wflip")

    def shape_of(name):
        if name not in shapes:
            raise UnsupportedModel(f"no static shape was inferred for tensor '{name}'")
        return shapes[name]

    # Forward: which tensors depend differentiably on the image.
    active = {"image"}
    for n in graph.node:
        if n.op_type in NON_DIFFERENTIABLE:
            continue
        pos = DIFF_INPUTS.get(n.op_type)
        hits = [i for i, x in enumerate(n.input) if x in active]
        if not hits:
            continue
        if pos is None:
            # Decide later: only an error if the node lies on the path to logits.
            for o in n.output:
                active.add(o)
            continue
        bad = [i for i in hits if i not in pos]
        if bad:
            raise UnsupportedModel(
                f"{n.op_type} node '{n.name}': input {bad[0]} depends on the image, "
                f"gradients through that input are not supported")
        for o in n.output[:1]:
            active.add(o)

    # Backward reachability from logits restricted to active tensors.
    needed = set()
    stack = ["logits"]
    while stack:
        t = stack.pop()
        if t in needed or t not in active:
            continue
        needed.add(t)
        p = producers.get(t)
        if p is not None:
            stack.extend(x for x in p.input if x in active)
    if "image" not in needed:
        raise UnsupportedModel("logits do not depend on the image")

    for reserved in ("label", "loss", "input_grad"):
        if reserved in producers or reserved in const_values:
            raise UnsupportedModel(f"the model already has a tensor named '{reserved}'")

    taken = set(producers) | set(const_values) | {i.name for i in graph.input}
    b = Builder(graph, taken | {"label", "loss", "input_grad"})

    last = producers.get("logits")
    if last is not None and last.op_type in ("Softmax", "LogSoftmax"):
        print("warning: the model ends in a Softmax; FGSM wants pre-softmax logits, "
              "cross-entropy here treats the output as logits", file=sys.stderr)

    logits_shape = shape_of("logits")
    if len(logits_shape) != 2 or logits_shape[0] != 1:
        raise UnsupportedModel(f"logits must be [1,K], inferred {logits_shape}")
    k = logits_shape[1]

    # Loss: -sum(onehot(label) * log_softmax(logits)); its gradient is softmax - onehot.
    onehot = b.node("OneHot", ["label", b.i64(k, "depth"), b.f32([0.0, 1.0], "onehot_values")],
                    "onehot", axis=-1)
    logp = b.node("LogSoftmax", ["logits"], "log_softmax", axis=1)
    picked = b.node("Mul", [onehot, logp], "picked")
    total = b.node("ReduceSum", [picked, b.i64([0, 1], "axes01")], "sum", keepdims=0)
    log_loss = b.node("Neg", [total], "log_loss")
    # d loss / d logits = softmax - onehot, but written as
    #   p_j for j != label,   -sum_{j != label} p_j for the label,
    # because p_label - 1 cancels catastrophically in float32: for a confidently classified
    # image p_label rounds to 1 and the naive difference is 0 or rounding noise, which
    # scrambles the sign pattern FGSM uses (PyTorch float32 autograd has this problem too).
    prob = b.node("Softmax", ["logits"], "softmax", axis=1)
    not_label = b.node("OneHot", ["label", b.i64(k, "depth"), b.f32([1.0, 0.0], "offhot_values")],
                       "not_label", axis=-1)
    others = b.node("Mul", [prob, not_label], "other_probs")
    rest = b.node("ReduceSum", [others, b.i64([1], "axes1")], "other_sum", keepdims=1)
    grads = {"logits": [b.node("Sub", [others, b.node("Mul", [onehot, rest], "label_part")],
                               "logits_grad")]}
    # Same cancellation in the loss: LogSoftmax of a near-certain class is log(1 + tiny),
    # which float32 rounds to 0.  With q = 1 - p_label = sum of the other probabilities,
    # -log(1 - q) = q + q^2/2 + q^3/3 + q^4/4 + O(q^5) is exact to float32 for q < 0.01.
    q = b.node("ReduceSum", [rest, b.i64([0, 1], "axes01")], "q", keepdims=0)
    series = b.node("Add", [b.f32(1.0 / 3.0), b.node("Mul", [q, b.f32(0.25)], "s4")], "s3")
    series = b.node("Add", [b.f32(0.5), b.node("Mul", [q, series], "s3q")], "s2")
    series = b.node("Add", [b.f32(1.0), b.node("Mul", [q, series], "s2q")], "s1")
    series = b.node("Mul", [q, series], "series")
    small = b.node("Greater", [b.f32(0.01), q], "q_small")
    b.nodes.append(helper.make_node("Where", [small, series, log_loss], ["loss"], name="grad/loss"))

    zero = b.f32(0.0, "zero")

    def add_grad(tensor, g):
        if tensor in needed:
            grads.setdefault(tensor, []).append(g)

    def total_grad(tensor):
        gs = grads.get(tensor)
        if not gs:
            return None
        acc = gs[0]
        for g in gs[1:]:
            acc = b.node("Add", [acc, g], "accumulate")
        return acc

    def unbroadcast(g, out_shape, in_shape):
        """Sums a gradient of broadcast shape back to the operand's shape."""
        if list(out_shape) == list(in_shape):
            return g
        padded = [1] * (len(out_shape) - len(in_shape)) + list(in_shape)
        axes = [i for i, (o, s) in enumerate(zip(out_shape, padded)) if s == 1 and o != 1]
        if axes:
            g = b.node("ReduceSum", [g, b.i64(axes, "axes")], "unbroadcast", keepdims=1)
        return b.node("Reshape", [g, b.i64(in_shape)], "unbroadcast_reshape")

    def reshape_to(g, tensor):
        return b.node("Reshape", [g, b.i64(shape_of(tensor))], "reshape_back")

    for n in reversed(graph.node):
        if not n.output or n.output[0] not in needed:
            continue
        y = n.output[0]
        g = total_grad(y)
        if g is None:
            continue
        op, a = n.op_type, _attrs(n)
        ins = list(n.input)
        x = ins[0] if ins else None

        if op in ("Identity", "Dropout"):
            add_grad(x, g)

        elif op == "Relu":
            # x > 0 exactly where y = relu(x) > 0, and then sign(y) = 1: one element-wise Sign and
            # a Mul, which tract runs far faster than Greater + Where (a bool tensor and a select).
            add_grad(x, b.node("Mul", [g, b.node("Sign", [y], "relu_mask")], "relu_grad"))

        elif op == "LeakyRelu":
            alpha = a.get("alpha", 0.01)
            mask = b.node("Greater", [x, zero], "lrelu_mask")
            add_grad(x, b.node("Where", [mask, g, b.node("Mul", [g, b.f32(alpha)], "lrelu_neg")],
                               "lrelu_grad"))

        elif op == "Clip":
            lo = hi = None
            if "min" in a or "max" in a:  # opset < 11 form
                lo = b.f32(a["min"]) if "min" in a else None
                hi = b.f32(a["max"]) if "max" in a else None
            else:
                lo = ins[1] if len(ins) > 1 and ins[1] else None
                hi = ins[2] if len(ins) > 2 and ins[2] else None
            # Strict inequalities match PyTorch's hardtanh/relu6 backward: lo < x < hi exactly where
            # lo < y < hi for y = clip(x), i.e. where (y − lo)·(hi − y) > 0 (each factor is ≥ 0).
            # Sign + Mul instead of Greater + Where: see Relu.
            factors = []
            if lo is not None:
                factors.append(b.node("Sub", [y, lo], "clip_above_lo"))
            if hi is not None:
                factors.append(b.node("Sub", [hi, y], "clip_below_hi"))
            if not factors:
                add_grad(x, g)
            else:
                inside = factors[0] if len(factors) == 1 else b.node("Mul", factors, "clip_inside")
                add_grad(x, b.node("Mul", [g, b.node("Sign", [inside], "clip_mask")], "clip_grad"))

        elif op == "Sigmoid":
            one_minus = b.node("Sub", [b.f32(1.0), y], "sig_1my")
            add_grad(x, b.node("Mul", [g, b.node("Mul", [y, one_minus], "sig_d")], "sig_grad"))

        elif op == "Tanh":
            d = b.node("Sub", [b.f32(1.0), b.node("Mul", [y, y], "tanh_y2")], "tanh_d")
            add_grad(x, b.node("Mul", [g, d], "tanh_grad"))

        elif op == "HardSigmoid":
            alpha, beta = a.get("alpha", 0.2), a.get("beta", 0.5)
            inner = b.node("Add", [b.node("Mul", [x, b.f32(alpha)], "hs_ax"), b.f32(beta)], "hs_in")
            m1 = b.node("Greater", [inner, zero], "hs_lo")
            m2 = b.node("Greater", [b.f32(1.0), inner], "hs_hi")
            d = b.node("Where", [m1, b.node("Where", [m2, b.node("Mul", [g, b.f32(alpha)], "hs_ga"),
                                                       zero], "hs_w1"), zero], "hs_grad")
            add_grad(x, d)

        elif op == "HardSwish":
            # y = x * relu6(x + 3) / 6; dy/dx = 0 (x<-3), 1 (x>3), x/3 + 1/2 otherwise.
            mid = b.node("Add", [b.node("Mul", [x, b.f32(1.0 / 3.0)], "hsw_x3"), b.f32(0.5)], "hsw_mid")
            d = b.node("Where", [b.node("Greater", [x, b.f32(3.0)], "hsw_hi"), b.f32(1.0), mid], "hsw_d1")
            d = b.node("Where", [b.node("Greater", [b.f32(-3.0), x], "hsw_lo"), zero, d], "hsw_d")
            add_grad(x, b.node("Mul", [g, d], "hsw_grad"))

        elif op == "Neg":
            add_grad(x, b.node("Neg", [g], "neg_grad"))

        elif op in ("Add", "Sub"):
            ys = shape_of(y)
            if ins[0] in needed:
                add_grad(ins[0], unbroadcast(g, ys, shape_of(ins[0])))
            if ins[1] in needed:
                g1 = g if op == "Add" else b.node("Neg", [g], "sub_grad")
                add_grad(ins[1], unbroadcast(g1, ys, shape_of(ins[1])))

        elif op == "Mul":
            ys = shape_of(y)
            if ins[0] in needed:
                add_grad(ins[0], unbroadcast(b.node("Mul", [g, ins[1]], "mul_grad"), ys, shape_of(ins[0])))
            if ins[1] in needed:
                add_grad(ins[1], unbroadcast(b.node("Mul", [g, ins[0]], "mul_grad"), ys, shape_of(ins[1])))

        elif op == "Div":
            ys = shape_of(y)
            if ins[0] in needed:
                add_grad(ins[0], unbroadcast(b.node("Div", [g, ins[1]], "div_grad"), ys, shape_of(ins[0])))
            if ins[1] in needed:
                gy = b.node("Div", [b.node("Mul", [g, y], "div_gy"), ins[1]], "div_gyb")
                add_grad(ins[1], unbroadcast(b.node("Neg", [gy], "div_grad_b"), ys, shape_of(ins[1])))

        elif op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            add_grad(x, reshape_to(g, x))

        elif op == "Transpose":
            perm = a.get("perm") or list(reversed(range(len(shape_of(x)))))
            inv = [0] * len(perm)
            for i, p in enumerate(perm):
                inv[p] = i
            add_grad(x, b.node("Transpose", [g], "transpose_grad", perm=inv))

        elif op == "Gemm":
            alpha = float(a.get("alpha", 1.0))
            ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))
            # tract's Gemm wants three inputs; beta = 0 makes C irrelevant.
            if ins[0] in needed:
                if not ta:
                    ga = b.node("Gemm", [g, ins[1], zero], "gemm_grad_a",
                                alpha=alpha, beta=0.0, transA=0, transB=1 - tb)
                else:
                    ga = b.node("Gemm", [ins[1], g, zero], "gemm_grad_a",
                                alpha=alpha, beta=0.0, transA=tb, transB=1)
                add_grad(ins[0], ga)
            if ins[1] in needed:
                if not tb:
                    gb = b.node("Gemm", [ins[0], g, zero], "gemm_grad_b",
                                alpha=alpha, beta=0.0, transA=1 - ta, transB=0)
                else:
                    gb = b.node("Gemm", [g, ins[0], zero], "gemm_grad_b",
                                alpha=alpha, beta=0.0, transA=1, transB=ta)
                add_grad(ins[1], gb)
            if len(ins) > 2 and ins[2] in needed:
                beta = float(a.get("beta", 1.0))
                gc = g if beta == 1.0 else b.node("Mul", [g, b.f32(beta)], "gemm_grad_c")
                add_grad(ins[2], unbroadcast(gc, shape_of(y), shape_of(ins[2])))

        elif op == "MatMul":
            sa, sb = shape_of(ins[0]), shape_of(ins[1])
            if len(sa) < 2 or len(sb) < 2:
                raise UnsupportedModel(f"MatMul '{n.name}': 1-D operands are not supported")

            def swap_last(t, rank):
                perm = list(range(rank))
                perm[-1], perm[-2] = perm[-2], perm[-1]
                return b.node("Transpose", [t], "matmul_t", perm=perm)

            ys = shape_of(y)
            if ins[0] in needed:
                ga = b.node("MatMul", [g, swap_last(ins[1], len(sb))], "matmul_grad_a")
                add_grad(ins[0], unbroadcast(ga, ys[:-2] + sa[-2:], sa))
            if ins[1] in needed:
                gb = b.node("MatMul", [swap_last(ins[0], len(sa)), g], "matmul_grad_b")
                add_grad(ins[1], unbroadcast(gb, ys[:-2] + sb[-2:], sb))

        elif op == "Conv":
            xs, ws = shape_of(x), shape_of(ins[1])
            if ins[1] in active:
                raise UnsupportedModel(f"Conv '{n.name}': the weight depends on the image")
            nsp = len(xs) - 2
            ks = list(a.get("kernel_shape", ws[2:]))
            strides = list(a.get("strides", [1] * nsp))
            dil = list(a.get("dilations", [1] * nsp))
            group = int(a.get("group", 1))
            auto_pad = a.get("auto_pad", b"NOTSET")
            auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
            ys = shape_of(y)
            eff = [(k_ - 1) * d + 1 for k_, d in zip(ks, dil)]
            if auto_pad in ("NOTSET", ""):
                pads = list(a.get("pads", [0] * (2 * nsp)))
            elif auto_pad == "VALID":
                pads = [0] * (2 * nsp)
            else:  # SAME_UPPER / SAME_LOWER
                total_pad = [max(0, (o - 1) * s + e - i)
                             for o, s, e, i in zip(ys[2:], strides, eff, xs[2:])]
                small = [t // 2 for t in total_pad]
                big = [t - t // 2 for t in total_pad]
                pads = small + big if auto_pad == "SAME_UPPER" else big + small
            # Rows/cols the forward conv never read (stride remainder) get output_padding.
            outpad = []
            for i in range(nsp):
                base = strides[i] * (ys[2 + i] - 1) + eff[i] - pads[i] - pads[nsp + i]
                op_ = xs[2 + i] - base
                if op_ < 0 or op_ >= max(strides[i], dil[i]):
                    raise UnsupportedModel(f"Conv '{n.name}': cannot match input shape with ConvTranspose")
                outpad.append(op_)
            back_pads = [d * (k_ - 1) - p for k_, d, p in zip(ks * 2, dil * 2, pads)]
            if all(st == 1 for st in strides) and min(back_pads) >= 0:
                # Stride 1: the input gradient is a plain convolution of g with the kernel flipped
                # in space and transposed in channels (per group), padded by dilation·(k−1) − pad
                # on each side. tract runs Conv (im2col + matmul, or its depthwise kernel) faster
                # than ConvTranspose, whose depthwise form has no fast path.
                add_grad(x, b.node("Conv", [g, backward_kernel(ins[1], ws, group)], "conv_grad",
                                   strides=strides, pads=back_pads, dilations=dil, group=group,
                                   kernel_shape=ks))
            else:
                attrs = dict(strides=strides, pads=pads, dilations=dil, group=group, kernel_shape=ks)
                if any(outpad):
                    attrs["output_padding"] = outpad
                add_grad(x, b.node("ConvTranspose", [g, ins[1]], "conv_grad", **attrs))

        elif op == "GlobalAveragePool":
            xs = shape_of(x)
            scale = 1.0 / float(np.prod(xs[2:]))
            scaled = b.node("Mul", [g, b.f32(scale)], "gap_scale")
            add_grad(x, b.node("Expand", [scaled, b.i64(xs)], "gap_grad"))

        elif op == "AveragePool":
            xs = shape_of(x)
            ks = list(a["kernel_shape"])
            nsp = len(ks)
            strides = list(a.get("strides", [1] * nsp))
            pads = list(a.get("pads", [0] * (2 * nsp)))
            if any(pads) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID") \
                    or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1] * nsp)):
                raise UnsupportedModel(f"AveragePool '{n.name}': only unpadded, floor-mode pooling is supported")
            c = xs[1]
            kernel = np.full([c, 1] + ks, 1.0 / float(np.prod(ks)), dtype=np.float32)
            ys = shape_of(y)
            outpad = [xs[2 + i] - (strides[i] * (ys[2 + i] - 1) + ks[i]) for i in range(nsp)]
            attrs = dict(strides=strides, group=c, kernel_shape=ks)
            if any(outpad):
                attrs["output_padding"] = outpad
            add_grad(x, b.node("ConvTranspose", [g, b.const(kernel, "avgpool_kernel")],
                               "avgpool_grad", **attrs))

        elif op == "MaxPool":
            xs = shape_of(x)
            ks = list(a["kernel_shape"])
            nsp = len(ks)
            strides = list(a.get("strides", [1] * nsp))
            if len(n.output) > 1 and n.output[1]:
                raise UnsupportedModel(f"MaxPool '{n.name}': the indices output is not supported")
            if strides != ks or any(a.get("pads", [0] * (2 * nsp))) or a.get("ceil_mode", 0) \
                    or any(d != 1 for d in a.get("dilations", [1] * nsp)) \
                    or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
                raise UnsupportedModel(
                    f"MaxPool '{n.name}': only non-overlapping windows (strides == kernel_shape) "
                    "without padding are supported")
            # Nearest-neighbour upsampling as a depthwise ConvTranspose with a ones kernel;
            # the gradient goes to every position equal to its window's maximum.
            c = xs[1]
            ones = b.const(np.ones([c, 1] + ks, dtype=np.float32), "maxpool_ones")
            ys = shape_of(y)
            outpad = [xs[2 + i] - strides[i] * ys[2 + i] for i in range(nsp)]
            attrs = dict(strides=strides, group=c, kernel_shape=ks)
            if any(outpad):
                attrs["output_padding"] = outpad  # trailing rows the pool dropped
            y_up = b.node("ConvTranspose", [y, ones], "maxpool_up", **attrs)
            g_up = b.node("ConvTranspose", [g, ones], "maxpool_gup", **attrs)
            mask = b.node("Equal", [x, y_up], "maxpool_mask")
            add_grad(x, b.node("Where", [mask, g_up, zero], "maxpool_grad"))

        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise UnsupportedModel(f"BatchNormalization '{n.name}' is in training mode")
            scale = constant(ins[1], "BatchNormalization scale")
            var = constant(ins[4], "BatchNormalization variance")
            eps = float(a.get("epsilon", 1e-5))
            factor = (scale / np.sqrt(var + eps)).astype(np.float32)
            xs = shape_of(x)
            factor = factor.reshape([-1] + [1] * (len(xs) - 2))
            add_grad(x, b.node("Mul", [g, b.const(factor, "bn_factor")], "bn_grad"))

        else:
            raise UnsupportedModel(
                f"op '{op}' (node '{n.name}') is on the path from image to logits and has no "
                f"gradient rule; supported: {', '.join(sorted(DIFF_INPUTS))}")

    g_img = total_grad("image")
    if g_img is None:
        raise UnsupportedModel("no gradient reached the image")
    b.nodes.append(helper.make_node("Identity", [g_img], ["input_grad"], name="grad/input_grad"))

    graph.node.extend(b.nodes)
    graph.initializer.extend(b.inits)
    image_shape = shape_of("image")
    graph.input.append(helper.make_tensor_value_info("label", TensorProto.INT64, [1]))
    graph.output.append(helper.make_tensor_value_info("loss", TensorProto.FLOAT, []))
    graph.output.append(helper.make_tensor_value_info("input_grad", TensorProto.FLOAT, image_shape))
    del graph.value_info[:]
    model = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("forward", help="forward-only ONNX classifier")
    p.add_argument("out", help="where to write the model with the gradient graph")
    args = p.parse_args(argv)
    try:
        model = add_gradient_graph(onnx.load(args.forward))
    except UnsupportedModel as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    onnx.save(model, args.out)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"wrote {args.out}: {len(model.graph.node)} nodes, ops {', '.join(ops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
