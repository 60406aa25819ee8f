#!/usr/bin/env bash
# The fast test tier against another torch: a fresh venv (default .venv-torch-<version>) with that
# torch installed first, gnnbench's dependencies and test extras over it (never replacing that torch), then ruff-free `pytest -m "not slow"`.
# Prints the torch actually imported and pytest's summary line; exits with pytest's status.
#   bash scripts/check_torch_version.sh 2.14.1            # CPU or CUDA wheel, whichever pip finds
#   bash scripts/check_torch_version.sh 2.15.0 -k formats # extra arguments go to pytest
# The README states the range these runs passed; pyproject.toml's torch pin follows it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: check_torch_version.sh TORCH_VERSION [pytest args...]}
shift
venv=${VENV:-.venv-torch-$version}
[ -d "$venv" ] || python3 -m venv "$venv"
. "$venv/bin/activate"
pip install --quiet --upgrade pip
pip install --quiet "torch==$version"
# gnnbench's own torch pin may exclude the version under test (that is what this run decides), so
# its dependencies go in without torch and gnnbench itself with --no-deps: pip never swaps the torch above.
python - <<'PY' > "$venv/requirements-without-torch.txt"
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
    if re.match(r"[A-Za-z0-9_.-]+", requirement).group() != "torch":
        print(requirement)
PY
pip install --quiet -r "$venv/requirements-without-torch.txt"
pip install --quiet --no-deps -e .
python -c "import torch, sys; print(f'torch {torch.__version__} (Python {sys.version.split()[0]})')"
set +e
python -m pytest -m "not slow" -q -p no:cacheprovider "$@" 2>&1 | tee "$venv/fast-tier.log" | tail -n 3
status=${PIPESTATUS[0]}
echo "torch $version fast tier: exit status $status"
exit "$status"
