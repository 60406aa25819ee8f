#!/usr/bin/env bash
# The fast test tier against another torch: a fresh venv (default .venv-torch-<version>) with that
# torch installed first, gnnbench's test extras over it, then ruff-free `pytest -m "not slow"`.
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
pip install --quiet -e ".[test]"
python -c "import torch, sys; print(f'torch {torch.__version__} (Python {sys.version.split()[0]})')"
set +e
python -m pytest -m "not slow" -q -p no:cacheprovider "$@" 2>&1 | tee "$venv/fast-tier.log" | tail -n 3
status=${PIPESTATUS[0]}
echo "torch $version fast tier: exit status $status"
exit "$status"
