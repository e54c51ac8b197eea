#!/usr/bin/env bash
# `paxosfs --version` names the release and the schema; `--help` lists usage;
# an unknown flag fails with a message that names it.
set -uo pipefail
bin=${1:?usage: version_test.sh PAXOSFS_BINARY}

out=$("$bin" --version) || { echo "--version failed"; exit 1; }
[[ "$out" =~ ^paxosfs\ [0-9]+\.[0-9]+\.[0-9]+\ \(schema\ [0-9]+\)$ ]] ||
  { echo "unexpected --version output: $out"; exit 1; }

"$bin" --help | grep -q 'Usage:' || { echo "--help has no usage"; exit 1; }

if err=$("$bin" --no-such-flag 2>&1); then
  echo "unknown flag accepted"
  exit 1
fi
grep -q 'no-such-flag' <<<"$err" || { echo "error does not name the flag: $err"; exit 1; }
echo "cli version test: ok"
