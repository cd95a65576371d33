#!/bin/bash
# modern-up.sh SUITE DIR — a real, modern Slurm lab cluster (Debian trixie: 24.11, sid: 26.05) in a
# minbase Debian root at DIR, with its own network namespace, run as root on a Debian 12 host, next to (and
# never touching) the host's own lab cluster (127.0.0.1:6817/6818/17001-17004, /run/munge, /etc/slurm).
#
#   root      DIR: `debootstrap --variant=minbase SUITE` + munge slurmctld slurmd slurm-client slurmdbd
#             mariadb-server curl, unpacked from a cached tarball ($CACHE/SUITE-slurm.tar.zst, built once from
#             $CACHE/SUITE-minbase.tar.zst, both rebuilt after MAX_AGE_D days or with REBUILD=1)
#   isolation network namespace slurm-SUITE (only lo: 127.0.0.1 + 10.217.0.1/32, see below); DIR/proc (own proc, ro
#             DIR/sys sysfs), DIR/dev (tmpfs: null zero full random urandom tty, new devpts, shm), DIR/run (tmpfs);
#             no host tree is bound in (no cgroups needed: proctrack/linuxproc, task/none,
#             cgroup.conf CgroupPlugin=disabled); every daemon runs as `ip netns exec slurm-SUITE chroot DIR …`
#   cluster   the host lab's shape: node0 (slurmd port 6818, gres gpu:fake:2 on mknod'ed /run/slurm/fakedev/
#             nvidia[0-1]), c1..c3 (`slurmd -N cN`, ports 17001-17003), c4 (declared, no slurmd, DOWN);
#             partitions debug (default) / gpu / long; licenses matlab:4 ansys:2; users alice bob carol;
#             slurmdbd + MariaDB with accounts physics/chemistry/biology under science (WITH_DBD=1);
#             Slurm >= 25.11: MetricsType=metrics/openmetrics (GET http://127.0.0.1:6817/metrics/… in the netns)
#   wrappers  DIR-bin/{squeue,sinfo,sdiag,scontrol,sshare,sacctmgr,sacct,sprio,sbatch,scancel,srun,curl-native,
#             lab-exec}: `PATH=DIR-bin:$PATH slurmpush …` runs this cluster's CLI from the host
#
# Env knobs:
#   WITH_DBD=1   MariaDB + slurmdbd (accounting, sshare, sacctmgr); 0: accounting_storage/none
#   JOBS=1       submit the lab job mix (slurm-jobs.sh beside this script, run inside the root) on a fresh start
#   RESV=1       then create a reservation (alice_future: c4, for alice, starts in 7 days: no node state changes)
#   CLEAN=1      restart slurmctld with its state wiped (slurmctld -c) when the root is already up
#   REBUILD=1    rebuild both cached tarballs; MAX_AGE_D=7 rebuilds them when older
#   MIRROR=http://deb.debian.org/debian   WAIT_S=90 (nodes to become idle)
# Idempotent: a second call with the root up only checks it and rewrites the wrappers.
# Stop with modern-down.sh SUITE DIR.
set -euo pipefail
SUITE=${1:?usage: modern-up.sh trixie|sid DIR}
DIR=${2:?usage: modern-up.sh trixie|sid DIR}
case "$SUITE" in trixie | sid) ;; *) echo "SUITE must be trixie or sid (got $SUITE)" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot, mount, ip netns)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CACHE:-/var/cache/slurm-lab-modern}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MAX_AGE_D=${MAX_AGE_D:-7}
WITH_DBD=${WITH_DBD:-1} JOBS=${JOBS:-1} RESV=${RESV:-1} CLEAN=${CLEAN:-0} REBUILD=${REBUILD:-0} WAIT_S=${WAIT_S:-90}
PKGS="munge slurmctld slurmd slurm-client slurmdbd mariadb-server curl procps"
NS=slurm-$SUITE
mkdir -p "$DIR" "$CACHE"
DIR=$(cd "$DIR" && pwd -P)
case "$DIR" in / | /tmp | /root | /home | /usr | /var | /etc | /run | /run/*) echo "refusing DIR=$DIR" >&2; exit 2 ;; esac
# never a folder that holds this checkout (a root is removed by the down script)
case "$HERE/" in "$DIR"/*) echo "refusing DIR=$DIR: it holds $HERE" >&2; exit 2 ;; esac
BIN="$DIR-bin"
STATE="$DIR/.lab-modern"
T0=$(date +%s.%N)
log() { awk -v a="$T0" -v b="$(date +%s.%N)" -v m="$*" 'BEGIN{printf "[chroot-up %s %6.1fs] %s\n", "'"$SUITE"'", b-a, m}'; }
die() { echo "[chroot-up $SUITE] ERROR: $*" >&2; exit 1; }
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- helpers
source "$HERE/modern-lib.sh" # mounts_under, pids_in_root
fresh_enough() { [ -s "$1" ] && [ "$REBUILD" != 1 ] && [ $(($(date +%s) - $(stat -c %Y "$1"))) -lt $((MAX_AGE_D * 86400)) ]; }

# ---------------------------------------------------------------- the cached roots
# $CACHE/SUITE-minbase.tar.*: the debootstrap result; $CACHE/SUITE-slurm.tar.*: plus the packages
build_cache() {
  local ext base full b r t
  ext=$(zst_or_gz)
  base="$CACHE/$SUITE-minbase.tar.$ext" full="$CACHE/$SUITE-slurm.tar.$ext"
  if fresh_enough "$full" && grep -qxF "pkgs $PKGS" "$CACHE/$SUITE-slurm.info" 2>/dev/null; then
    CACHED=$full; return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null; }
  }
  b=$(mktemp -d "$CACHE/build-$SUITE.XXXXXX")
  r="$b/root"; mkdir -p "$r"
  trap 'umount_all "'"$r"'" || true; rm -rf --one-file-system "'"$b"'"' EXIT
  if fresh_enough "$base"; then
    log "unpacking cached $(basename "$base")"
    unpack "$base" "$r"
  else
    t=$(date +%s)
    log "debootstrap --variant=minbase $SUITE $r $MIRROR (log: $CACHE/debootstrap-$SUITE.log)"
    timeout 1500 debootstrap --variant=minbase "$SUITE" "$r" "$MIRROR" >"$CACHE/debootstrap-$SUITE.log" 2>&1 ||
      die "debootstrap failed: $(grep -E '^[EW]:' "$CACHE/debootstrap-$SUITE.log" | tail -2 | tr '\n' ' ')"
    [ -z "$(mounts_under "$r")" ] || die "debootstrap left mounts under $r"
    rm -rf "$r"/var/cache/apt/archives/*.deb
    pack "$r" "$base"
    log "minbase $SUITE built in $(($(date +%s) - t))s: $(du -m "$base" | cut -f1) MB packed"
  fi
  t=$(date +%s)
  # packages: the host's resolver for apt, no service starts (policy-rc.d), its own proc/dev/run
  cp -L /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  echo "deb $MIRROR $SUITE main" >"$r/etc/apt/sources.list"
  # the mirror may serve a suite whose Release file's Valid-Until has passed (sid here: "expired 27d ago"),
  # as the host's own apt settings allow
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$r/etc/apt/apt.conf.d/99lab-modern"
  rm -f "$r"/etc/apt/sources.list.d/*
  mount_root "$r"
  log "apt-get install $PKGS (log: $CACHE/apt-$SUITE.log)"
  # shellcheck disable=SC2086
  if ! chroot "$r" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $PKGS" >"$CACHE/apt-$SUITE.log" 2>&1; then
    die "apt-get install failed: $(grep -E '^E:' "$CACHE/apt-$SUITE.log" | tail -2 | tr '\n' ' ')"
  fi
  chroot "$r" /usr/bin/env -i PATH=$PATH_IN apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* && mkdir -p "$r/var/lib/apt/lists/partial"
  umount_all "$r" || die "could not unmount the build root $r"
  pack "$r" "$full"
  {
    echo "built $(date -Is)"
    echo "suite $SUITE"
    echo "mirror $MIRROR"
    echo "pkgs $PKGS"
    chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' munge slurmctld slurmd slurm-client slurmdbd mariadb-server curl
  } >"$CACHE/$SUITE-slurm.info"
  rm -rf --one-file-system "$b"; trap - EXIT
  log "slurm root for $SUITE built in $(($(date +%s) - t))s: $(du -m "$full" | cut -f1) MB packed"
  CACHED=$full
}

# ---------------------------------------------------------------- in the root
inroot() { ip netns exec "$NS" chroot "$DIR" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 "$@" 9>&-; }
# daemon NAME CMD…: start a daemon in the root; what it prints before detaching goes to $STATE/NAME.start.log
daemon() { local n=$1; shift; inroot "$@" </dev/null >"$STATE/$n.start.log" 2>&1; }
# pid_of FILE (a path inside the root): the PID it names, if alive and running in this root
pid_of() {
  local p l
  p=$(cat "$DIR$1" 2>/dev/null) && [ -n "$p" ] && l=$(readlink "/proc/$p/root" 2>/dev/null) && [ "$l" = "$DIR" ] && echo "$p"
}
alive() { pid_of "$1" >/dev/null; }

exec 9>"$CACHE/$SUITE.lock"
flock -w 1800 9 || die "another modern-up.sh $SUITE holds $CACHE/$SUITE.lock"

# ---------------------------------------------------------------- 1. root
if [ -f "$STATE/suite" ]; then
  [ "$(cat "$STATE/suite")" = "$SUITE" ] || die "$DIR holds a $(cat "$STATE/suite") root"
  log "root $DIR exists"
else
  [ -z "$(ls -A "$DIR" 2>/dev/null)" ] || die "$DIR is not empty and not a lab-modern root"
  [ -z "$(mounts_under "$DIR")" ] || die "something is mounted under $DIR"
  build_cache
  log "unpacking $(basename "$CACHED") into $DIR"
  unpack "$CACHED" "$DIR"
  chmod 755 "$DIR"
  rm -f "$DIR/etc/munge/munge.key" # the package's key is in the tarball: every root gets its own
  mkdir -p "$STATE"; echo "$SUITE" >"$STATE/suite"
fi
VERSION=$(chroot "$DIR" dpkg-query -W -f '${Version}' slurmctld | sed 's/-.*//')
echo "$VERSION" >"$STATE/version"
log "Slurm $VERSION ($(chroot "$DIR" dpkg-query -W -f '${Version}' slurmctld))"

# ---------------------------------------------------------------- 2. namespace and mounts
if ! ip netns list | grep -qw "^$NS"; then
  ip netns add "$NS"
fi
ip -n "$NS" link set lo up
# one more IPv4 address on lo: Slurm resolves names with AF_INET + AI_ADDRCONFIG, and glibc's AI_ADDRCONFIG does not
# count 127.0.0.1, so with lo alone every name fails ("Unable to resolve", slurmdbd/slurmctld fatal)
ip -n "$NS" -4 addr show dev lo | grep -q ' 10\.217\.0\.1/' || ip -n "$NS" addr add 10.217.0.1/32 dev lo
echo "$NS" >"$STATE/netns"
mount_root "$DIR"
log "netns $NS (lo up), mounts: $(mounts_under "$DIR" | sed "s|^$DIR||" | sort | tr '\n' ' ')"

# ---------------------------------------------------------------- 3. users, dirs, config
HOST=$(hostname -s)
printf '127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$HOST" >"$DIR/etc/hosts"
rm -f "$DIR/etc/resolv.conf"; : >"$DIR/etc/resolv.conf" # nothing to resolve in the netns
for u in alice bob carol; do chroot "$DIR" id "$u" >/dev/null 2>&1 || chroot "$DIR" useradd -M -s /bin/bash "$u"; done
chroot "$DIR" id slurm >/dev/null 2>&1 || die "no slurm user in the root"
mkdir -p "$DIR"/run/munge "$DIR"/run/slurm/fakedev "$DIR"/var/lib/slurm/slurmctld "$DIR"/var/log/slurm "$DIR"/var/lib/munge "$DIR"/var/log/munge
for n in node0 c1 c2 c3; do mkdir -p "$DIR/var/lib/slurm/slurmd/$n"; done
chroot "$DIR" chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 755 "$DIR/run/munge"; chmod 700 "$DIR/var/lib/munge" "$DIR/var/log/munge"
chroot "$DIR" chown slurm:slurm /run/slurm /var/lib/slurm/slurmctld /var/log/slurm
[ -c "$DIR/run/slurm/fakedev/nvidia0" ] || mknod "$DIR/run/slurm/fakedev/nvidia0" c 195 0
[ -c "$DIR/run/slurm/fakedev/nvidia1" ] || mknod "$DIR/run/slurm/fakedev/nvidia1" c 195 1

METRICS=""
if ls "$DIR"/usr/lib/*/slurm-wlm/metrics_openmetrics.so >/dev/null 2>&1; then METRICS="MetricsType=metrics/openmetrics"; fi
source "$HERE/slurm-conf.sh"
lab_slurm_conf "# generated by modern-up.sh ($SUITE, Slurm $VERSION): the host lab's shape, in netns $NS" "$HOST" "$WITH_DBD" \
  "$METRICS" > "$DIR/etc/slurm/slurm.conf.new"
lab_gres_conf > "$DIR/etc/slurm/gres.conf.new"
cat >"$DIR/etc/slurm/cgroup.conf.new" <<EOF
# the root has no cgroup tree: Slurm must not touch cgroups at all
CgroupPlugin=disabled
EOF
conf_changed=0
for f in slurm.conf gres.conf cgroup.conf; do
  if ! cmp -s "$DIR/etc/slurm/$f.new" "$DIR/etc/slurm/$f"; then mv "$DIR/etc/slurm/$f.new" "$DIR/etc/slurm/$f"; conf_changed=1; else rm "$DIR/etc/slurm/$f.new"; fi
  chmod 644 "$DIR/etc/slurm/$f"
done

# ---------------------------------------------------------------- 4. munge
[ -s "$DIR/etc/munge/munge.key" ] || chroot "$DIR" mungekey --create --keyfile=/etc/munge/munge.key
chroot "$DIR" chown munge:munge /etc/munge/munge.key; chmod 400 "$DIR/etc/munge/munge.key"
if ! alive /run/munge/munged.pid; then
  daemon munged runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do inroot sh -c 'munge -n | unmunge' >/dev/null 2>&1 && break; sleep 0.1; done
fi
inroot sh -c 'munge -n | unmunge' >/dev/null 2>&1 || die "munged did not come up: $(tail -3 "$DIR/var/log/munge/munged.log" 2>/dev/null)"
log "munged up (pid $(pid_of /run/munge/munged.pid))"

# ---------------------------------------------------------------- 5. MariaDB + slurmdbd
if [ "$WITH_DBD" = 1 ]; then
  # the server's own socket and pid file (trixie: /run/mysqld/, sid: /run/mariadbd/), which its client and
  # slurmdbd's libmariadb (StorageHost=localhost) also use
  MYSOCK=$(chroot "$DIR" /usr/sbin/mariadbd --print-defaults | grep -o -- '--socket=[^ ]*' | cut -d= -f2)
  MYPID=$(chroot "$DIR" /usr/sbin/mariadbd --print-defaults | grep -o -- '--pid-file=[^ ]*' | cut -d= -f2)
  MYSOCK=${MYSOCK:-/run/mysqld/mysqld.sock} MYPID=${MYPID:-/run/mysqld/mysqld.pid}
  echo "$MYPID" >"$STATE/mariadb.pidfile"
  for d in "$(dirname "$MYSOCK")" "$(dirname "$MYPID")"; do mkdir -p "$DIR$d"; chroot "$DIR" chown mysql:root "$d"; done
  [ -d "$DIR/var/lib/mysql/mysql" ] || inroot mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$STATE/mariadb-install.log" 2>&1 ||
    die "mariadb-install-db failed: $(tail -3 "$STATE/mariadb-install.log")"
  if ! alive "$MYPID"; then
    # mariadbd stays in the foreground: started in the background, the subshell exec'ing into it (so it holds
    # neither the lock nor our stdout)
    (
      exec 9>&- </dev/null >/dev/null 2>&1
      exec ip netns exec "$NS" chroot "$DIR" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 setsid \
        /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket="$MYSOCK" \
        --pid-file="$MYPID" --skip-networking --innodb-buffer-pool-size=64M \
        --innodb-log-file-size=48M --log-error=/var/lib/mysql/mariadb.err
    ) &
    for _ in $(seq 150); do inroot mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  inroot mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'testlabpw';
    ALTER USER 'slurm'@'localhost' IDENTIFIED BY 'testlabpw';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;" ||
    die "MariaDB did not answer: $(tail -3 "$DIR/var/lib/mysql/mariadb.err")"
  log "mariadbd up (pid $(pid_of "$MYPID"), socket $MYSOCK)"
  lab_slurmdbd_conf >"$DIR/etc/slurm/slurmdbd.conf"
  chroot "$DIR" chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 "$DIR/etc/slurm/slurmdbd.conf"
  alive /run/slurm/slurmdbd.pid || daemon slurmdbd slurmdbd || die "slurmdbd: $(tail -3 "$STATE/slurmdbd.start.log")"
  deadline=$(($(date +%s) + 30))
  while ! inroot sacctmgr -n show cluster >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    [ -s "$DIR/run/slurm/slurmdbd.pid" ] && ! alive /run/slurm/slurmdbd.pid && break # it died
    sleep 0.3
  done
  inroot sacctmgr -n show cluster >/dev/null 2>&1 || die "slurmdbd did not come up: $(tail -5 "$DIR/var/log/slurm/slurmdbd.log")"
  if [ -z "$(inroot sacctmgr -n -P show assoc where user=carol account=biology format=user 2>/dev/null)" ]; then
    inroot sh -c '
      sacctmgr -i add cluster testlab
      sacctmgr -i add account science Description=science Organization=testlab Fairshare=100
      sacctmgr -i add account physics   parent=science Description=physics   Organization=testlab Fairshare=50
      sacctmgr -i add account chemistry parent=science Description=chemistry Organization=testlab Fairshare=30
      sacctmgr -i add account biology   parent=science Description=biology   Organization=testlab Fairshare=20
      sacctmgr -i add user alice account=physics   Fairshare=10
      sacctmgr -i add user bob   account=chemistry Fairshare=10
      sacctmgr -i add user carol account=biology   Fairshare=10
      sacctmgr -i add user alice account=chemistry Fairshare=5' >"$STATE/sacctmgr.log" 2>&1 || true
  fi
  log "slurmdbd up (pid $(pid_of /run/slurm/slurmdbd.pid)), associations: $(inroot sacctmgr -n -P show assoc format=account,user | grep -c .)"
fi

# ---------------------------------------------------------------- 6. slurmctld
stop_pidfile() { local p; p=$(pid_of "$1") || return 0; kill "$p"; for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$p" 2>/dev/null || true; }
fresh_ctld=0
if alive /run/slurm/slurmctld.pid && { [ "$CLEAN" = 1 ] || [ "$conf_changed" = 1 ]; }; then stop_pidfile /run/slurm/slurmctld.pid; fi
if ! alive /run/slurm/slurmctld.pid; then
  if [ "$CLEAN" = 1 ] || [ ! -s "$DIR/var/lib/slurm/slurmctld/node_state" ]; then
    rm -f "$DIR"/var/lib/slurm/slurmctld/{assoc_usage,qos_usage,priority_last_decay_ran}{,.old}
    daemon slurmctld slurmctld -c -i || die "slurmctld: $(tail -3 "$STATE/slurmctld.start.log")"
    fresh_ctld=1
  else
    daemon slurmctld slurmctld -i || die "slurmctld: $(tail -3 "$STATE/slurmctld.start.log")"
  fi
fi
for _ in $(seq 150); do inroot scontrol ping 2>/dev/null | grep -q 'is UP' && break; alive /run/slurm/slurmctld.pid || break; sleep 0.2; done
inroot scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld did not come up: $(tail -5 "$DIR/var/log/slurm/slurmctld.log")"
log "slurmctld up (pid $(pid_of /run/slurm/slurmctld.pid))${METRICS:+, $METRICS}"

# ---------------------------------------------------------------- 7. slurmd x4
for n in node0 c1 c2 c3; do
  if [ "$conf_changed" = 1 ]; then stop_pidfile "/run/slurm/slurmd-$n.pid"; fi
  alive "/run/slurm/slurmd-$n.pid" || daemon "slurmd-$n" slurmd -N "$n" || die "slurmd -N $n: $(tail -3 "$STATE/slurmd-$n.start.log")"
done
inroot scontrol update nodename=c4 state=down reason="testlab: no slurmd for c4" 2>/dev/null || true
deadline=$(($(date +%s) + WAIT_S))
while :; do
  for n in node0 c1 c2 c3; do
    st=$(inroot sinfo -h -n "$n" -o %T 2>/dev/null | head -1)
    case "$st" in drain* | drained | down | inval*) inroot scontrol update nodename="$n" state=resume 2>/dev/null || true ;; esac
  done
  states=$(inroot sinfo -h -N -n "node0,c[1-3]" -o '%N %T' | sort -u)
  echo "$states" | grep -qvE ' (idle|mixed|allocated|reserved|maint)$' || break
  [ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for nodes: $(echo "$states" | tr '\n' ' '); $(tail -3 "$DIR/var/log/slurm/slurmd-node0.log")"
  sleep 0.5
done
log "slurmd x4 up ($(for n in node0 c1 c2 c3; do printf '%s:%s ' "$n" "$(pid_of "/run/slurm/slurmd-$n.pid")"; done)), nodes: $(echo "$states" | tr '\n' ' ')"

# ---------------------------------------------------------------- 8. wrappers for host programs
mkdir -p "$BIN"
for c in squeue sinfo sdiag scontrol sshare sacctmgr sacct sprio sbatch scancel srun sstat; do
  cat >"$BIN/$c" <<EOF
#!/bin/sh
# $c of the lab-modern $SUITE cluster (Slurm $VERSION) in netns $NS, root $DIR
unset SLURM_CONF
exec ip netns exec $NS chroot $DIR /usr/bin/$c "\$@"
EOF
  chmod 755 "$BIN/$c"
done
cat >"$BIN/curl-native" <<EOF
#!/bin/sh
# curl-native [ENDPOINT [CURL-ARGS…]] — GET http://127.0.0.1:6817/metrics/ENDPOINT (jobs, nodes, partitions,
# scheduler, jobs-users-accts; none: the index) of the lab-modern $SUITE slurmctld, inside netns $NS.
# curl-native http://… [CURL-ARGS…] fetches that URL instead.
case "\${1:-}" in
  http://*) exec ip netns exec $NS chroot $DIR /usr/bin/curl -sS --max-time 10 "\$@" ;;
esac
ep=\${1:-}; [ \$# -gt 0 ] && shift
exec ip netns exec $NS chroot $DIR /usr/bin/curl -sS --max-time 10 "\$@" "http://127.0.0.1:6817/metrics\${ep:+/\$ep}"
EOF
cat >"$BIN/lab-exec" <<EOF
#!/bin/sh
# lab-exec CMD [ARGS…] — run CMD in the lab-modern $SUITE root $DIR, in netns $NS
unset SLURM_CONF
exec ip netns exec $NS chroot $DIR "\$@"
EOF
chmod 755 "$BIN/curl-native" "$BIN/lab-exec"
log "wrappers in $BIN: $(ls "$BIN" | tr '\n' ' ')"

# ---------------------------------------------------------------- 9. job mix, reservations
if [ "$JOBS" = 1 ] && { [ "$fresh_ctld" = 1 ] || [ -z "$(inroot squeue -h -o %i 2>/dev/null)" ]; }; then
  mkdir -p "$DIR/usr/local/lib/lab-modern"
  cp "$HERE/slurm-jobs.sh" "$DIR/usr/local/lib/lab-modern/slurm-jobs.sh"
  inroot bash /usr/local/lib/lab-modern/slurm-jobs.sh >"$STATE/jobs.log" 2>&1 || die "job mix failed: $(tail -5 "$STATE/jobs.log")"
  log "job mix submitted: $(inroot squeue -h -r -t all -o %T | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')"
fi
if [ "$RESV" = 1 ] && ! inroot scontrol show reservation -o 2>/dev/null | grep -q 'ReservationName=alice_future'; then
  inroot scontrol create reservation ReservationName=alice_future StartTime=now+7days Duration=02:00:00 \
    Nodes=c4 Users=alice >"$STATE/resv.log" 2>&1 || log "reservation alice_future failed: $(cat "$STATE/resv.log")"
  log "reservations: $(inroot scontrol show reservation -o | grep -o 'ReservationName=[^ ]*' | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- 10. native metrics
if [ -n "$METRICS" ]; then
  ok=""
  for ep in jobs nodes partitions scheduler jobs-users-accts; do
    code=$(inroot curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:6817/metrics/$ep" || true)
    ok="$ok $ep=$code"
  done
  log "native metrics (http://127.0.0.1:6817/metrics/… in $NS):$ok"
else
  log "native metrics: none (no metrics_openmetrics.so in Slurm $VERSION; MetricsType is 25.11+)"
fi

# ---------------------------------------------------------------- record
{
  for f in /run/munge/munged.pid $(cat "$STATE/mariadb.pidfile" 2>/dev/null) /run/slurm/slurmdbd.pid /run/slurm/slurmctld.pid /run/slurm/slurmd-node0.pid /run/slurm/slurmd-c1.pid /run/slurm/slurmd-c2.pid /run/slurm/slurmd-c3.pid; do
    p=$(pid_of "$f") && echo "$(basename "$f" .pid) $p"
  done
} >"$STATE/pids"
log "pids: $(tr '\n' ' ' <"$STATE/pids")"
inroot sinfo
log "done: PATH=$BIN:\$PATH squeue … (Slurm $VERSION, netns $NS)"
