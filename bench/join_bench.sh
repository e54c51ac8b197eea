#!/usr/bin/env bash
# How long `paxosfs join` takes to bring a new node up to date with ~1 GiB of
# data (large incompressible files and many small ones), next to copying the
# same data with `cp -a` on the local disk and into a paxosfs mount (issue 6).
# Starts a 3-voter cluster on loopback, fills it through node 1's mount, then
# joins a fourth node REPEATS times (each a fresh data directory and port,
# removed from the cluster afterwards) and prints medians.
#
# Usage: bench/join_bench.sh [BUILD_DIR] (env: BIG_FILES=18, BIG_MB=50,
#        SMALL_FILES=4000, SMALL_KB=25, SMALL_DIRS=40, REPEATS=3,
#        WORK=/var/tmp, PORT=7931, SNAPSHOT_RATE=0, TIMEOUT_S=1800)
set -euo pipefail
build=${1:-build}
big_files=${BIG_FILES:-18}
big_mb=${BIG_MB:-50}
small_files=${SMALL_FILES:-4000}
small_kb=${SMALL_KB:-25}
small_dirs=${SMALL_DIRS:-40}
repeats=${REPEATS:-3}
port=${PORT:-7931}
# --snapshot-rate bounds what a node *sends*, so it must be given to the
# serving nodes (node 2 sends the snapshot), not only to the joiner; 0 lets
# the join run as fast as it can (the default, 64 MiB/s, would be the limit).
rate=${SNAPSHOT_RATE:-0}
timeout_s=${TIMEOUT_S:-1800}
paxosfs="$build/cli/paxosfs"
[ -x "$paxosfs" ] || { echo "join_bench: $paxosfs missing; build first (cmake --build $build --target paxosfs)" >&2; exit 1; }

root=$(mktemp -d "${WORK:-/var/tmp}/paxosfs-joinbench.XXXXXX")
pids=()
stop() {  # stop PID: SIGTERM, then SIGKILL if it has not exited within 20 s.
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do stop "$p"; done
  for i in 1 2 3; do fusermount3 -u "$root/mnt$i" 2>/dev/null || true; done
  # A failed run keeps its logs (they are small) to find out why.
  if [ "$rc" -ne 0 ]; then
    mkdir -p "$root.logs" && cp "$root"/*.log "$root.logs/" 2>/dev/null || true
    echo "join_bench: failed; logs kept in $root.logs" >&2
  fi
  rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "-")}'; }
addr() { echo "127.0.0.1:$((port + $1 - 1))"; }
# in_sync PEER [NODE_ID...]: succeeds (printing the leader's applied index)
# when there is a leader and the named nodes (default: every member, all of
# which must answer) have applied as far as it and have its digest.
in_sync() {
  local peer=$1
  shift
  "$paxosfs" status --data "$root/node1" --peer "$peer" --json 2>/dev/null | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
live = [n for n in nodes if "error" not in n]
lead = [n for n in live if n["is_leader"]]
want = sys.argv[1:]
check = [n for n in live if not want or n["node_id"] in want]
ok = lead and len(check) == (len(want) if want else len(nodes)) and all(
    n["applied_index"] == lead[0]["applied_index"] and
    n["digest"] == lead[0]["digest"] for n in check)
print(lead[0]["applied_index"] if lead else "-")
sys.exit(0 if ok else 1)' "$@" 2>/dev/null
}
wait_for() {  # wait_for WHAT COMMAND...: polls until COMMAND succeeds.
  local what=$1 deadline=$(( $(date +%s) + timeout_s ))
  shift
  until "$@" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "join_bench: timed out waiting for $what" >&2; tail -n 20 "$root"/*.log >&2; exit 1; }
    sleep 0.2
  done
}

# 1. A 3-voter cluster on loopback, one mount per node.
members="1@$(addr 1),2@$(addr 2),3@$(addr 3)"
for i in 1 2 3; do
  mkdir -p "$root/mnt$i"
  ca_from=()  # Node 1 makes the CA; the other founders share it.
  [ "$i" = 1 ] || ca_from=(--ca-from "$root/node1/tls")
  "$paxosfs" init --data "$root/node$i" --listen "$(addr "$i")" --node-id "$i" \
    --members "$members" --cluster-id bench "${ca_from[@]}" > "$root/init$i.log" 2>&1
done
for i in 1 2 3; do
  "$paxosfs" serve --data "$root/node$i" --mount "$root/mnt$i" \
    --snapshot-rate "$rate" > "$root/node$i.log" 2>&1 &
  pids+=($!)
done
has_leader() { "$paxosfs" status --data "$root/node1" --json 2>/dev/null | grep -q '"is_leader":true'; }
wait_for "a leader" has_leader

# 2. The data set, on the same disk as everything else, then into node 1's
# mount. Random bytes so that no layer can compress them away.
src="$root/src"
python3 - "$src" "$big_files" "$big_mb" "$small_files" "$small_kb" "$small_dirs" <<'EOF'
import os, sys
src, big, big_mb, small, small_kb, dirs = sys.argv[1], *map(int, sys.argv[2:])
os.makedirs(f"{src}/big")
for i in range(big):
    with open(f"{src}/big/f{i:03}", "wb") as f:
        for _ in range(big_mb):
            f.write(os.urandom(1 << 20))
for d in range(dirs):
    os.makedirs(f"{src}/small/d{d:02}")
for i in range(small):
    with open(f"{src}/small/d{i % dirs:02}/s{i:05}", "wb") as f:
        f.write(os.urandom(small_kb << 10))
EOF
sync
bytes=$(find "$src" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
files=$(find "$src" -type f | wc -l)

t0=$(now)
cp -a "$src" "$root/mnt1/data"
sync
t1=$(now)
mount_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
wait_for "the three nodes to agree" in_sync "$(addr 1)"
settle_s=$(awk -v a="$t1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')
t0=$(now)
applied=$(in_sync "$(addr 1)" || true)
status_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')
echo "data set copied into node 1's mount in $mount_s s; nodes agreed $settle_s s later" >&2

# 3. The local-disk reference: the same copy between two local directories,
# made durable, each run into a fresh directory (the source is in the page
# cache for every target alike).
cp_s=""
for ((r = 1; r <= repeats; r++)); do
  t0=$(now)
  cp -a "$src" "$root/copy$r"
  sync
  cp_s+="$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}') "
  rm -rf "$root/copy$r"
done

# 4. Joins: from the start of `paxosfs join` until the new node has applied
# as far as the leader with the same digest.
join_s="" snap_s="" snap_mib=""
for ((r = 1; r <= repeats; r++)); do
  me=$(addr $((3 + r)))
  log="$root/join$r.log"
  : > "$log"  # so that the first look for "admitted" finds a file
  t0=$(now)
  token=$("$paxosfs" token create --data "$root/node2" 2>/dev/null)
  "$paxosfs" join --peer "$(addr 2)" --token "$token" --data "$root/join$r" --listen "$me" \
    --no-mount --snapshot-rate 0 > "$log" 2>&1 &
  jpid=$!
  pids+=("$jpid")
  alive() { kill -0 "$jpid" 2>/dev/null || { cat "$log" >&2; exit 1; }; }
  in_log() { alive && grep -q "$1" "$log"; }
  # Each status call hashes every node's whole store (GetStatus computes the
  # digest), seconds at 1 GiB, so look at the joiner's log until it has
  # installed the snapshot and poll status only for the last stretch.
  wait_for "join $r to be admitted" in_log "admitted as node"
  id=$(sed -n 's/.*admitted as node \([0-9]*\).*/\1/p' "$log")
  wait_for "join $r to install its snapshot" in_log "installed the snapshot"
  # In sync as of the start of the status call that says so (the call
  # itself takes seconds; calls that time out still count against the join).
  joined() { alive && t1=$(now) && in_sync "$me" "$id"; }
  wait_for "join $r to catch up" joined
  took=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
  join_s+="$took "
  line=$(grep "installed the snapshot" "$log" || echo "(no 'installed the snapshot' line)")
  echo "join $r (node $id) in sync after $took s: $line" >&2
  snap_mib+="$(sed -n 's/.*: \([0-9.]*\) MiB in \([0-9.]*\) s.*/\1/p' <<<"$line") "
  snap_s+="$(sed -n 's/.*: \([0-9.]*\) MiB in \([0-9.]*\) s.*/\2/p' <<<"$line") "
  stop "$jpid"
  # `members` gives up if node 1 does not answer a status call within 2 s,
  # before asking for any change, so retrying is safe.
  for try in 1 2 3 4 5 6; do
    "$paxosfs" members --data "$root/node1" remove "$id" >> "$root/remove$r.log" 2>&1 && break
    [ "$try" -lt 6 ] || { cat "$root/remove$r.log" >&2; exit 1; }
    sleep 2
  done
  rm -rf "$root/join$r"
done

# 5. The table. MB = 10^6 bytes; ratios are times against cp on the local disk.
# Warning (W) and error (E) lines of the nodes and joiners, to look at.
errors=$({ grep -hE '^[0-9TZ:.-]+ [WE] ' "$root"/node?.log "$root"/join?.log || true; } | tee "$root/problems" | wc -l)
[ "$errors" -eq 0 ] || { echo "warnings and errors in the logs (first 20):" >&2; head -n 20 "$root/problems" >&2; }
awk -v bytes="$bytes" -v files="$files" -v cp="$(median <<<"$cp_s")" \
    -v mnt="$mount_s" -v join="$(median <<<"$join_s")" -v snap="$(median <<<"$snap_s")" \
    -v mib="$(median <<<"$snap_mib")" -v n="$repeats" -v settle="$settle_s" \
    -v applied="$applied" -v errors="$errors" -v rate="$rate" -v status="$status_s" 'BEGIN {
  printf "\ndata set: %.2f GiB in %d files; log applied index %s; snapshot %.1f MiB\n", bytes / 2^30, files, applied, mib
  printf "%-36s %9s %9s %11s\n", "(median of " n " unless noted)", "s", "MB/s", "vs cp local"
  row("cp -a local + sync", cp, bytes)
  row("cp -a into node 1 mount + sync (1x)", mnt, bytes)
  row("join total (until in sync)", join, bytes)
  row("  snapshot transfer+install", snap, mib * 2^20)
  printf "(nodes agreed %.2f s after the copy into the mount; one status --json of 3 nodes took %.2f s;\n", settle, status
  printf " snapshot send rate bound %s MiB/s (0: none); %d warning/error lines in the node logs)\n", rate, errors
}
function row(name, s, b) { printf "%-36s %9.2f %9.1f %10.2fx\n", name, s, (s > 0 ? b / 1e6 / s : 0), (cp > 0 ? s / cp : 0) }'
