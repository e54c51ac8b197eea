#!/usr/bin/env bash
# Many learners on one machine: 3 voters (node 1 mounted) and learner
# processes (`join --no-mount`) added in steps; at each step
# bench/learner_probe measures the leader's CPU and peer bytes for a fixed
# write load, and how long a change made on node 1 takes to be applied on
# every learner (p50, p99). Not part of CI (about 3 minutes).
#
# Usage: bench/scale_test.sh [BUILD_DIR] (env: LEARNERS="0 10 25 50",
#        WRITES=200, SAMPLES=20, PORT=7600, WORK=/var/tmp)
set -euo pipefail
build=${1:-build}
steps=${LEARNERS:-0 10 25 50}
writes=${WRITES:-200}
samples=${SAMPLES:-20}
port=${PORT:-7600}
paxosfs="$build/cli/paxosfs"
probe="$build/bench/learner_probe"
for b in "$paxosfs" "$probe"; do
  [ -x "$b" ] || { echo "scale_test: $b missing; build first" >&2; exit 1; }
done
root=$(mktemp -d "${WORK:-/var/tmp}/paxosfs-scale.XXXXXX")
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  fusermount3 -u "$root/mnt1" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
addr() { echo "127.0.0.1:$((port + $1))"; }

members="1@$(addr 1),2@$(addr 2),3@$(addr 3)"
mkdir -p "$root/mnt1"
for i in 1 2 3; do
  ca_from=()  # Node 1 makes the CA; the other founders share it.
  [ "$i" = 1 ] || ca_from=(--ca-from "$root/n1/tls")
  "$paxosfs" init --data "$root/n$i" --listen "$(addr "$i")" --node-id "$i" \
    --cluster-id scale --members "$members" "${ca_from[@]}" > /dev/null
  if [ "$i" = 1 ]; then where=(--mount "$root/mnt1"); else where=(--no-mount); fi
  "$paxosfs" serve --data "$root/n$i" "${where[@]}" > "$root/n$i.log" 2>&1 &
  pid[$i]=$!
done

# Prints the leader's id once one is known (bounded wait).
leader_id() {
  for _ in $(seq 1 300); do
    local l
    l=$("$paxosfs" members --data "$root/n1" 2>/dev/null |
      sed -n 's/.*leader: node \([0-9]*\).*/\1/p')
    if [ -n "$l" ] && [ "$l" != 0 ]; then echo "$l"; return; fi
    sleep 0.1
  done
  echo "scale_test: no leader" >&2; exit 1
}

# Waits until `want` learners follow and applied what node 1 applied.
wait_caught_up() {
  local want=$1
  for _ in $(seq 1 600); do
    local out
    out=$("$paxosfs" members --data "$root/n1" 2>/dev/null || true)
    local target
    target=$(echo "$out" | awk '$1 == 1 {print $5}')
    local ok
    ok=$(echo "$out" | awk -v t="$target" \
      '$3 == "learner" && $4 == "following" && $5 >= t {n++} END {print n + 0}')
    [ -n "$target" ] && [ "$ok" -ge "$want" ] && return 0
    sleep 0.5
  done
  echo "scale_test: learners did not catch up; see $root/*.log" >&2
  trap - EXIT; exit 1
}

leader_id > /dev/null
echo "learners  load_s  leader_cpu_ms  leader_MB_sent  leader_msgs  visible_p50_ms  visible_p99_ms  visible_max_ms"
count=0
for want in $steps; do
  while [ "$count" -lt "$want" ]; do
    count=$((count + 1))
    id=$((3 + count))
    via=$((1 + count % 3))
    token=$("$paxosfs" token create --data "$root/n$via" 2>/dev/null)
    "$paxosfs" join --peer "$(addr "$via")" --token "$token" --data "$root/n$id" \
      --listen "$(addr "$id")" --no-mount > "$root/n$id.log" 2>&1 &
    pid[$id]=$!
    # Joins are admitted one at a time by the leader; pace them.
    [ $((count % 5)) = 0 ] && wait_caught_up "$count"
  done
  wait_caught_up "$count"
  l=$(leader_id)
  learners=""
  for ((j = 4; j < 4 + count; j++)); do learners+="$(addr "$j"),"; done
  line=$("$probe" --mount "$root/mnt1" --writer "$(addr 1)" \
    --leader "$(addr "$l")" --leader-pid "${pid[$l]}" --learners "$learners" \
    --data "$root/n1" \
    --writes "$writes" --samples "$samples")
  get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  printf "%8s  %6s  %13s  %14.1f  %11s  %14s  %14s  %14s\n" "$count" \
    "$(get load_s)" "$(get leader_cpu_ms)" "$(awk -v b="$(get leader_bytes_sent)" 'BEGIN {print b / 1e6}')" \
    "$(get leader_msgs_sent)" "$(get visible_p50_ms)" "$(get visible_p99_ms)" \
    "$(get visible_max_ms)"
done
