#!/usr/bin/env python3
"""The engine's warm-up network: EfficientNet-Lite0's architecture at an eighth of its width, with
half its blocks, on 64×64 images, with random weights, stored and given its gradient graph exactly as the shipped
photo model is (per-channel int8 weights with DequantizeLinear, `fgsm grad-graph`).

Why: right after the engine is instantiated, the browser runs its code in a first, quick-to-compile
tier and compiles functions lazily on first call; the fast tier comes only once a function has run
for a while. The first load and passes of a model therefore run slow. While a large model is still
downloading, the worker loads this small network once and runs one forward+gradient pass
(www/worker-main.js, warmUp): the same tract passes and kernels then run in the fast tier when the
real model arrives. It is not a classifier; its outputs mean nothing.

Run from the repository root with the venv of models/tools/python-env.sh (models/engine-warmup/
make.sh does both). Writes models/engine-warmup/warmup.onnx and warmup.json (what it is, its sizes,
and the checks below). Seeded: the same library versions give the same file. Checks, or exits
non-zero: onnxruntime runs the file, and its logits, loss and input gradient match float64 PyTorch
autograd of the same (dequantized) weights.
"""

import argparse
import copy
import gzip
import hashlib
import importlib.util
import json
import os
import sys

import brotli
import numpy as np
import onnx
import onnxruntime as ort
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location(
    "lite0", os.path.join(ROOT, "models", "efficientnet-lite0", "export.py"))
lite0 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lite0)  # its classes and export steps; main() does not run
from fgsm_grad_graph import add_gradient_graph  # noqa: E402  (models/tools, on the path export.py set)
from quantize_weights import quantize_weights  # noqa: E402
from reference import torch_reference  # noqa: E402

SEED = 20151117
WIDTH_DIVISOR = 8
SIZE = 64
CLASSES = 1000  # as the photo model: the classifier's matrix product has the same shape kind
WEIGHT = 0.05   # every weight is ±WEIGHT: random signs compress to about a bit per weight
# float64 autograd against onnxruntime's float32, relative to each tensor's largest magnitude
MAX_REL_ERROR = 1e-4


class WarmupNet(lite0.EfficientNetLite0):
    """EfficientNetLite0's stages and head, every width divided by WIDTH_DIVISOR (at least 4) and
    half the blocks of each stage (at least one; one stage keeps a skip connection). Measured: the
    first verdict came as soon after the model's last byte as with all 16 blocks, with 18 kB less to
    download and 3.2 MB less wasm memory left behind (5.6 MB with all blocks)."""

    def __init__(self):
        torch.nn.Module.__init__(self)
        narrow = lambda c: max(4, c // WIDTH_DIVISOR)  # noqa: E731
        stages = [(max(1, r // 2), k, s, e, narrow(ci), narrow(co)) for (r, k, s, e, ci, co) in lite0.STAGES]
        stem, head = narrow(32), narrow(1280)
        self._conv_stem = lite0.SameConv(3, stem, 3, SIZE, stride=2)
        self._bn0 = torch.nn.BatchNorm2d(stem, eps=lite0.BN_EPS)
        size = self._conv_stem.out_size
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in stages:
            for r in range(repeats):
                blocks.append(lite0.MBConv(kernel, stride if r == 0 else 1, expand,
                                           cin if r == 0 else cout, cout, size))
                size = blocks[-1].out_size
        self._blocks = torch.nn.ModuleList(blocks)
        self._conv_head = lite0.SameConv(stages[-1][5], head, 1, size)
        self._bn1 = torch.nn.BatchNorm2d(head, eps=lite0.BN_EPS)
        self._fc = torch.nn.Linear(head, CLASSES)


def sizes(data):
    return {"raw": len(data), "gzip": len(gzip.compress(data, 9, mtime=0)),
            "brotli": len(brotli.compress(data, quality=11))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "engine-warmup"))
    args = ap.parse_args(argv)
    torch.manual_seed(SEED)
    net = WarmupNet()
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() > 1:
                p.copy_(torch.sign(torch.randn_like(p)) * WEIGHT)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model_float = lite0.PixelModel(net).eval()

    lite0.SIZE = SIZE  # export_forward's input size
    fwd = lite0.export_forward(model_float)
    fwd, _ = lite0.fold_pads_into_convs(lite0.fold_constants(fwd))
    quantized = quantize_weights(fwd)
    onnx.checker.check_model(fwd, full_check=True)
    full = add_gradient_graph(fwd)
    onnx.checker.check_model(full, full_check=True)
    data = full.SerializeToString()

    # The same network in PyTorch, with the weights the file holds, against onnxruntime.
    model64 = copy.deepcopy(lite0.graph_model(model_float, fwd)).double()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(SEED)
    worst = {}
    for _ in range(3):
        x = torch.from_numpy(rng.random((1, 3, SIZE, SIZE), dtype=np.float32))
        with torch.no_grad():
            label = int(model64(x.double()).argmax())
        got = sess.run(["logits", "loss", "input_grad"], {"image": x.numpy(), "label": np.array([label], np.int64)})
        want = torch_reference(model64, x, torch.tensor([label]))
        for key, g, w in zip(("logits", "loss", "input_grad"), got, want):
            w = w.numpy()
            if not np.all(np.isfinite(g)):
                raise SystemExit(f"{key} from onnxruntime is not finite")
            rel = float(np.abs(g - w).max() / max(float(np.abs(w).max()), 1e-30))
            worst[key] = max(worst.get(key, 0.0), rel)
    print(f"onnxruntime against float64 autograd, worst relative error: {worst}")
    if max(worst.values()) > MAX_REL_ERROR:
        raise SystemExit(f"the warm-up file disagrees with float64 autograd: {worst}")

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "warmup.onnx"), "wb") as f:
        f.write(data)
    card = {
        "what": "the engine's warm-up network: not a classifier, its outputs mean nothing",
        "why": "loaded and run once by the worker while a large model downloads, so that the browser has "
               "compiled the engine's hot code in its fast tier before the model arrives",
        "architecture": f"EfficientNet-Lite0's (models/efficientnet-lite0) with every width divided by "
                        f"{WIDTH_DIVISOR} (at least 4), half the blocks of each stage (at least one), "
                        f"{CLASSES} classes, input [1, 3, {SIZE}, {SIZE}]",
        "weights": f"random signs times {WEIGHT} (seed {SEED}), random BatchNorm statistics folded in, "
                   "stored as per-channel int8 with DequantizeLinear, as the photo model's",
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "quantized_tensors": len(quantized),
        "file": "warmup.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "sizes": sizes(data),
        "check": {"against": "float64 PyTorch autograd of the dequantized weights, 3 random images",
                  "worst_relative_error": worst},
        "made_by": "models/engine-warmup/make.sh",
    }
    with open(os.path.join(args.out, "warmup.json"), "w") as f:
        f.write(json.dumps(card, indent=1) + "\n")
    print(f"wrote warmup.onnx: {card['sizes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
