"""The gradient graph of a forward-only ONNX model, added by the Rust builder (`fgsm grad-graph`,
src/grad; its rules and numerics are in README.md): the one implementation, also in the page.

    from fgsm_grad_graph import add_gradient_graph
    full = add_gradient_graph(forward)          # onnx.ModelProto -> onnx.ModelProto

The model scripts call this instead of building the graph themselves. It runs exactly
`cargo run --release --features cli --bin fgsm -- grad-graph forward.onnx out.onnx` in the
repository (models/tools/python-env.sh builds that binary once, before any export).
"""

import os
import subprocess
import tempfile

import onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def grad_graph_command(forward_path, out_path, mean=None, std=None):
    """The command line the scripts run, as a list (also printed by the scripts)."""
    command = ["cargo", "run", "--quiet", "--release", "--features", "cli", "--bin", "fgsm", "--",
               "grad-graph", forward_path, out_path]
    if mean is not None:
        command += ["--mean", ",".join(repr(float(m)) for m in mean)]
    if std is not None:
        command += ["--std", ",".join(repr(float(s)) for s in std)]
    return command


def add_gradient_graph(forward, mean=None, std=None):
    """`forward` (an onnx.ModelProto: one image input, the logits as its one output) with inputs
    `image` and `label` and outputs `logits`, `loss` and `input_grad` (models/README.md)."""
    with tempfile.TemporaryDirectory() as tmp:
        forward_path = os.path.join(tmp, "forward.onnx")
        out_path = os.path.join(tmp, "with_gradient.onnx")
        onnx.save(forward, forward_path)
        subprocess.run(grad_graph_command(forward_path, out_path, mean, std), cwd=ROOT, check=True)
        return onnx.load(out_path)
