# Sourced by models/*/make.sh. Sets $root (the repository) and $python: a venv made at
# models/.venv from models/requirements.txt (exact versions), or the one named by $VENV, with
# the requirements installed; then checks the gradient tool against PyTorch before any export.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/models/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/models/requirements.txt"
python="$venv/bin/python"
"$python" "$root/models/tools/test_gradient_graph.py"
