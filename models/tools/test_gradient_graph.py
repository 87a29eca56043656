#!/usr/bin/env python3
"""Checks gradient_graph.py against PyTorch autograd on small models covering every rule.

Run: python models/tools/test_gradient_graph.py   (needs torch, onnx, onnxruntime)
Exits non-zero on the first mismatch.
"""

import copy
import io
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gradient_graph import UnsupportedModel, add_gradient_graph  # noqa: E402
from quantize_weights import dequantize, quantize_weights  # noqa: E402


class Residual(nn.Module):
    """Depthwise/grouped/strided/dilated convs, BN, ReLU6, SE (Sigmoid*x), residual Add, GAP, Gemm."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 5, stride=2, padding=2, groups=8)
        self.dil = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.dw1 = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # stride 1: backward as a flipped Conv
        self.grp = nn.Conv2d(8, 8, (3, 5), padding=(1, 2), groups=2)
        self.se1 = nn.Conv2d(8, 4, 1)
        self.se2 = nn.Conv2d(4, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = (x - 0.5) / 0.25
        x = F.relu6(self.bn(self.stem(x)))
        x = F.relu(self.dw(x))
        x = F.relu6(self.grp(F.relu(self.dw1(x))))
        x = x + F.hardswish(self.dil(x))
        s = torch.sigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(x, 1)))))
        x = x * s
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class LeNet(nn.Module):
    """MaxPool (with an odd size so a row is dropped), AvgPool, MatMul, Tanh, LeakyRelu."""

    def __init__(self, scale=3.0):
        super().__init__()
        self.scale = scale
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 8, 3)
        self.w = nn.Parameter(torch.randn(8 * 6 * 6, 7) * 0.2)

    def forward(self, x):
        x = F.max_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(F.leaky_relu(self.c2(x), 0.1), 2)
        x = x.reshape(1, -1)
        return torch.matmul(x, self.w) * self.scale - 1.0


def check(name, module, shape, trials=5, tol=2e-5, opset=13, fold=True, predicted=False, quantize=False):
    torch.manual_seed(0)
    module.eval()
    if hasattr(module, "bn"):
        with torch.no_grad():
            module.bn.running_mean.uniform_(-0.5, 0.5)
            module.bn.running_var.uniform_(0.5, 2.0)
            module.bn.weight.uniform_(0.5, 1.5)
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.zeros(shape),), buf, input_names=["image"],
                      output_names=["logits"], opset_version=opset, dynamo=False,
                      do_constant_folding=fold)
    fwd = onnx.load_from_string(buf.getvalue())
    ref = copy.deepcopy(module)
    if quantize:
        # int8 weights dequantized in the graph; the reference is the module with the
        # dequantized weights (unfolded export: initializers keep the parameters' names).
        done = quantize_weights(fwd)
        state = ref.state_dict()
        for wname, (q, scale, axis) in done.items():
            state[wname] = torch.from_numpy(dequantize(q, scale, axis))
        ref.load_state_dict(state)
        if sorted(done) != sorted(k for k in state if k.endswith("weight") and state[k].dim() > 1):
            raise SystemExit(f"{name}: quantized {sorted(done)}")
    model = add_gradient_graph(fwd)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    # float64 autograd is the reference: float32 autograd itself loses the gradient's
    # direction when the softmax saturates (see gradient_graph.py).
    ref = ref.double()
    worst = 0.0
    min_loss = float('inf')
    for t in range(trials):
        x = torch.rand(shape)
        label = int(torch.randint(0, 5, ()).item()) if not predicted else None
        xr = x.double().requires_grad_(True)
        logits = ref(xr)
        if label is None:
            label = int(logits.argmax())
        loss = F.cross_entropy(logits, torch.tensor([label]))
        (grad,) = torch.autograd.grad(loss, xr)
        min_loss = min(min_loss, float(loss.detach()))
        out = sess.run(["logits", "loss", "input_grad"],
                       {"image": x.numpy(), "label": np.array([label], dtype=np.int64)})
        for got, want in zip(out, (logits.detach(), loss.detach(), grad)):
            want = want.numpy()
            err = np.abs(got - want).max() / max(1e-6, np.abs(want).max())
            worst = max(worst, err)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{name}: max error relative to max |value| {worst:.2e}, smallest loss {min_loss:.1e}; ops {', '.join(ops)}")
    if worst > tol:
        raise SystemExit(f"{name}: gradient mismatch {worst:.2e} > {tol}")


def check_rejects_unknown_op():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.sort(x.flatten(1), dim=1)[0][:, :3]

    buf = io.BytesIO()
    torch.onnx.export(Odd(), (torch.zeros(1, 1, 4, 4),), buf, input_names=["image"],
                      output_names=["logits"], opset_version=13, dynamo=False)
    try:
        add_gradient_graph(onnx.load_from_string(buf.getvalue()))
    except UnsupportedModel as e:
        print(f"unsupported op rejected: {e}")
        return
    raise SystemExit("a model with an unsupported op was accepted")


if __name__ == "__main__":
    torch.set_num_threads(1)
    check("residual", Residual(), (1, 3, 33, 31))
    # Opset 14 keeps HardSwish as one op; no folding keeps BatchNormalization.
    check("residual-opset14-unfolded", Residual(), (1, 3, 33, 31), opset=14, fold=False)
    # int8 weights (DequantizeLinear in the graph) against autograd of the dequantized module.
    check("residual-int8", Residual(), (1, 3, 33, 31), fold=False, quantize=True)
    check("lenet", LeNet(), (1, 1, 29, 28))
    # Saturated softmax (p of the predicted class rounds to 1 in float32), label = prediction.
    check("lenet-confident", LeNet(scale=100.0), (1, 1, 29, 28), predicted=True, tol=1e-4)
    check_rejects_unknown_op()
    print("all gradient rules agree with torch.autograd")
