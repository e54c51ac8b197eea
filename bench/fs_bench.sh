#!/usr/bin/env bash
# Runs the filesystem workloads (bench/fs_workload.cc) on each target in one
# run and prints medians of REPEATS runs with ratios against the local disk.
# Targets today: the local disk and the project's FUSE passthrough (the FUSE
# floor). paxosfs mounts join the table once the node daemon exists (issue 5).
#
# Usage: bench/fs_bench.sh [BUILD_DIR] (env: REPEATS=3, SEQ_MIB=256,
#        FSYNC_OPS=1000, SMALL_FILES=5000, WORK=/var/tmp)
set -euo pipefail
build=${1:-build}
repeats=${REPEATS:-3}
seq_mib=${SEQ_MIB:-256}
fsync_ops=${FSYNC_OPS:-1000}
small_files=${SMALL_FILES:-5000}
workload="$build/bench/fs_workload"
passthrough="$build/bench/fuse_passthrough"
[ -x "$workload" ] && [ -x "$passthrough" ] ||
  { echo "fs_bench: build first (scripts/build.sh $build)" >&2; exit 1; }

root=$(mktemp -d "${WORK:-/var/tmp}/paxosfs-bench.XXXXXX")
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT

mkdir -p "$root/local" "$root/pt-src" "$root/pt"
"$passthrough" "$root/pt-src" "$root/pt"
mounts+=("$root/pt")

declare -A targets=([local]="$root/local" [passthrough]="$root/pt")
order=(local passthrough)
declare -A results

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# run TARGET KEY CMD...: appends the value of KEY printed by CMD to results.
run() {
  local target=$1 key=$2
  shift 2
  local value
  value=$("$@" | sed -n "s/^$key=//p")
  results[$target.$key]+="$value "
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'; }

for ((r = 1; r <= repeats; r++)); do
  for t in "${order[@]}"; do
    dir="${targets[$t]}/run$r"
    mkdir -p "$dir"
    run "$t" seqwrite_mib_s "$workload" seqwrite "$dir" "$seq_mib"
    drop_caches
    run "$t" seqread_mib_s "$workload" seqread "$dir/seq.bin"
    rm -f "$dir/seq.bin"
    out=$("$workload" fsync4k "$dir" "$fsync_ops" 1)
    results[$t.fsync4k_p50_us]+="$(sed -n 's/^fsync4k_p50_us=//p' <<<"$out") "
    results[$t.fsync4k_p99_us]+="$(sed -n 's/^fsync4k_p99_us=//p' <<<"$out") "
    run "$t" fsync4k_iops "$workload" fsync4k "$dir" "$((fsync_ops / 8))" 16
    mkdir -p "$dir/small"
    sync
    out=$("$workload" smallfiles "$dir/small" "$small_files")
    for key in create_files_s stat_files_s unlink_files_s; do
      results[$t.$key]+="$(sed -n "s/^$key=//p" <<<"$out") "
    done
  done
done

printf '\n%-22s' "median of $repeats"
for t in "${order[@]}"; do printf '%14s' "$t"; done
printf '%16s\n' "passthru/local"
for key in seqwrite_mib_s seqread_mib_s fsync4k_p50_us fsync4k_p99_us \
           fsync4k_iops create_files_s stat_files_s unlink_files_s; do
  printf '%-22s' "$key"
  declare -A med=()
  for t in "${order[@]}"; do
    med[$t]=$(median <<<"${results[$t.$key]}")
    printf '%14s' "${med[$t]}"
  done
  awk -v a="${med[passthrough]}" -v b="${med[local]}" \
    'BEGIN { if (b > 0) printf "%16.2f\n", a / b; else print "               -" }'
done
