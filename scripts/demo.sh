#!/usr/bin/env bash
# The main job (README): installs what is needed, builds, and runs paxosfs.
# Today the node daemon does not exist yet, so this prints the version; once
# issue 5 lands it starts `paxosfs demo`, a 3-node cluster with three mounts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build
./build/cli/paxosfs --version
