#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install gnnbench with its
# test extras into .venv (torch first, so pip never pulls a CUDA build), install Debian's
# chromium for the leaderboard's browser test if it is missing, and run the tests.
# Extra arguments go to pytest (e.g. bash scripts/test.sh -k leaderboard).
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

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
