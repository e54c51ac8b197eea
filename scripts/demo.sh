#!/usr/bin/env bash
# The main job (README): installs what is needed, builds, and runs a local
# 3-node paxosfs cluster on loopback with three mounted directories
# (demo/node1/mnt, demo/node2/mnt, demo/node3/mnt). Ctrl-C unmounts and stops
# everything. Extra arguments go to `paxosfs demo` (e.g. --dir, --nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build
exec ./build/cli/paxosfs demo "$@"
