#!/usr/bin/env python3
"""Exports small random-weight versions of common vision architectures, forward only, as test
fixtures for the Rust gradient-graph builder, with float64 PyTorch autograd reference gradients.

Run (from the repository root, with the venv of models/tools/python-env.sh, plus onnxscript for
the dynamo exporter):

    models/.venv/bin/python models/tools/export_architectures.py [--fgsm target/debug/fgsm]

Writes tests/fixtures/architectures/<name>.onnx (forward only: input `image`, output `logits`),
<name>.json (label, logits, loss, input shape, mean/std the builder must put in front, exporter)
and <name>.bin (the input pixels, then the reference ∂loss/∂image, float32 little-endian).
Everything is seeded: the same library versions give the same files. With --fgsm it also runs
`fgsm grad-graph` on each file and checks the built model with onnx.checker and onnxruntime against
the float64 reference, and prints the table for README. The cargo test
tests/grad_architectures.rs runs the builder on the fixtures with no Python at all.

The widths are reduced (the fixtures stay a few MB), the topology is each architecture's own:
- resnet18: torchvision's ResNet with BasicBlock [2, 2, 2, 2], widths 8-16-32-64;
- mobilenet_v3_small: torchvision, width_mult 0.25;
- squeezenet1_1, shufflenet_v2_x0_5: torchvision as they are (10 classes);
- efficientnet_b0: torchvision's EfficientNet with the b0 setting at width 0.25, depth 0.5;
- densenet: torchvision's DenseNet, growth 8, blocks (2, 2, 2), 16 initial features;
- vit: torchvision's VisionTransformer, 32×32 image, 8×8 patches, 2 layers, 2 heads, width 32;
- lenet: conv-tanh-maxpool ×2, then fully connected with tanh (1×28×28).
Heads that torchvision initialises to zero get random weights (or the logits would be constant).
The TorchScript export of the ViT is refused before tract reads it (src/onnx_check.rs): its
attention reshapes compute their target shapes with Shape, Slice, Mod and Concat, so the rank of
what follows cannot be worked out from the graph (ONNX's own shape inference cannot either).
"""

import argparse
import copy
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import efficientnet, resnet

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "architectures"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class SmallResNet18(resnet.ResNet):
    """torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2]) with the widths divided by 8."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = widths[0], 1, 1, 64
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(resnet.BasicBlock, widths[0], 2)
        self.layer2 = self._make_layer(resnet.BasicBlock, widths[1], 2, stride=2)
        self.layer3 = self._make_layer(resnet.BasicBlock, widths[2], 2, stride=2)
        self.layer4 = self._make_layer(resnet.BasicBlock, widths[3], 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.f1 = nn.Linear(16 * 5 * 5, 84)
        self.f2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.max_pool2d(torch.tanh(self.c2(x)), 2)
        return self.f2(torch.tanh(self.f1(x.flatten(1))))


def small_efficientnet_b0():
    setting, last_channel = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.5)
    return efficientnet.EfficientNet(setting, dropout=0.2, last_channel=last_channel, num_classes=10)


ARCHITECTURES = {
    # name: (constructor, input shape, mean/std the model expects, or None)
    "resnet18": (SmallResNet18, (1, 3, 64, 64), (IMAGENET_MEAN, IMAGENET_STD)),
    "mobilenet_v3_small": (
        lambda: torchvision.models.mobilenet_v3_small(width_mult=0.25, num_classes=10), (1, 3, 64, 64), None),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(num_classes=10), (1, 3, 64, 64), None),
    "shufflenet_v2_x0_5": (lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=10), (1, 3, 64, 64), None),
    "efficientnet_b0": (small_efficientnet_b0, (1, 3, 64, 64), None),
    "densenet": (
        lambda: torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2, 2), num_init_features=16, bn_size=2,
                                            num_classes=10), (1, 3, 32, 32), None),
    "vit": (
        lambda: torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                     hidden_dim=32, mlp_dim=64, num_classes=10),
        (1, 3, 32, 32), (IMAGENET_MEAN, IMAGENET_STD)),
    "lenet": (LeNet, (1, 1, 28, 28), None),
}


def make(name):
    build, shape, norm = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = build().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
            if isinstance(m, nn.Linear) and not m.weight.any():
                m.weight.normal_(0, 0.2)  # torchvision zero-initialises some heads: logits would be constant
            if name == "vit" and hasattr(m, "class_token"):
                m.class_token.normal_(0, 0.5)
            if name == "vit" and hasattr(m, "pos_embedding"):
                m.pos_embedding.normal_(0, 0.5)
    return model, shape, norm


def export(model, shape, path, dynamo):
    x = torch.zeros(shape)
    if dynamo:
        program = torch.onnx.export(model, (x,), input_names=["image"], output_names=["logits"], opset_version=18,
                                    dynamo=True, external_data=False)
        program.save(str(path), external_data=False)
    else:
        torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["logits"], opset_version=17,
                          dynamo=False, do_constant_folding=True)


def reference(model, shape, norm):
    """Pixels in [0, 1], the predicted label, and float64 autograd's logits, loss and ∂loss/∂pixels."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=g)
    m64 = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    inp = x64
    if norm is not None:
        mean = torch.tensor(norm[0], dtype=torch.float64).view(1, -1, 1, 1)
        std = torch.tensor(norm[1], dtype=torch.float64).view(1, -1, 1, 1)
        inp = (x64 - mean) / std
    logits = m64(inp)
    label = int(logits.argmax())
    loss = F.cross_entropy(logits, torch.tensor([label]))
    (grad,) = torch.autograd.grad(loss, x64)
    return x, label, logits.detach().numpy()[0], float(loss), grad.numpy()


def check_built(built_path, x, label, grad):
    """onnx.checker and onnxruntime on the built model, against the float64 reference."""
    import onnx
    import onnxruntime as ort

    built = onnx.load(str(built_path))
    onnx.checker.check_model(built, full_check=True)
    sess = ort.InferenceSession(built.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["input_grad"], {"image": x.numpy(), "label": np.array([label], dtype=np.int64)})
    return float(np.abs(got - grad).max() / np.abs(grad).max())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fgsm", help="the fgsm binary: also build each gradient graph and check it with onnxruntime")
    p.add_argument("--only", nargs="*", help="architectures to export (default: all)")
    args = p.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.only or ARCHITECTURES:
        model, shape, norm = make(name)
        x, label, logits, loss, grad = reference(model, shape, norm)
        for dynamo in (False, True):
            tag = f"{name}-{'dynamo' if dynamo else 'torchscript'}"
            path = OUT / f"{tag}.onnx"
            try:
                export(model, shape, path, dynamo)
            except Exception as e:  # noqa: BLE001 - the table reports what failed
                print(f"{tag}: export failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
                rows.append((tag, "export failed", "", ""))
                path.unlink(missing_ok=True)
                continue
            meta = {
                "architecture": name,
                "exporter": "dynamo" if dynamo else "torchscript",
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
                "input_shape": list(shape),
                "mean": norm[0] if norm else None,
                "std": norm[1] if norm else None,
                "label": label,
                "logits": [float(v) for v in logits],
                "loss": loss,
            }
            (OUT / f"{tag}.json").write_text(json.dumps(meta, indent=1) + "\n")
            (OUT / f"{tag}.bin").write_bytes(
                x.numpy().astype("<f4").tobytes() + grad.astype("<f4").tobytes())
            row = [tag, f"{path.stat().st_size / 1e6:.2f} MB", "", ""]
            if args.fgsm:
                built = Path("/tmp") / f"{tag}-built.onnx"
                cmd = [args.fgsm, "grad-graph", str(path), str(built)]
                if norm:
                    cmd += ["--mean", ",".join(map(str, norm[0])), "--std", ",".join(map(str, norm[1]))]
                run = subprocess.run(cmd, capture_output=True, text=True)
                if run.returncode != 0:
                    row[2] = "builder: " + run.stderr.strip().splitlines()[-1][:150]
                else:
                    row[2] = "built"
                    row[3] = f"{check_built(built, x, label, grad):.1e}"
            rows.append(tuple(row))
            print(" | ".join(rows[-1]), flush=True)
    print("\n| model | file | builder | onnxruntime max |Δ| / max |grad| |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
