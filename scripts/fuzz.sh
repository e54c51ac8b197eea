#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang into build-fuzz/,
# replays their seed corpora and regressions (CTest label fuzz), then fuzzes
# each for SECONDS_PER_TARGET (default 20), as many at once as there are
# cores, and prints a table. New inputs go to a temporary copy of the
# corpus, so the repository is not modified; a crash leaves its input under
# build-fuzz/artifacts/ (emptied at each run) and fails the script.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
targets=(codec_fuzz file_log_fuzz snapshot_chunk_fuzz config_file_fuzz fsm_fuzz
  token_fuzz)
build_dir=build-fuzz
bin_dir=$build_dir/tests/fuzz
artifacts=$PWD/$build_dir/artifacts

start=$SECONDS
bash scripts/install-deps.sh
# -O1 and line tables only: the usual fuzzing flags, and a third less
# compile time than the default -O2 -g on two cores.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DPAXOSFS_FUZZ=ON -DPAXOSFS_BUILD_TESTS=OFF \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
echo "fuzz: built in $((SECONDS - start)) s"
ctest --test-dir "$build_dir" --output-on-failure -L fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$artifacts"
mkdir -p "$artifacts"
# One fuzzer per core: each is single-threaded.
fuzz_one() {
  local t=$1 rc=0
  cp -r "tests/fuzz/corpus/$t" "$work/$t"
  local inputs=("$work/$t")
  [ -d "tests/fuzz/regressions/$t" ] && inputs+=("tests/fuzz/regressions/$t")
  # New units are written to the first directory only: the temporary copy.
  "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t-" "${inputs[@]}" >"$work/$t.log" 2>&1 ||
    rc=$?
  echo "$rc" >"$work/$t.rc"
}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait

failed=0
rows=()
for t in "${targets[@]}"; do
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/$t.log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$work/$t.log")
  crashes=$(find "$artifacts" -name "$t-*" | wc -l)
  if [ "$(cat "$work/$t.rc")" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=$((failed + 1))
    tail -n 40 "$work/$t.log"
    find "$artifacts" -name "$t-*" -exec echo "fuzz: $t crash input: {}" \;
  fi
  rows+=("$(printf '%-20s %12s %8s %8s' "$t" "${execs:-?}" "${rate:-?}" "$crashes")")
done

printf '%-20s %12s %8s %8s\n' target executions exec/s crashes
printf '%s\n' "${rows[@]}"
echo "fuzz: ${seconds} s per target, $((SECONDS - start)) s in all"
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target crashed; reproduce with $bin_dir/TARGET FILE," \
    "fix the decoder, and keep FILE in tests/fuzz/regressions/TARGET/" >&2
  exit 1
fi
