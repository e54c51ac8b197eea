#!/usr/bin/env bash
# Runs the whole fault suite -- every scenario, at full length
# (PAXOSFS_FAULTS_FULL=1) -- the history checker's unit tests, the disk
# fault and corruption cluster tests, and every fuzz target for
# PAXOSFS_FUZZ_SECONDS (default 60) each, then regenerates
# tests/faults/REPORT.md. Needs root (network namespaces, loop devices,
# FUSE) and a build.
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
  cmake --build "$build" -j 2 --target paxosfs faults_test checker_test \
    disk_faults_test corruption_test
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

# Disks: full, failing fsync, corrupt log and store (tests/cluster).
disk=$work/disk.tsv
: >"$disk"
for t in disk_faults_test corruption_test; do
  "$build/tests/cluster/$t" --gtest_output="json:$work/$t.json" \
    >"$work/$t.log" 2>&1 || suite_rc=1
  python3 - "$work/$t.json" >>"$disk" <<'PY'
import json, sys
for suite in json.load(open(sys.argv[1]))["testsuites"]:
    for t in suite["testsuite"]:
        result = "FAILED" if "failures" in t else "passed"
        print(f'{suite["name"]}.{t["name"]}\t{result}\t{t["time"]}')
PY
done

fuzz_rc=0
bash scripts/fuzz.sh "${PAXOSFS_FUZZ_SECONDS:-60}" >"$work/fuzz.log" 2>&1 ||
  fuzz_rc=$?
elapsed=$(($(date +%s) - started))

checker_tests=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$work/checker.log" || echo 0)
failed=$(grep -oP '^\[  FAILED  \] \K\S+(?= \()' "$work/suite.log" | sort -u || true)
passed=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$work/suite.log" || echo 0)

bash tests/faults/render_report.sh "$results" "$elapsed" "$passed" \
  "$checker_tests" "$checker_rc" "$failed" "$disk" "$work/fuzz.log" \
  "$fuzz_rc" >tests/faults/REPORT.md
echo "report.sh: wrote tests/faults/REPORT.md (logs in $work)"
[ "$suite_rc" -eq 0 ] && [ "$checker_rc" -eq 0 ] && [ "$fuzz_rc" -eq 0 ]
