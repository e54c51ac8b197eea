# Sourced by fs_bench.sh: a 3-member etcd cluster on 127.0.0.1 (Debian's
# etcd-server), data in fresh directories under $1, the comparison for
# paxosfs's 16-writer IOPS. Load comes from bench/etcd_load.py.
#
# etcd_start DIR BASE_PORT: members listen on BASE_PORT.. (client port 2i,
#   peer port 2i+1); sets etcd_endpoints and returns 0 once all three answer
#   and a leader exists, else prints why and returns 1.
# etcd_stop: kills the members by PID (TERM, then KILL after 5 s).

etcd_pids="" etcd_endpoints=""

etcd_fail() { echo "fs_bench: etcd skipped: $*" >&2; return 1; }

etcd_start() {
  local dir=$1 base=$2 cluster="" i cp pp
  command -v etcd > /dev/null || { etcd_fail "etcd not installed (etcd-server)"; return 1; }
  for i in 0 1 2; do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
    etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:$((base + 2 * i))"
    if ss -ltn "sport = :$((base + 2 * i))" | grep -q LISTEN ||
       ss -ltn "sport = :$((base + 2 * i + 1))" | grep -q LISTEN; then
      etcd_fail "port $((base + 2 * i)) or $((base + 2 * i + 1)) is taken (ETCD_PORT)"
      return 1
    fi
  done
  mkdir -p "$dir"
  for i in 0 1 2; do
    cp=$((base + 2 * i)) pp=$((base + 2 * i + 1))
    etcd --name "m$i" --data-dir "$dir/m$i" \
      --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "fsbench$$" > "$dir/m$i.log" 2>&1 &
    etcd_pids+="$! "
  done
  for _ in $(seq 1 150); do
    # Health is a quorum read on every endpoint: it needs a leader.
    etcdctl --endpoints="$etcd_endpoints" endpoint health > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  etcd_fail "no healthy 3-member cluster after 30 s (logs: $(tail -2 "$dir/m0.log"))"
}

etcd_stop() {
  local p
  for p in $etcd_pids; do kill "$p" 2> /dev/null || true; done
  for p in $etcd_pids; do
    for _ in $(seq 1 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  etcd_pids=""
}
