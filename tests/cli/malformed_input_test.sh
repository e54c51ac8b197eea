#!/usr/bin/env bash
# Every `paxosfs` command refuses malformed input with the exit code of
# cli/README.md (2: fix the command line; 1: understood but failed), a
# message naming the culprit, and no damage: a data directory it was to
# create is absent afterwards, one that existed is unchanged.
#
# The cases are the table below, one per line:
#   EXIT | MESSAGE SUBSTRING | AFTERWARDS | COMMAND LINE
# AFTERWARDS is `-`, `absent PATH` or `same PATH` (every file under PATH
# has the same contents and mode as before the command). The command line
# is split like a shell's and may use the variables set below ($P1: the
# running node's address, $TOKEN: a valid token of its cluster, ...).
# Paths are relative to a scratch directory. Only 127.0.0.1 is contacted.
set -uo pipefail
bin=$(realpath "${1:?usage: malformed_input_test.sh PAXOSFS_BINARY}")
tmp=$(mktemp -d)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2> /dev/null
    wait "$serve_pid" 2> /dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "malformed input test: $*"; exit 1; }
cd "$tmp" || exit 1

# Ports for this run, so parallel runs do not collide.
base=$((20000 + ($$ % 2000) * 10))
P1=127.0.0.1:$base     # the running node, cluster c1
P2=127.0.0.1:$((base + 1))  # `idle`, initialised, never started
P3=127.0.0.1:$((base + 2))  # `other`, a node of cluster c2
PJ=127.0.0.1:$((base + 3))  # where joiners would listen
PDOWN=127.0.0.1:$((base + 4))  # a learner that never runs

"$bin" init --data node1 --listen "$P1" --cluster-id c1 > init.log 2>&1 ||
  fail "cannot init node1: $(cat init.log)"
"$bin" init --data idle --listen "$P2" --cluster-id c1b > /dev/null 2>&1 ||
  fail "cannot init idle"
"$bin" init --data other --listen "$P3" --cluster-id c2 > /dev/null 2>&1 ||
  fail "cannot init other"
"$bin" serve --data node1 --no-mount > serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do  # Up to 30 s on a loaded machine.
  "$bin" status --data node1 > /dev/null 2>&1 && break
  kill -0 "$serve_pid" 2> /dev/null || fail "node1 died: $(cat serve.log)"
  sleep 0.3
done
"$bin" status --data node1 > /dev/null 2>&1 || fail "node1 never answered"
TOKEN=$("$bin" token create --data node1 2> /dev/null) || fail "no token"
OTHER_TOKEN=$("$bin" token create --data other 2> /dev/null) || fail "no token"
TRUNCATED=${TOKEN:0:40}
touch afile
mkdir -p empty mnt full half/tls
touch full/x
printf 'data = relative\n' > relative.conf
printf 'data = /x\nmountpoint = /y\n' > unknown-key.conf
printf 'reserve-mib = 1G\n' > reserve.conf

cases=$(cat <<'EOF'
# Unknown commands and options.
2 | paxosfs: The following argument was not expected: frob | - | frob
2 | paxosfs: The following argument was not expected: --bogus | - | --bogus
2 | paxosfs init: The following argument was not expected: --bogus | absent n | init --data n --listen $PJ --bogus
2 | paxosfs token: A subcommand is required | - | token
2 | paxosfs members: The following argument was not expected: frob | - | members --data node1 frob

# init: required flags, addresses, ids, members, paths.
2 | --data is required | - | init --listen $PJ
2 | --listen is required | absent n | init --data n
2 | '127.0.0.1' has no port | absent n | init --data n --listen 127.0.0.1
2 | port '0', which is not a number from 1 to 65535 | absent n | init --data n --listen 127.0.0.1:0
2 | port '65536' | absent n | init --data n --listen 127.0.0.1:65536
2 | port 'abc' | absent n | init --data n --listen 127.0.0.1:abc
2 | ':7000' has no host | absent n | init --data n --listen :7000
2 | --listen: '' is empty | absent n | init --data n --listen ''
2 | a character a host name cannot hold | absent n | init --data n --listen 'a b:7000'
2 | put an IPv6 host in brackets | absent n | init --data n --listen ::1:7000
2 | --node-id: '0' is not a whole number from 1 to 1000000 | absent n | init --data n --listen $PJ --node-id 0
2 | --node-id: '-1' | absent n | init --data n --listen $PJ --node-id -1
2 | --node-id: 'abc' | absent n | init --data n --listen $PJ --node-id abc
2 | --node-id: '99999999999999999999999' | absent n | init --data n --listen $PJ --node-id 99999999999999999999999
2 | --node-id: At Most 1 required but received 2 | absent n | init --data n --listen $PJ --node-id 1 --node-id 2
2 | --cluster-id: 'a/b' is not a cluster id | absent n | init --data n --listen $PJ --cluster-id a/b
2 | --cluster-id: '' is not a cluster id | absent n | init --data n --listen $PJ --cluster-id ''
2 | --members: bad member 'x' | absent n | init --data n --listen $PJ --members x
2 | its address '127.0.0.1:0' has port '0' | absent n | init --data n --listen $PJ --members 1@$PJ,2@127.0.0.1:0
2 | is given to two nodes | absent n | init --data n --listen $PJ --members 1@$PJ,2@$PJ
2 | member id 1 appears twice | absent n | init --data n --listen $PJ --members 1@$PJ,1@$P1
2 | node id 2000000 is too large | absent n | init --data n --listen $PJ --members 1@$PJ,2000000@$P1
2 | does not list this node (3) | absent n | init --data n --listen $PJ --node-id 3 --members 1@$PJ
2 | make them the same | absent n | init --data n --listen $PJ --members 1@$P1
1 | already holds node 1 of cluster 'c1' | same node1/tls | init --data node1 --listen $P1
1 | --data afile is a file, not a directory | same afile | init --data afile --listen $PJ
1 | cannot create --data afile/n: Not a directory | same afile | init --data afile/n --listen $PJ
1 | cannot create --data /proc/paxosfs-test/n | - | init --data /proc/paxosfs-test/n --listen $PJ
1 | --data full is not empty (it holds 'x') | same full | init --data full --listen $PJ
1 | an init or join was interrupted. Remove it (rm -r half) | same half | init --data half --listen $PJ
1 | --ca-from: cannot read nowhere/ca.key | absent deep | init --data deep/er/n --listen $PJ --ca-from nowhere
1 | --ca-from: cannot read afile/ca.key | same empty | init --data empty --listen $PJ --ca-from afile
1 | the CA is of cluster 'c2', not 'c9' | absent n | init --data n --listen $PJ --cluster-id c9 --ca-from other/tls

# serve: flags, config file, data directory, mount point.
2 | give --data DIR | - | serve --no-mount
2 | give --mount DIR (an empty directory), or --no-mount | same idle | serve --data idle
2 | --mount excludes --no-mount | same idle | serve --data idle --mount mnt --no-mount
2 | --snapshot-rate: '-1' is not a whole number from 0 to 1048576 (MiB/s) | same idle | serve --data idle --no-mount --snapshot-rate -1
2 | --snapshot-rate: '10G' | same idle | serve --data idle --no-mount --snapshot-rate 10G
2 | --snapshot-rate: '99999999999999999999999' | same idle | serve --data idle --no-mount --snapshot-rate 99999999999999999999999
2 | --log-keep-slots: '0' is not a whole number from 1 | same idle | serve --data idle --no-mount --log-keep-slots 0
2 | --log-keep-mib: '1.5' | same idle | serve --data idle --no-mount --log-keep-mib 1.5
2 | --log-keep-mib: '18446744073709551615' | same idle | serve --data idle --no-mount --log-keep-mib 18446744073709551615
2 | --reserve-mib: '-5' is not a whole number from 0 to 1048576 (MiB) | same idle | serve --data idle --no-mount --reserve-mib -5
2 | reserve.conf:1: reserve-mib: '1G' is not a whole number | - | serve --config reserve.conf
2 | --config: not found: nowhere.conf | - | serve --config nowhere.conf
2 | --config: invalid argument: mnt is a directory | - | serve --config mnt
2 | relative.conf:1: 'data = relative' is not an absolute path | - | serve --config relative.conf
2 | unknown-key.conf:2: unknown key 'mountpoint'; write 'mount = DIR' | - | serve --config unknown-key.conf
1 | nowhere is not a paxosfs data directory | absent nowhere | serve --data nowhere --no-mount
1 | afile is not a paxosfs data directory | same afile | serve --data afile --no-mount
1 | nowhere-mnt cannot be used: No such file or directory; create it | same idle | serve --data idle --mount nowhere-mnt
1 | afile is not a directory | same idle | serve --data idle --mount afile
1 | full is not empty | same idle | serve --data idle --mount full

# token create.
2 | bad --ttl '0' | same node1/tls | token create --data node1 --ttl 0
2 | bad --ttl '-1h' | same node1/tls | token create --data node1 --ttl -1h
2 | bad --ttl '1x' | same node1/tls | token create --data node1 --ttl 1x
2 | bad --ttl '31d' | same node1/tls | token create --data node1 --ttl 31d
2 | bad --ttl '99999999999999999999d' | same node1/tls | token create --data node1 --ttl 99999999999999999999d
1 | nowhere is not a paxosfs data directory | absent nowhere | token create --data nowhere

# join: flags, tokens, peers, directories.
2 | --peer is required | absent j | join --data j --listen $PJ --no-mount --token $TOKEN
2 | --peer: '127.0.0.1' has no port | absent j | join --peer 127.0.0.1 --data j --listen $PJ --no-mount --token $TOKEN
2 | --listen: 'garbage' has no port | absent j | join --peer $P1 --data j --listen garbage --no-mount --token $TOKEN
2 | is the address of --peer | absent j | join --peer $P1 --data j --listen $P1 --no-mount --token $TOKEN
2 | give --mount DIR (an empty directory), or --no-mount | absent j | join --peer $P1 --data j --listen $PJ --token $TOKEN
2 | --mount excludes --no-mount | absent j | join --peer $P1 --data j --listen $PJ --mount mnt --no-mount --token $TOKEN
2 | j holds no node yet, so give --token | absent j | join --peer $P1 --data j --listen $PJ --no-mount
2 | holds no node yet, so give --token | absent j | join --peer $P1 --data j --listen $PJ --no-mount --token ''
2 | --token: 'garbage' is not a paxosfs join token | absent j | join --peer $P1 --data j --listen $PJ --no-mount --token garbage
2 | is not a paxosfs join token | absent j | join --peer $P1 --data j --listen $PJ --no-mount --token $TRUNCATED
1 | no answer from 127.0.0.1:1 | absent j | join --peer 127.0.0.1:1 --data j --listen $PJ --no-mount --token $TOKEN
1 | another CA than the token's | absent j | join --peer $P1 --data j --listen $PJ --no-mount --token $OTHER_TOKEN
1 | nowhere-mnt cannot be used | absent j | join --peer $P1 --data j --listen $PJ --mount nowhere-mnt --token $TOKEN
1 | --data full is not empty | same full | join --peer $P1 --data full --listen $PJ --no-mount --token $TOKEN
1 | --data afile is a file, not a directory | same afile | join --peer $P1 --data afile --listen $PJ --no-mount --token $TOKEN
1 | idle belongs to node 1 listening on | same idle | join --peer $P1 --data idle --listen $PJ --no-mount
1 | already holds a node of another cluster than the token's | same other | join --peer $P1 --data other --listen $P3 --no-mount --token $TOKEN

# status and members.
2 | --peer: 'garbage' has no port | - | status --data node1 --peer garbage
2 | --peer: '127.0.0.1:99999' has port '99999' | - | status --data node1 --peer 127.0.0.1:99999
1 | no answer from 127.0.0.1:1 | - | status --data node1 --peer 127.0.0.1:1
1 | cannot read nowhere/tls/ca.crt | absent nowhere | status --data nowhere
1 | the TLS handshake failed | same other | status --data other --peer $P1
2 | paxosfs members add: address is required | - | members --data node1 add
2 | address: 'garbage' has no port | - | members --data node1 add garbage
2 | address: '127.0.0.1:0' has port '0' | - | members --data node1 add 127.0.0.1:0
2 | node is required | - | members --data node1 promote
2 | node: '0' is not a whole number of 1 or more | - | members --data node1 promote 0
2 | node: 'abc' | - | members --data node1 remove abc
2 | node: '-3' | - | members --data node1 demote -3
2 | --timeout-ms: '-5' is not a whole number from 1 to 3600000 | - | members --data node1 --timeout-ms -5 add $PDOWN
2 | --timeout-ms: 'abc' | - | members --data node1 --timeout-ms abc
1 | node 99 is not a member | - | members --data node1 promote 99
1 | node 99 is not a member | - | members --data node1 remove 99
1 | no answer from 127.0.0.1:1 | - | members --data node1 --peer 127.0.0.1:1
0 | add node 2: done | - | members --data node1 add $PDOWN
3 | down | - | status --data node1

# rebuild: only a stopped, initialised member; nothing moved on refusal.
2 | --peer: 'garbage' has no port | same idle | rebuild --data idle --peer garbage
1 | nowhere does not hold an initialized paxosfs node | absent nowhere | rebuild --data nowhere
1 | the node is running | - | rebuild --data node1
1 | no member answered, so nothing was changed | same idle | rebuild --data idle --peer 127.0.0.1:1

# demo.
2 | --nodes: '0' is not a whole number from 1 to 9 | absent d | demo --dir d --nodes 0
2 | --nodes: 'abc' | absent d | demo --dir d --nodes abc
2 | --base-port: '80' is not a whole number from 1024 to 65000 | absent d | demo --dir d --base-port 80
1 | --dir afile: cannot create | same afile | demo --dir afile
EOF
)

# A listing of PATH (names, modes, sizes, contents) to compare.
snapshot() {
  [ -e "$1" ] || { echo absent; return; }
  find "$1" -printf '%p %m %s\n' | sort
  find "$1" -type f -print0 | sort -z | xargs -0 -r sha256sum
}

n=0
failures=0
while IFS= read -r line; do
  case $line in '' | '#'*) continue ;; esac
  IFS='|' read -r rc pattern after args <<< "$line"
  rc=$(echo $rc)
  pattern=$(sed 's/^ *//; s/ *$//' <<< "$pattern")
  read -r after_kind after_path <<< "$after"
  before=
  [ "$after_kind" = same ] && before=$(snapshot "$after_path")
  eval "set -- $args"
  out=$(timeout 60 "$bin" "$@" 2>&1 < /dev/null)
  got=$?
  n=$((n + 1))
  problem=
  if [ "$got" != "$rc" ]; then
    problem="exit $got, expected $rc"
  elif ! grep -qF -- "$pattern" <<< "$out"; then
    problem="message lacks '$pattern'"
  elif [ "$after_kind" = absent ] && [ -e "$after_path" ]; then
    problem="left $after_path behind"
  elif [ "$after_kind" = same ] && [ "$(snapshot "$after_path")" != "$before" ]; then
    problem="changed $after_path"
  fi
  if [ -n "$problem" ]; then
    failures=$((failures + 1))
    echo "FAIL: paxosfs$(printf ' %q' "$@"): $problem"
    echo "  output: $(head -c 600 <<< "$out")"
  fi
done <<< "$cases"
[ "$failures" = 0 ] || fail "$failures of $n cases failed"
echo "malformed input test: ok ($n cases)"
