#!/usr/bin/env bash
# `paxosfs init` creates a data directory once, and refuses bad input with a
# message that says what to fix.
set -uo pipefail
bin=${1:?usage: init_test.sh PAXOSFS_BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "init test: $*"; exit 1; }

out=$("$bin" init --data "$tmp/n1" --listen 127.0.0.1:7001 --node-id 1 \
        --cluster-id c1 --members 1@127.0.0.1:7001,2@127.0.0.1:7002 2>&1) ||
  fail "init failed: $out"
grep -q 'cluster_id=c1' "$tmp/n1/identity" || fail "identity lacks the cluster id"
[ "$(stat -c %a "$tmp/n1/identity")" = 600 ] || fail "identity is not 0600"

for f in ca.crt ca.key node.crt node.key; do
  [ "$(stat -c %a "$tmp/n1/tls/$f")" = 600 ] || fail "tls/$f is not 0600"
done
[ "$(stat -c %a "$tmp/n1/tls")" = 700 ] || fail "tls/ is not 0700"
key_before=$(sha256sum < "$tmp/n1/tls/node.key")
out=$("$bin" init --data "$tmp/m2" --listen 127.0.0.1:7002 --node-id 2 \
        --cluster-id c1 --members 1@127.0.0.1:7001,2@127.0.0.1:7002 \
        --ca-from "$tmp/n1/tls" 2>&1) || fail "init --ca-from failed: $out"
cmp -s "$tmp/n1/tls/ca.crt" "$tmp/m2/tls/ca.crt" || fail "--ca-from did not share the CA"
if command -v openssl > /dev/null; then
  openssl verify -CAfile "$tmp/n1/tls/ca.crt" "$tmp/m2/tls/node.crt" > /dev/null ||
    fail "node 2's certificate does not verify against node 1's CA"
fi

expect_error() {  # expect_error PATTERN ARGS...: init fails, stderr matches.
  local pattern=$1
  shift
  local err
  if err=$("$bin" init "$@" 2>&1); then fail "accepted: $*"; fi
  grep -qi -- "$pattern" <<<"$err" || fail "error for '$*' lacks '$pattern': $err"
}
expect_error "already holds node 1 of cluster 'c1'" --data "$tmp/n1" --listen 127.0.0.1:7001
expect_error "--listen" --data "$tmp/n2"
expect_error "does not list this node" --data "$tmp/n3" --listen 127.0.0.1:7003 \
  --node-id 3 --members 1@127.0.0.1:7001
expect_error "make them the same" --data "$tmp/n4" --listen 127.0.0.1:7004 \
  --node-id 1 --members 1@127.0.0.1:9999
expect_error "bad member 'x'" --data "$tmp/n5" --listen 127.0.0.1:7005 --members x
expect_error "node-id" --data "$tmp/n6" --listen 127.0.0.1:7006 --node-id 0
expect_error "ca.key" --data "$tmp/n7" --listen 127.0.0.1:7007 \
  --ca-from "$tmp/n1"
expect_error "--ca-from" --data "$tmp/n8" --listen 127.0.0.1:7008 \
  --cluster-id other --ca-from "$tmp/n1/tls"
[ "$(sha256sum < "$tmp/n1/tls/node.key")" = "$key_before" ] ||
  fail "a refused init replaced node 1's key"
for d in n3 n7 n8; do
  [ ! -e "$tmp/$d" ] || fail "a refused init left $d behind"
done
echo "init test: ok"
