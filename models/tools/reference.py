"""The independent reference both export scripts check their ONNX files against."""

import torch.nn.functional as F
import torch


def torch_reference(model64, x, label):
    """logits, loss and ∂loss/∂x from float64 PyTorch autograd (`model64`: the model in float64,
    same weights), for an input batch `x` and int64 labels `label`."""
    xr = x.double().requires_grad_(True)
    logits = model64(xr)
    loss = F.cross_entropy(logits, label)
    (grad,) = torch.autograd.grad(loss, xr)
    return logits.detach(), loss.detach(), grad
