#!/usr/bin/env python3
"""Store the weights of an ONNX classifier as per-channel int8, dequantized inside the graph.

Usage:
    python models/tools/quantize_weights.py in.onnx out.onnx

Every Conv weight (one scale per output channel, axis 0) and Gemm weight (one scale per output
unit) that is an initializer becomes an int8 initializer, a float32 scale per channel and an
int8 zero point of 0, joined by a `DequantizeLinear` node whose output keeps the original
tensor's name. Symmetric: scale = max |w| / 127 over the channel, q = round(w / scale) in
[-127, 127]. Activations stay float32: only the file shrinks (about 4x), and a runtime folds the
dequantisation into constants when it loads the model (tract does).

The network the file describes is then the one with the dequantized weights (q · scale in
float32, which every runtime computes alike), so a gradient graph added afterwards by the
Rust builder (fgsm grad-graph) is the exact gradient of the model as shipped; its backward
convolutions read the same integers.
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QMAX = 127
# tract folds a constant expression at load only if its result is at most 4 MiB (or no larger
# than its inputs): a weight whose float32 form is larger is dequantized in row blocks under
# that size, joined by a Concat, so that it too becomes a constant instead of a Cast per run.
FOLD_BUDGET = 4 << 20


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def quantize_per_channel(w, axis):
    """int8 q, float32 scale (one per index of `axis`): symmetric, q·scale ≈ w."""
    w = np.asarray(w, dtype=np.float32)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)
    peak = np.abs(moved).max(axis=1)
    scale = np.where(peak > 0, peak / QMAX, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w.astype(np.float64) / scale.astype(np.float64).reshape(shape)), -QMAX, QMAX)
    return q.astype(np.int8), scale


def dequantize(q, scale, axis):
    """What DequantizeLinear computes (zero point 0): float32(q) · scale, rounded once to float32."""
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(np.float32) * scale.reshape(shape)


def quantize_weights(model):
    """Rewrites `model` in place; returns {weight name: (q, scale, axis)} for what it quantized."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers = {}
    for n in g.node:
        for k, x in enumerate(n.input):
            consumers.setdefault(x, []).append((n, k))
    taken = set(inits) | {x for n in g.node for x in list(n.input) + list(n.output)}
    done = {}
    dq_nodes = []
    for name, init in list(inits.items()):
        uses = consumers.get(name, [])
        if not uses or init.data_type != TensorProto.FLOAT:
            continue
        axes = set()
        for n, k in uses:
            if n.op_type == "Conv" and k == 1:
                axes.add(0)
            elif n.op_type == "Gemm" and k == 1:
                axes.add(0 if _attr(n, "transB", 0) else 1)
            else:
                axes.add(None)
        if len(axes) != 1 or None in axes:
            continue
        axis = axes.pop()
        w = numpy_helper.to_array(init)
        if w.ndim < 2:
            continue
        q, scale = quantize_per_channel(w, axis)
        names = []
        for suffix in ("quantized", "scale", "zero_point"):
            n_, i = f"{name}_{suffix}", 0
            while n_ in taken:
                i += 1
                n_ = f"{name}_{suffix}_{i}"
            taken.add(n_)
            names.append(n_)
        g.initializer.remove(init)
        blocks = 1 if axis != 0 else -(-q.size * 4 // FOLD_BUDGET)
        rows = np.array_split(np.arange(q.shape[0]), blocks)
        parts = []
        for b, r in enumerate(rows):
            suffix = "" if blocks == 1 else f"_{b}"
            ins = [names[0] + suffix, names[1] + suffix, names[2] + suffix]
            g.initializer.extend([numpy_helper.from_array(q[r[0]:r[-1] + 1], ins[0]),
                                  numpy_helper.from_array(scale[r[0]:r[-1] + 1], ins[1]),
                                  numpy_helper.from_array(np.zeros(len(r), np.int8), ins[2])])
            out = name if blocks == 1 else f"{name}_dequantized{suffix}"
            dq_nodes.append(helper.make_node("DequantizeLinear", ins, [out], name=f"{name}_dequantize{suffix}",
                                             axis=axis))
            parts.append(out)
        if blocks > 1:
            dq_nodes.append(helper.make_node("Concat", parts, [name], name=f"{name}_concat", axis=0))
        done[name] = (q, scale, axis)
    for n in reversed(dq_nodes):
        g.node.insert(0, n)
    return done


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="ONNX model with float32 Conv/Gemm weights as initializers")
    p.add_argument("out", help="where to write the model with int8 weights")
    args = p.parse_args(argv)
    model = onnx.load(args.model)
    done = quantize_weights(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, args.out)
    n = sum(q.size for q, _, _ in done.values())
    print(f"wrote {args.out}: {len(done)} weight tensors ({n} values) as per-channel int8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
