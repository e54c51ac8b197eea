# Sourced by fs_bench.sh: a GlusterFS replica-3 volume on this host, started
# and stopped by the benchmark. Its own glusterd runs with a private working
# directory (volume definitions stay out of /var/lib/glusterd), three bricks
# live in fresh directories under $1, and the volume is mounted twice with
# the glusterfs FUSE client (two mounts: write on one, read on the other).
#
# gluster_start DIR: on success sets gluster_m1, gluster_m2 and returns 0; on
#   failure prints why to stderr and returns 1 (gluster_stop still cleans up).
# gluster_stop: unmounts, stops and deletes the volume, kills the bricks, the
#   self-heal daemon and glusterd by PID, removes their logs and run files.

gluster_dir="" gluster_vol="" gluster_pid="" gluster_pids="" gluster_socks=""
gluster_m1="" gluster_m2=""

gluster_fail() { echo "fs_bench: glusterfs skipped: $*" >&2; return 1; }

gluster_start() {
  command -v glusterd > /dev/null || { gluster_fail "glusterd not installed"; return 1; }
  if ss -ltn 'sport = :24007' | grep -q LISTEN; then
    gluster_fail "port 24007 is taken (a glusterd not started by this script?)"
    return 1
  fi
  # Gluster refuses loopback addresses for bricks; the host's own address is
  # still routed over the loopback interface.
  local ip
  ip=$(hostname -I 2> /dev/null | awk '{print $1}')
  [ -n "$ip" ] || { gluster_fail "this host has no non-loopback address for bricks"; return 1; }
  # From here on gluster_stop has something to undo.
  gluster_dir=$1 gluster_vol="fsbench$$"
  mkdir -p "$gluster_dir"/{wd,b1,b2,b3,m1,m2,log}
  cp -r /var/lib/glusterd/groups /var/lib/glusterd/hooks "$gluster_dir/wd/" 2> /dev/null || true
  sed "s|option working-directory .*|option working-directory $gluster_dir/wd|" \
    /etc/glusterfs/glusterd.vol > "$gluster_dir/glusterd.vol"
  glusterd -f "$gluster_dir/glusterd.vol" -p "$gluster_dir/glusterd.pid" \
    -l "$gluster_dir/log/glusterd.log" || { gluster_fail "glusterd did not start"; return 1; }
  for _ in $(seq 1 100); do
    [ -s "$gluster_dir/glusterd.pid" ] && gluster_pid=$(cat "$gluster_dir/glusterd.pid")
    [ -n "$gluster_pid" ] && gluster --mode=script pool list > /dev/null 2>&1 && break
    sleep 0.1
  done
  local g="gluster --mode=script"
  $g volume create "$gluster_vol" replica 3 "$ip:$gluster_dir/b1" "$ip:$gluster_dir/b2" \
    "$ip:$gluster_dir/b3" force > "$gluster_dir/log/create.out" 2>&1 ||
    { gluster_fail "volume create: $(cat "$gluster_dir/log/create.out")"; return 1; }
  $g volume start "$gluster_vol" > "$gluster_dir/log/start.out" 2>&1 ||
    { gluster_fail "volume start: $(cat "$gluster_dir/log/start.out")"; return 1; }
  gluster_pids=$($g volume status "$gluster_vol" --xml 2> /dev/null |
    sed -n 's|.*<pid>\([0-9]*\)</pid>.*|\1|p' | grep -v '^0$' | sort -u | tr '\n' ' ')
  # Their control sockets in /var/run/gluster outlive them; note them here.
  local p m
  for p in $gluster_pids; do
    gluster_socks+="$(tr '\0' '\n' < "/proc/$p/cmdline" | sed -n '/^-S$/{n;p}') "
  done
  for m in m1 m2; do
    mount -t glusterfs -o "log-file=$gluster_dir/log/$m.log" "$ip:/$gluster_vol" \
      "$gluster_dir/$m" || { gluster_fail "mount -t glusterfs failed"; return 1; }
  done
  gluster_m1="$gluster_dir/m1" gluster_m2="$gluster_dir/m2"
}

gluster_stop() {
  [ -n "$gluster_dir" ] && [ -n "$gluster_vol" ] || return 0
  local m p
  for m in "$gluster_dir/m1" "$gluster_dir/m2"; do
    mountpoint -q "$m" && { umount "$m" 2> /dev/null || umount -l "$m"; }
  done
  if [ -n "$gluster_pid" ] && kill -0 "$gluster_pid" 2> /dev/null; then
    timeout 60 gluster --mode=script volume stop "$gluster_vol" force > /dev/null 2>&1
    timeout 30 gluster --mode=script volume delete "$gluster_vol" > /dev/null 2>&1
  fi
  # Bricks and the self-heal daemon normally exit with the volume; these are
  # the PIDs the volume reported, in case they did not.
  for p in $gluster_pids $gluster_pid; do
    kill "$p" 2> /dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$p" 2> /dev/null || true
  done
  local brick_log="${gluster_dir#/}"
  brick_log="${brick_log//\//-}"
  rm -f /var/log/glusterfs/bricks/"$brick_log"-b[123].log
  rm -rf /var/run/gluster/vols/"$gluster_vol" /var/run/gluster/shd/"$gluster_vol"
  for p in $gluster_socks; do [ -S "$p" ] && rm -f "$p"; done
  [ -n "$gluster_pid" ] && rm -f /var/run/glusterd.socket
  gluster_dir="" gluster_vol="" gluster_pid="" gluster_pids="" gluster_socks=""
}
