#!/usr/bin/env bash
# shellcheck disable=SC2016  # dpkg-query formats are literal.
# The .deb end to end, in a clean Debian 12 root made with debootstrap:
#   1. builds the package (scripts/build-deb.sh) and a newer one (version
#      suffix +debtest2), and runs lintian on it (fails on any error);
#   2. installs it with apt into the clean root: `paxosfs --version`,
#      `man paxosfs`, the conffile, `systemd-analyze verify` of the unit;
#   3. runs a 3-node cluster from the installed binary on 127.0.0.1, each
#      node `paxosfs init` then `paxosfs serve --config /etc/paxosfs/nodeN.conf`
#      in the background; writes through one mount and reads on the others;
#   4. upgrades to the newer package and sees the data kept (and the cluster
#      still writing);
#   5. removes (config kept) and purges (config gone); the data stays.
# Everything it starts is stopped, unmounted and unbound on exit, failing or
# not (trap).
#
# Usage (as root, with /dev/fuse and the Debian mirror reachable):
#   tests/packaging/deb_test.sh [OLD_DEB NEW_DEB]
# Without arguments it builds both packages in build-deb/.
# Environment:
#   PAXOSFS_DEBIAN_MIRROR  mirror for debootstrap (default: the Debian mirror
#                          of /etc/apt/sources.list*, else deb.debian.org)
#   PAXOSFS_DEB_TEST_PORT  first peer port (default 17411; nodes use 3)
#   PAXOSFS_DEB_TEST_KEEP=1  keep the root directory for inspection
#   PAXOSFS_DEB_TEST_CACHE   where the root tarball is cached
#                            (default /var/cache/paxosfs-deb-test)
# The clean root is cached as a tarball in /var/cache/paxosfs-deb-test/, so
# only the first run runs debootstrap. Not part of scripts/test.sh (CI):
# it needs root, the network and a few minutes (see README, "Install from a
# .deb").
set -euo pipefail
cd "$(dirname "$0")/../.."


t0=$SECONDS
step() { printf '\n=== [%3ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() {
  echo "deb_test: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot, mounts)"
[ -c /dev/fuse ] || fail "/dev/fuse is missing (modprobe fuse)"

# Test-only host dependencies (tests/packaging/deps.txt).
mapfile -t deps < <(grep -v '^#' tests/packaging/deps.txt | grep .)
missing=()
for p in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing test dependencies: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi

work=$(mktemp -d /var/tmp/paxosfs-deb-test.XXXXXX)
root=$work/root
mkdir -p "$root"
pids=()
binds=()

cleanup() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  done
  # FUSE mounts left inside the root, deepest first.
  grep -o " $root/[^ ]*" /proc/mounts | sort -r | while read -r m; do
    case " ${binds[*]} " in *" $m "*) continue ;; esac
    fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  for ((i = ${#binds[@]} - 1; i >= 0; i--)); do
    umount -l "${binds[i]}" 2>/dev/null
  done
  if grep -q " $root/" /proc/mounts; then
    echo "deb_test: mounts left under $root; not deleting it" >&2
  elif [ "${PAXOSFS_DEB_TEST_KEEP:-0}" = 1 ]; then
    echo "deb_test: kept $work"
  else
    rm -rf "$work"
  fi
  if [ $rc -eq 0 ]; then
    echo "deb_test: PASS in $((SECONDS - t0)) s"
  else
    echo "deb_test: FAIL (exit $rc) after $((SECONDS - t0)) s" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" 2>/dev/null; do
    [ $SECONDS -lt $end ] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- packages
if [ $# -eq 2 ]; then
  old_deb=$(realpath "$1")
  new_deb=$(realpath "$2")
else
  step "building the package (scripts/build-deb.sh)"
  old_deb=$(bash scripts/build-deb.sh build-deb | tail -1)
  cp "$old_deb" "$work/"
  old_deb=$work/$(basename "$old_deb")
  step "building a newer package (version suffix +debtest2)"
  new_deb=$(PAXOSFS_DEB_VERSION_SUFFIX=+debtest2 \
    bash scripts/build-deb.sh build-deb | tail -1)
  cp "$new_deb" "$work/"
  new_deb=$work/$(basename "$new_deb")
  # Leave build-deb/ configured for the ordinary version.
  bash scripts/build-deb.sh build-deb >/dev/null
fi
old_version=$(dpkg-deb -f "$old_deb" Version)
new_version=$(dpkg-deb -f "$new_deb" Version)
dpkg --compare-versions "$new_version" gt "$old_version" ||
  fail "$new_version is not newer than $old_version"
echo "old: $old_deb ($old_version)"
echo "new: $new_deb ($new_version)"

step "lintian $(basename "$old_deb")"
lintian -I --fail-on error "$old_deb" || fail "lintian reports errors"
echo "lintian: no errors (tags above, if any, are warnings or info)"

# ------------------------------------------------------------- clean root
step "clean Debian 12 root"
mirror=${PAXOSFS_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '(https?://[^ ]*/debian)/?( |$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -v security | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
cache=${PAXOSFS_DEB_TEST_CACHE:-/var/cache/paxosfs-deb-test}
tarball=$cache/bookworm-minbase-systemd-man.tar.gz
if [ ! -f "$tarball" ]; then
  echo "debootstrap from $mirror (first run; cached in $tarball)"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=systemd,man-db \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap failed; see $work/debootstrap.log"
  in_root apt-get clean
  tar -C "$root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
  echo "from the cached $tarball"
  tar -C "$root" -xzf "$tarball"
fi

for fs in dev proc sys; do
  mount --bind "/$fs" "$root/$fs"
  binds+=("$root/$fs")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As in any chroot: packages must not start services here.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# ----------------------------------------------------------------- install
step "apt install ./$(basename "$old_deb")"
cp "$old_deb" "$new_deb" "$root/tmp/"
in_root apt-get update -q >"$work/apt-update.log" 2>&1 ||
  fail "apt-get update in the root failed; see $work/apt-update.log"
in_root apt-get install -y -q "/tmp/$(basename "$old_deb")" \
  >"$work/install.log" 2>&1 ||
  {
    cat "$work/install.log"
    fail "installing the package failed"
  }
grep -E '^(Setting up|Unpacking) ' "$work/install.log" | sed 's/^/  /'

step "installed: --version, man page, conffile, unit"
version_line=$(in_root paxosfs --version)
echo "$version_line"
[[ "$version_line" =~ ^paxosfs\ [0-9.]+\ \(schema\ [0-9]+\)$ ]] ||
  fail "unexpected --version: $version_line"
in_root env MANPAGER=cat MANWIDTH=80 man paxosfs >"$work/man.txt" ||
  fail "man paxosfs failed"
for want in '--config FILE' 'CONFIGURATION'; do
  grep -q -- "$want" "$work/man.txt" || fail "man paxosfs lacks '$want'"
done
echo "man paxosfs: $(wc -l <"$work/man.txt") lines"
in_root dpkg-query -W -f='${Conffiles}\n' paxosfs | grep -q /etc/paxosfs/main.conf ||
  fail "/etc/paxosfs/main.conf is not a conffile"
[ -d "$root/var/lib/paxosfs" ] || fail "/var/lib/paxosfs was not created"
# verify instantiates the template and checks ExecStart and the man page.
in_root systemd-analyze verify /lib/systemd/system/paxosfs@.service \
  >"$work/verify.log" 2>&1 ||
  {
    cat "$work/verify.log"
    fail "systemd-analyze verify paxosfs@.service failed"
  }
cat "$work/verify.log"
echo "systemd-analyze verify paxosfs@.service: ok"

step "a bad configuration file names the file, the line and the fix"
printf 'data = /var/lib/paxosfs/x\nmountpoint = /srv/x\n' >"$root/etc/paxosfs/bad.conf"
if in_root paxosfs serve --config /etc/paxosfs/bad.conf 2>"$work/bad.txt"; then
  fail "serve accepted a bad configuration file"
fi
cat "$work/bad.txt"
grep -q "/etc/paxosfs/bad.conf:2: unknown key 'mountpoint'; write 'mount = DIR'" \
  "$work/bad.txt" || fail "unexpected error for a bad configuration file"
rm "$root/etc/paxosfs/bad.conf"

# ----------------------------------------------------------------- cluster
port=${PAXOSFS_DEB_TEST_PORT:-17411}
members="1@127.0.0.1:$port,2@127.0.0.1:$((port + 1)),3@127.0.0.1:$((port + 2))"
mnt() { echo "$root/srv/paxosfs/node$1"; }

start_node() {
  local i=$1
  chroot "$root" /usr/bin/paxosfs serve --config "/etc/paxosfs/node$i.conf" \
    >>"$work/node$i.log" 2>&1 &
  pids[i - 1]=$!
}

start_cluster() {
  for i in 1 2 3; do start_node "$i"; done
  for i in 1 2 3; do wait_for 30 "the mount of node $i" mountpoint -q "$(mnt "$i")"; done
  wait_for 30 "a leader" bash -c \
    "chroot '$root' paxosfs status --data /var/lib/paxosfs/node1 | grep -qi leader"
}

stop_cluster() {
  for i in 1 2 3; do kill -TERM "${pids[i - 1]}"; done
  for i in 1 2 3; do
    wait "${pids[i - 1]}" || fail "node $i exited with an error; see $work/node$i.log"
    mountpoint -q "$(mnt "$i")" && fail "node $i left its mount behind"
  done
  pids=()
}

# write_retry FILE CONTENT: a write may fail with EAGAIN during an election.
write_retry() {
  wait_for 30 "a write to $1" bash -c "printf '%s' '$2' > '$1'"
}

step "3-node cluster: init, serve --config"
for i in 1 2 3; do
  ca_from=()
  [ "$i" -gt 1 ] && ca_from=(--ca-from /var/lib/paxosfs/node1/tls)
  in_root paxosfs init --data "/var/lib/paxosfs/node$i" --node-id "$i" \
    --listen "127.0.0.1:$((port + i - 1))" --cluster-id debtest \
    --members "$members" "${ca_from[@]}"
  mkdir -p "$(mnt "$i")"
  cat >"$root/etc/paxosfs/node$i.conf" <<EOF
# node $i of the deb_test cluster (paxosfs@node$i.service would run it)
data = /var/lib/paxosfs/node$i
mount = /srv/paxosfs/node$i
verbose = false
EOF
done
start_cluster
in_root paxosfs status --data /var/lib/paxosfs/node1

step "write on node 1, read on nodes 2 and 3"
write_retry "$(mnt 1)/hello.txt" "written on node 1 before the upgrade"
head -c 8M /dev/urandom >"$work/big.bin"
cp "$work/big.bin" "$(mnt 1)/big.bin"
for i in 2 3; do
  wait_for 15 "hello.txt on node $i" grep -q "before the upgrade" "$(mnt "$i")/hello.txt"
  cmp "$work/big.bin" "$(mnt "$i")/big.bin" || fail "big.bin differs on node $i"
done
echo "hello.txt and an 8 MiB file read back on nodes 2 and 3"

# ----------------------------------------------------------------- upgrade
step "upgrade to $new_version"
stop_cluster
in_root apt-get install -y -q "/tmp/$(basename "$new_deb")" \
  >"$work/upgrade.log" 2>&1 ||
  {
    cat "$work/upgrade.log"
    fail "upgrading the package failed"
  }
[ "$(in_root dpkg-query -W -f='${Version}' paxosfs)" = "$new_version" ] ||
  fail "the installed version is not $new_version"
grep -q '^data = /var/lib/paxosfs/main' "$root/etc/paxosfs/main.conf" ||
  fail "the conffile changed on upgrade"
for i in 1 2 3; do
  [ -f "$root/var/lib/paxosfs/node$i/identity" ] ||
    fail "node $i's data directory lost on upgrade"
done
start_cluster
for i in 1 2 3; do
  wait_for 15 "hello.txt on node $i after the upgrade" \
    grep -q "before the upgrade" "$(mnt "$i")/hello.txt"
  cmp "$work/big.bin" "$(mnt "$i")/big.bin" ||
    fail "big.bin differs on node $i after the upgrade"
done
write_retry "$(mnt 3)/after.txt" "written on node 3 after the upgrade"
wait_for 15 "after.txt on node 1" grep -q "after the upgrade" "$(mnt 1)/after.txt"
echo "data kept across the upgrade; node 3 writes, node 1 reads"
stop_cluster

# ------------------------------------------------------------ remove/purge
step "apt remove: binary gone, configuration and data kept"
in_root apt-get remove -y -q paxosfs >"$work/remove.log" 2>&1 ||
  {
    cat "$work/remove.log"
    fail "apt-get remove failed"
  }
[ ! -e "$root/usr/bin/paxosfs" ] || fail "/usr/bin/paxosfs left after remove"
[ -f "$root/etc/paxosfs/main.conf" ] || fail "remove deleted the conffile"
[ -f "$root/var/lib/paxosfs/node1/identity" ] || fail "remove deleted data"

step "apt purge: configuration gone, data kept"
in_root apt-get purge -y -q paxosfs >"$work/purge.log" 2>&1 ||
  {
    cat "$work/purge.log"
    fail "apt-get purge failed"
  }
[ ! -e "$root/etc/paxosfs" ] || fail "/etc/paxosfs left after purge: $(ls "$root/etc/paxosfs")"
in_root dpkg-query -W -f='${Status}' paxosfs 2>/dev/null | grep -Eq '(^| )installed$' &&
  fail "paxosfs still known to dpkg after purge"
for i in 1 2 3; do
  [ -f "$root/var/lib/paxosfs/node$i/identity" ] ||
    fail "purge deleted node $i's data"
done
echo "kept after purge: $(cd "$root" && echo var/lib/paxosfs/node*)"
