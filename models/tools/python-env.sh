# Sourced by models/*/make.sh. Sets $root (the repository) and $python: a venv made at
# models/.venv from models/requirements.txt (exact versions), or the one named by $VENV, with
# the requirements installed; then builds the fgsm binary whose `grad-graph` command adds every
# gradient graph (models/tools/fgsm_grad_graph.py runs it; its tests are cargo's, tests/grad_*.rs).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/models/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/models/requirements.txt"
python="$venv/bin/python"
(cd "$root" && cargo build --quiet --release --features cli --bin fgsm)
