#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install gnnbench with its
# test extras into .venv (torch first, so pip never pulls a CUDA build), install Debian's
# chromium for the leaderboard's browser test if it is missing, then run
#   1. ruff check (configured in pyproject.toml),
#   2. the fast tier, pytest -m "not slow" (unit tests, about 4.5 minutes),
#   3. the slow tier, pytest -m slow (LAMMPS-built data, a fresh-seed build, DDP, Chromium, the sandbox; ~35-42 minutes on 2 cores),
# and print each step's result. Every step runs; the exit status is non-zero if any failed.
# Extra arguments go to both pytest tiers (e.g. bash scripts/test.sh -k leaderboard).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: chromium (the leaderboard page is tested in headless Chromium)
# and a Vulkan loader with Mesa's software driver (OVITO renders the rollout pictures through
# Vulkan even with its software Tachyon renderer; no GPU needed).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q "libvulkan.so.1" || missing+=(libvulkan1)
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian's ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
pip install --quiet --upgrade pip
pip install --quiet "${TORCH:-torch==2.13.0}"
pip install --quiet -e ".[test]"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0
summary=()

echo "== ruff check"
if ruff check .; then summary+=("ruff: passed"); else summary+=("ruff: FAILED"); failed=1; fi

collected=0
run_tier() {  # run_tier NAME MARKER [pytest args...]: one tier, its pytest summary line kept
  local name=$1 marker=$2 status
  shift 2
  echo "== $name tier: pytest -m \"$marker\" $*"
  set +e
  python -m pytest -m "$marker" "$@" 2>&1 | tee "$logs/$name.log"
  status=${PIPESTATUS[0]}
  set -e
  # pytest's last line, e.g. "==== 46 passed, 42 deselected in 50.82s ====", without the rules and the deselected count
  local line
  line=$(tail -n 1 "$logs/$name.log" | sed -E 's/^=+ //; s/ =+$//; s/, [0-9]+ deselected//; s/^[0-9]+ deselected, //')
  case $status in
    0) collected=1; summary+=("$name tier: $line") ;;
    5) summary+=("$name tier: no tests selected") ;;
    *) collected=1; failed=1; summary+=("$name tier: FAILED ($line)") ;;
  esac
}
run_tier fast "not slow" "$@"
run_tier slow "slow" "$@"

echo
printf '%s\n' "${summary[@]}"
if [ "$collected" -eq 0 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$failed"
