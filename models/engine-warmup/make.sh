#!/usr/bin/env bash
# Regenerates models/engine-warmup/{warmup.onnx,warmup.json}: the small random-weight network the
# worker runs once while a large model downloads (see make.py). Uses the venv and the fgsm binary
# of models/tools/python-env.sh. Well under a minute of CPU after the installs.
set -euo pipefail

# shellcheck source=../tools/python-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/python-env.sh"

"$python" "$root/models/engine-warmup/make.py" "$@"
