#!/usr/bin/env bash
# Runs the filesystem workloads (bench/fs_workload.cc) on each target in one
# run and prints medians of REPEATS runs with ratios against the local disk
# and the FUSE passthrough. Targets: the local disk, the project's FUSE
# passthrough (the FUSE floor), and a 3-node paxosfs cluster on loopback
# (`paxosfs demo`), through the leader's mount and a follower's.
#
# Usage: bench/fs_bench.sh [BUILD_DIR] (env: REPEATS=3, SEQ_MIB=256,
#        FSYNC_OPS=1000, SMALL_FILES=5000, VIS_OPS=200, WORK=/var/tmp,
#        PORT=7901)
set -euo pipefail
build=${1:-build}
repeats=${REPEATS:-3}
seq_mib=${SEQ_MIB:-256}
fsync_ops=${FSYNC_OPS:-1000}
small_files=${SMALL_FILES:-5000}
vis_ops=${VIS_OPS:-200}
port=${PORT:-7901}
workload="$build/bench/fs_workload"
passthrough="$build/bench/fuse_passthrough"
paxosfs="$build/cli/paxosfs"
for b in "$workload" "$passthrough" "$paxosfs"; do
  [ -x "$b" ] || { echo "fs_bench: $b missing; build first (scripts/build.sh $build)" >&2; exit 1; }
done

root=$(mktemp -d "${WORK:-/var/tmp}/paxosfs-bench.XXXXXX")
demo_pid=""
cleanup() {
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  fusermount3 -u "$root/pt" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

mkdir -p "$root/local" "$root/pt-src" "$root/pt"
"$passthrough" "$root/pt-src" "$root/pt"
"$paxosfs" demo --dir "$root/cluster" --base-port "$port" > "$root/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 300); do grep -q ready "$root/demo.out" && break; sleep 0.1; done
grep -q ready "$root/demo.out" || { cat "$root/demo.out" >&2; exit 1; }
leader=$("$paxosfs" status --data "$root/cluster/node1/data" --json |
  sed -n 's/.*"leader_id":"\([0-9]*\)".*/\1/p' | head -1)
follower=$(( leader % 3 + 1 ))
other=$(( follower % 3 + 1 ))
m() { echo "$root/cluster/node$1/mnt"; }

# target -> directory written; visibility pairs (write dir, read dir).
declare -A dir=([local]="$root/local" [passthrough]="$root/pt"
                [leader]="$(m "$leader")" [follower]="$(m "$follower")")
declare -A vis_read=([local]="$root/local" [passthrough]="$root/pt-src"
                     [leader]="$(m "$follower")" [follower]="$(m "$other")")
order=(local passthrough leader follower)
declare -A results

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
collect() {  # collect TARGET OUTPUT KEYS...: appends each KEY's value.
  local t=$1 out=$2
  shift 2
  for key in "$@"; do results[$t.$key]+="$(sed -n "s/^$key=//p" <<<"$out") "; done
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'; }

for ((r = 1; r <= repeats; r++)); do
  for t in "${order[@]}"; do
    d="${dir[$t]}/$t-$r"
    mkdir -p "$d/small"
    collect "$t" "$("$workload" seqwrite "$d" "$seq_mib")" seqwrite_mib_s
    drop_caches
    collect "$t" "$("$workload" seqread "$d/seq.bin")" seqread_mib_s
    collect "$t" "$("$workload" seqread "$d/seq.bin" | sed 's/seqread/warmread/')" warmread_mib_s
    rm -f "$d/seq.bin"
    collect "$t" "$("$workload" fsync4k "$d" "$fsync_ops" 1)" fsync4k_p50_us fsync4k_p99_us
    collect "$t" "$("$workload" fsync4k "$d" "$((fsync_ops / 8))" 16 |
                   sed 's/fsync4k_iops/fsync4k_16_iops/')" fsync4k_16_iops
    sync
    sleep 2
    collect "$t" "$("$workload" smallfiles "$d/small" "$small_files")" \
      create_files_s stat_files_s unlink_files_s
    collect "$t" "$("$workload" visibility "$d" "${vis_read[$t]}/$t-$r" "$vis_ops")" \
      visibility_p50_us visibility_p99_us
  done
done

printf '\n%-20s' "median of $repeats"
for t in "${order[@]}"; do printf '%13s' "$t"; done
printf '%13s%13s%13s\n' "lead/local" "lead/pthru" "foll/pthru"
for key in seqwrite_mib_s seqread_mib_s warmread_mib_s fsync4k_p50_us \
           fsync4k_p99_us fsync4k_16_iops create_files_s stat_files_s \
           unlink_files_s visibility_p50_us visibility_p99_us; do
  printf '%-20s' "$key"
  declare -A med=()
  for t in "${order[@]}"; do
    med[$t]=$(median <<<"${results[$t.$key]}")
    printf '%13s' "${med[$t]}"
  done
  awk -v l="${med[leader]}" -v f="${med[follower]}" -v p="${med[passthrough]}" \
      -v d="${med[local]}" 'function r(a, b) { return b > 0 ? sprintf("%13.2f", a / b) : sprintf("%13s", "-") }
      BEGIN { print r(l, d) r(l, p) r(f, p) }'
done
echo "(ratios are target/baseline: above 1 is better for rates, worse for latencies)"
