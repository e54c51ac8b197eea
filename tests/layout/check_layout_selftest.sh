#!/usr/bin/env bash
# Proves check_layout.sh can fail: a clean skeleton passes, and each planted
# forbidden include is reported.
set -uo pipefail
checker="$(cd "$(dirname "$0")" && pwd)/check_layout.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make_tree() {
  rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
  for d in proto log replica/core fsm snapshot fuse cli common tls tests bench packaging; do
    mkdir -p "$tmp/tree/$d"
  done
  touch "$tmp/tree/CMakeLists.txt"
}

make_tree
bash "$checker" "$tmp/tree" >/dev/null 2>&1 || { echo "clean tree rejected"; exit 1; }

expect_rejected() {
  local file=$1 line=$2
  make_tree
  echo "$line" > "$tmp/tree/$file"
  if bash "$checker" "$tmp/tree" >/dev/null 2>&1; then
    echo "not caught: '$line' in $file"
    exit 1
  fi
}

expect_rejected replica/core/core.h '#include <grpcpp/grpcpp.h>'
expect_rejected replica/core/core.cc '#include <sqlite3.h>'
expect_rejected replica/core/core.cc '#include <thread>'
expect_rejected replica/core/core.cc '#include "log/log.h"'
expect_rejected log/log.cc '#include "replica/core/core.h"'
expect_rejected fsm/fsm.cc '#include <fuse3/fuse_lowlevel.h>'
expect_rejected fuse/fs.cc '#include <sqlite3.h>'
expect_rejected snapshot/store.cc '#include "replica/core/core.h"'
expect_rejected common/status.cc '#include "log/log.h"'
expect_rejected tls/certs.cc '#include "cli/data_dir.h"'
make_tree
rmdir "$tmp/tree/bench"
if bash "$checker" "$tmp/tree" >/dev/null 2>&1; then
  echo "missing module folder not caught"
  exit 1
fi
echo "layout self-test: ok"
