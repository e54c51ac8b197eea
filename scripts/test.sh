#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is needed, checks
# formatting, builds, runs every test, then rebuilds with ASan+UBSan and runs
# the unit, simulation and FUSE tests under it, then builds the fuzz targets
# with clang (also sanitized) and runs each for 15 s (scripts/fuzz.sh).
# The sanitizer build holds only what those tests run.
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

bash scripts/install-deps.sh
bash scripts/check-format.sh

# Line tables only (-g1): backtraces and sanitizer reports keep file:line,
# and the two builds take about half the time they take with full -g.
lines_only=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
bash scripts/build.sh build "${lines_only[@]}"
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [ "$sanitize" -eq 1 ]; then
  bash scripts/build.sh build-asan -DPAXOSFS_SANITIZE=ON "${lines_only[@]}"
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L 'unit|sim|fuse'
  bash scripts/fuzz.sh 15
fi
