#!/usr/bin/env bash
# Enforces the module layout of DESIGN.md: every module folder exists, and no
# source file includes a header its module must not know. Dependencies point
# one way: fuse -> replica, fsm; replica -> log; fsm -> snapshot; cli -> all.
# Usage: check_layout.sh SOURCE_ROOT
set -uo pipefail
root=${1:?usage: check_layout.sh SOURCE_ROOT}
cd "$root" || exit 2

failures=0
fail() {
  echo "layout: $*" >&2
  failures=$((failures + 1))
}

for dir in proto log replica fsm snapshot fuse cli common tls tests bench packaging; do
  [ -d "$dir" ] || fail "missing module folder $dir/"
done
[ -f CMakeLists.txt ] || fail "missing top-level CMakeLists.txt"

# Headers no module but the named ones may include.
grpc='#include[[:space:]]*[<"](grpc|grpcpp)/|\.grpc\.pb\.h'
sqlite='#include[[:space:]]*[<"]sqlite3\.h'
fuse='#include[[:space:]]*[<"]fuse(3)?/|#include[[:space:]]*[<"]fuse_lowlevel\.h'
threads='#include[[:space:]]*<(thread|mutex|condition_variable|future|chrono)>'
module() { printf '#include[[:space:]]*"(%s)/' "$1"; }

# check DIR DESCRIPTION REGEX: no C++ file under DIR may match REGEX.
check() {
  local dir=$1 what=$2 regex=$3
  [ -d "$dir" ] || return 0
  local hits
  hits=$(grep -rnE --include='*.h' --include='*.cc' "$regex" "$dir" || true)
  if [ -n "$hits" ]; then
    fail "$dir must not include $what:"
    echo "$hits" | sed 's/^/  /' >&2
  fi
}

check common "another module" "$(module 'proto|log|replica|fsm|snapshot|fuse|cli')"
check common "gRPC, SQLite or FUSE" "$grpc|$sqlite|$fuse"
# tls/ knows certificates and gRPC credentials, not what a cluster does.
check tls "another module" "$(module 'proto|log|replica|fsm|snapshot|fuse|cli')"
check log "a module above it" "$(module 'proto|replica|fsm|snapshot|fuse|cli')"
check log "gRPC, SQLite or FUSE" "$grpc|$sqlite|$fuse"
# The consensus core is pure: no I/O libraries, no threads, no clocks.
check replica/core "gRPC, SQLite or FUSE" "$grpc|$sqlite|$fuse"
check replica/core "threads or clocks" "$threads"
check replica/core "another module" "$(module 'log|fsm|snapshot|fuse|cli')"
check replica "SQLite or FUSE" "$sqlite|$fuse"
check replica "the filesystem" "$(module 'fsm|snapshot|fuse|cli')"
check fsm "gRPC or FUSE" "$grpc|$fuse"
check fsm "log, fuse or cli" "$(module 'log|fuse|cli')"
check snapshot "FUSE" "$fuse"
check snapshot "Paxos internals or modules above it" "$(module 'replica|fsm|fuse|cli|log')"
check fuse "SQLite" "$sqlite"
check fuse "Paxos internals or storage" "$(module 'replica/core|log|snapshot|cli')"

if [ "$failures" -ne 0 ]; then
  echo "layout: $failures violation(s); see DESIGN.md, 'Modules'" >&2
  exit 1
fi
echo "layout: ok"
