#!/usr/bin/env bash
# Runs the whole fault suite -- every scenario, at full length
# (PAXOSFS_FAULTS_FULL=1) -- and the history checker's unit tests, then
# regenerates tests/faults/REPORT.md from the figures each scenario
# recorded. Needs root (network namespaces, FUSE) and a build.
# Usage: bash tests/faults/report.sh [BUILD_DIR]   (default: build)
# PAXOSFS_FAULTS_NO_BUILD=1 skips building (when a build is running).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
if [ "$(id -u)" != 0 ]; then
  echo "report.sh: run as root (it creates network namespaces and mounts)" >&2
  exit 1
fi
if [ "${PAXOSFS_FAULTS_NO_BUILD:-0}" != 1 ]; then
  cmake --build "$build" --target paxosfs faults_test checker_test -j 2
fi

work=$(mktemp -d /tmp/paxosfs-faults-report.XXXXXX)
results=$work/results.tsv
: >"$results"
started=$(date +%s)
checker_rc=0
"$build/tests/faults/checker_test" >"$work/checker.log" 2>&1 || checker_rc=$?
suite_rc=0
PAXOSFS_FAULTS_FULL=1 PAXOSFS_FAULTS_RESULTS=$results \
  "$build/tests/faults/faults_test" 2>&1 | tee "$work/suite.log" || true
suite_rc=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - started))

checker_tests=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$work/checker.log" || echo 0)
failed=$(grep -oP '^\[  FAILED  \] \K\S+(?= \()' "$work/suite.log" | sort -u || true)
passed=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$work/suite.log" || echo 0)

bash tests/faults/render_report.sh "$results" "$elapsed" "$passed" \
  "$checker_tests" "$checker_rc" "$failed" >tests/faults/REPORT.md
echo "report.sh: wrote tests/faults/REPORT.md (logs in $work)"
[ "$suite_rc" -eq 0 ] && [ "$checker_rc" -eq 0 ]
