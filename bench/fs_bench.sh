#!/usr/bin/env bash
# Runs the filesystem workloads on each target in one run and prints one table
# of medians of REPEATS runs with ratios. Targets: the local disk, the
# project's FUSE passthrough (the FUSE floor), GlusterFS replica 3 on this host
# (fs_bench_gluster.sh), and a 3-node paxosfs cluster on loopback (`paxosfs
# demo`) through the leader's mount and a follower's; etcd (3 members,
# fs_bench_etcd.sh) for the 16-writer comparison. GlusterFS and etcd are
# skipped, with the reason, when they cannot run here.
#
# Usage: bench/fs_bench.sh [--out FILE] [BUILD_DIR]
# Env: QUICK=1 (tiny sizes, 1 repeat), REPEATS=3, SEQ_MIB=256, FSYNC_OPS=1000,
#      FIO_SECONDS=5, SMALL_FILES=5000, VIS_OPS=200, TREE_COPIES=2,
#      GLUSTER_VIS_OPS=20, TREE_PATH (a subdirectory of the repository),
#      ETCD_SECONDS=5, ETCD_CLIENTS=64, SETTLE_S=3, STEP_TIMEOUT=600,
#      WORK=/var/tmp, PORT=7901, ETCD_PORT=23790, OUT=FILE, INSTALL_DEPS=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-}
[ "${1:-}" = --out ] && { out=$2; shift 2; }
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
  : "${REPEATS:=1}" "${SEQ_MIB:=16}" "${FSYNC_OPS:=100}" "${FIO_SECONDS:=1}"
  : "${SMALL_FILES:=200}" "${VIS_OPS:=20}" "${TREE_COPIES:=1}" "${ETCD_SECONDS:=1}"
  : "${SETTLE_S:=1}" "${TREE_PATH:=bench}"
fi
repeats=${REPEATS:-3} seq_mib=${SEQ_MIB:-256} fsync_ops=${FSYNC_OPS:-1000}
fio_seconds=${FIO_SECONDS:-5} small_files=${SMALL_FILES:-5000}
vis_ops=${VIS_OPS:-200} tree_copies=${TREE_COPIES:-2} settle_s=${SETTLE_S:-3}
port=${PORT:-7901} to="timeout ${STEP_TIMEOUT:-600}"
workload="$build/bench/fs_workload"
passthrough="$build/bench/fuse_passthrough"
paxosfs="$build/cli/paxosfs"
for b in "$workload" "$passthrough" "$paxosfs"; do
  [ -x "$b" ] || { echo "fs_bench: $b missing; build first (scripts/build.sh $build)" >&2; exit 1; }
done

# The comparison systems come from Debian; install what is missing.
pkgs=(fio glusterfs-server glusterfs-client etcd-server etcd-client)
missing=$(for p in "${pkgs[@]}"; do dpkg -s "$p" > /dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ] && [ "${INSTALL_DEPS:-1}" = 1 ]; then
  echo "fs_bench: installing" $missing >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; } \
    > /dev/null || echo "fs_bench: apt-get failed; going on without" $missing >&2
fi
command -v fio > /dev/null || { echo "fs_bench: fio is required (apt-get install fio)" >&2; exit 1; }

source "$here/fs_bench_gluster.sh"
source "$here/fs_bench_etcd.sh"
source "$here/fs_bench_table.sh"

root=$(mktemp -d "${WORK:-/var/tmp}/paxosfs-bench.XXXXXX")
demo_pid=""
# The stop functions run to the end whatever fails: callers say `|| true`.
stop_fuse() {
  if [ -n "$demo_pid" ]; then  # SIGTERM: the demo unmounts and stops its nodes.
    kill "$demo_pid" 2> /dev/null
    for _ in $(seq 1 300); do kill -0 "$demo_pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$demo_pid" 2> /dev/null
    wait "$demo_pid" 2> /dev/null
    demo_pid=""
  fi
  if mountpoint -q "$root/pt"; then fusermount3 -u "$root/pt" || fusermount3 -uz "$root/pt"; fi
}
cleanup() {
  set +e
  etcd_stop
  gluster_stop
  stop_fuse
  rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2> /dev/null || true; }

# A deterministic source tree with its git repository, built once from this
# repository's tracked files (TREE_COPIES copies; only TREE_PATH if set), for
# `tar x` + `git status`.
make_tree_tarball() {
  local src="$root/tree-src/tree" i
  mkdir -p "$src"
  for ((i = 1; i <= tree_copies; i++)); do
    mkdir "$src/copy$i"
    git -C "$here/.." archive HEAD ${TREE_PATH:+"$TREE_PATH"} | tar -x -C "$src/copy$i"
  done
  (cd "$src" && git -c init.defaultBranch=main init -q && git add -A &&
    GIT_AUTHOR_DATE=2000-01-01T00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00Z git -c user.name=bench \
      -c user.email=bench@localhost commit -q -m tree)
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$root/tree.tar" -C "$root/tree-src" tree
  rm -rf "$root/tree-src"
}

# Workloads: each prints name=value lines.
warm_read() { $to "$workload" seqread "$1" | sed 's/^seqread/warmread/'; }
fio_16() {  # 16 threads, each 4 KiB writes + fdatasync on its own 1 MiB file.
  $to fio --name=fsync16 --directory="$1" --ioengine=psync --rw=write --bs=4k \
    --size=1m --fdatasync=1 --numjobs=16 --thread --time_based \
    --runtime="$fio_seconds" --group_reporting --fallocate=none \
    --output-format=json --output="$1/fio.json" > /dev/null &&
    python3 -c 'import json, sys
print("fsync4k_16_iops=%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"])' \
      "$1/fio.json"
}
tree_work() {
  local s
  s=$(now); $to tar -xf "$root/tree.tar" -C "$1"; echo "tar_x_s=$(since "$s")"
  s=$(now); $to git -c safe.directory='*' -C "$1/tree" status --porcelain > /dev/null
  echo "git_status_s=$(since "$s")"
  s=$(now); $to git -c safe.directory='*' -C "$1/tree" status --porcelain > /dev/null
  echo "git_status_again_s=$(since "$s")"
}

declare -A results
step() {  # step TARGET COMMAND...: runs it, records every name=value it prints.
  local t=$1 line
  shift
  local output start
  start=$(now)
  output=$("$@") || echo "fs_bench: $t: '$*' failed" >&2
  [ "${VERBOSE:-0}" = 1 ] && echo "fs_bench: $t: $* ($(since "$start") s)" >&2
  while IFS='=' read -r key value; do
    [ -n "$value" ] && results[$t.$key]+="$value "
  done <<< "$(grep -E '^[a-z0-9_]+=' <<< "$output")"
}

run_target() {  # run_target TARGET REPEAT: every workload in a fresh directory.
  local t=$1 r=$2 d="${dir[$1]}/$1-$2"
  mkdir -p "$d/fio" "$d/tree" || return 1
  step "$t" $to "$workload" seqwrite "$d" "$seq_mib"
  drop_caches
  step "$t" $to "$workload" seqread "$d/seq.bin"
  step "$t" warm_read "$d/seq.bin"
  rm -f "$d/seq.bin"
  step "$t" $to "$workload" seqwrite "$d" "$seq_mib" 8
  rm -f "$d"/seq.*.bin
  step "$t" $to "$workload" fsync4k "$d" "$fsync_ops" 1
  step "$t" fio_16 "$d/fio"
  step "$t" tree_work "$d/tree"
  # Fresh directory, flushed and settled: on ext4 without a journal, creates
  # right after a bulk delete are many times slower until writeback is done.
  sync
  sleep "$settle_s"
  mkdir "$d/small" || return 1
  step "$t" $to "$workload" smallfiles "$d/small" "$small_files"
  # GlusterFS shows a change on its other mount only when the kernel's 1 s
  # attribute cache expires there: fewer samples keep the run short.
  local ops=$vis_ops
  [ "$t" = glusterfs ] && ops=$((vis_ops < ${GLUSTER_VIS_OPS:-20} ? vis_ops : ${GLUSTER_VIS_OPS:-20}))
  step "$t" $to "$workload" visibility "$d" "${vis_read[$t]}/$t-$r" "$ops"
}

echo "fs_bench: $(date +%T) starting the targets in $root" >&2
make_tree_tarball
mkdir -p "$root/local" "$root/pt-src" "$root/pt"
"$passthrough" "$root/pt-src" "$root/pt"
# paxosfs raises its mount's readahead to 1 MiB; give the floor the same.
echo 1024 > "/sys/class/bdi/$(stat -c '%Hd:%Ld' "$root/pt")/read_ahead_kb" 2>/dev/null || true
"$paxosfs" demo --dir "$root/cluster" --base-port "$port" > "$root/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 300); do grep -q ready "$root/demo.out" && break; sleep 0.1; done
grep -q ready "$root/demo.out" || { cat "$root/demo.out" >&2; exit 1; }
echo "fs_bench: $(date +%T) paxosfs is up; starting glusterfs" >&2
leader=$("$paxosfs" status --data "$root/cluster/node1/data" --json |
  sed -n 's/.*"leader_id":"\([0-9]*\)".*/\1/p' | head -1)
follower=$((leader % 3 + 1))
other=$((follower % 3 + 1))
m() { echo "$root/cluster/node$1/mnt"; }

# target -> directory written; visibility reads the same files elsewhere.
declare -A dir=([local]="$root/local" [passthrough]="$root/pt"
                [leader]="$(m "$leader")" [follower]="$(m "$follower")")
declare -A vis_read=([local]="$root/local" [passthrough]="$root/pt-src"
                     [leader]="$(m "$follower")" [follower]="$(m "$other")")
order=(local passthrough leader follower)
if gluster_start "$root/gluster"; then
  dir[glusterfs]=$gluster_m1 vis_read[glusterfs]=$gluster_m2
  order=(local passthrough glusterfs leader follower)
fi

for ((r = 1; r <= repeats; r++)); do
  for t in "${order[@]}"; do
    echo "fs_bench: $(date +%T) run $r/$repeats: $t" >&2
    run_target "$t" "$r" || echo "fs_bench: $t: run $r stopped early" >&2
  done
done

# etcd runs after the filesystems, alone on the machine.
echo "fs_bench: $(date +%T) stopping the filesystems" >&2
gluster_stop || true
stop_fuse || true
etcd_note="etcd: skipped"
if etcd_start "$root/etcd" "${ETCD_PORT:-23790}"; then
  for ((r = 1; r <= repeats; r++)); do
    echo "fs_bench: $(date +%T) run $r/$repeats: etcd" >&2
    step etcd $to python3 "$here/etcd_load.py" --endpoints "$etcd_endpoints" \
      --clients "${ETCD_CLIENTS:-64}" --seconds "${ETCD_SECONDS:-5}"
  done
  results[etcd.fsync4k_16_iops]=${results[etcd.etcd_puts_s]:-}
  etcd_note="etcd: puts/s of 4 KiB values, ${ETCD_CLIENTS:-64} clients over the HTTP/JSON gateway (bench/etcd_load.py); the client itself used $(median <<< "${results[etcd.client_cores]:-}") cores, put p50 $(median <<< "${results[etcd.etcd_p50_us]:-}") us"
fi
etcd_stop || true

{
  echo "fs_bench $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(uname -r); REPEATS=$repeats SEQ_MIB=$seq_mib FSYNC_OPS=$fsync_ops FIO_SECONDS=$fio_seconds SMALL_FILES=$small_files VIS_OPS=$vis_ops TREE_COPIES=$tree_copies ($(tar -tf "$root/tree.tar" | wc -l) entries)"
  print_table "median of $repeats"
  echo "$etcd_note"
} | tee ${out:+"$out"}
