#!/usr/bin/env bash
# The tests that need the optional metatomic extra (metatomic-torch, metatrain, flashmd), which CI
# does not install: a metatomic PairForce answers and scores as its TorchScript twin, runs in
# FlashMD's ASE integrator, and hostile metatomic models are contained. Installs the extra into
# .venv (over the README's CPU torch) unless NO_INSTALL=1, then prints pytest's summary.
#   bash scripts/check_metatomic_extra.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
[ "${NO_INSTALL:-0}" = 1 ] || pip install --quiet -e ".[test,metatomic]"
python -c "import metatomic.torch, flashmd, torch; print(f'metatomic-torch {metatomic.torch.__version__}, torch {torch.__version__}')"
set +e
python -m pytest -q -p no:cacheprovider tests/test_formats.py tests/hostile/test_hostile_formats.py "$@" 2>&1 | tail -n 15
status=${PIPESTATUS[0]}
echo "metatomic extra tests: exit status $status"
exit "$status"
