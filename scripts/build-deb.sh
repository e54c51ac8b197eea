#!/usr/bin/env bash
# Builds the Debian package paxosfs_<version>-<release>_<arch>.deb with CPack
# (packaging/CPackConfig.cmake) from a Release-like build without tests,
# compiled with Debian's hardening flags (dpkg-buildflags), and prints its
# path on the last line.
#
# Usage: scripts/build-deb.sh [BUILD_DIR] [extra cmake args...]
#   BUILD_DIR defaults to build-deb/.
#   PAXOSFS_DEB_VERSION_SUFFIX=+test2  appended to the package version
#                                      (upgrade tests: a newer package)
#   PAXOSFS_DEB_RELEASE=2              the Debian revision (default 1)
#   JOBS=N                             parallel compile jobs (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-deb}
shift || true

bash scripts/install-deps.sh
for tool in dpkg-shlibdeps dpkg-buildflags; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-deb: $tool is missing; install dpkg-dev" \
      "(apt-get install dpkg-dev)" >&2
    exit 1
  fi
done

cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S . -B "$build_dir" -G Ninja \
  -DPAXOSFS_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS=$cxxflags" \
  "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" \
  "-DPAXOSFS_DEB_VERSION_SUFFIX=${PAXOSFS_DEB_VERSION_SUFFIX:-}" \
  "-DPAXOSFS_DEB_RELEASE=${PAXOSFS_DEB_RELEASE:-1}" \
  "$@" >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
# CPack writes every file of the package as owned by root.
(cd "$build_dir" && rm -f ./*.deb && cpack -G DEB >cpack.log) || {
  echo "build-deb: cpack failed; see $build_dir/cpack.log and" \
    "$build_dir/_CPack_Packages/" >&2
  exit 1
}
deb=$(ls "$build_dir"/paxosfs_*.deb)
echo "build-deb: built $deb"
echo "$deb"
