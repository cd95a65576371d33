#!/bin/bash
# modern-down.sh SUITE DIR — stop the lab-modern cluster that modern-up.sh SUITE DIR started, and undo
# it: jobs cancelled; slurmd x4, slurmctld, slurmdbd, mariadbd, munged stopped by the PIDs in DIR's pid files
# (each PID checked to run in DIR before it is signalled: TERM, 10 s, KILL); then whatever else still runs in DIR
# (by /proc/PID/root) or in netns slurm-SUITE, by PID; every mount under DIR undone (deepest first); the netns
# deleted; DIR and DIR-bin removed (rm --one-file-system, only when nothing is mounted or running there any more).
# The cached tarballs (.cache/lab-modern/) and captured fixtures are never touched. Never touches the host's
# own lab cluster (its processes run in the host's root and network namespace).
#   KEEP=1   keep DIR and DIR-bin (only stop and unmount; modern-up.sh restarts it with its state)
set -uo pipefail
SUITE=${1:?usage: modern-down.sh trixie|sid DIR}
DIR=${2:?usage: modern-down.sh trixie|sid DIR}
case "$SUITE" in trixie | sid) ;; *) echo "SUITE must be trixie or sid" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }
NS=slurm-$SUITE
[ -d "$DIR" ] && DIR=$(cd "$DIR" && pwd -P)
BIN="$DIR-bin"
STATE="$DIR/.lab-modern"
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "[chroot-down $SUITE] $*"; }
if [ -d "$DIR" ] && [ ! -f "$STATE/suite" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
  echo "$DIR is not a lab-modern root (no $STATE/suite): not touching it" >&2; exit 2
fi
[ -f "$STATE/suite" ] && [ "$(cat "$STATE/suite")" != "$SUITE" ] && { echo "$DIR is a $(cat "$STATE/suite") root" >&2; exit 2; }

source "$(cd "$(dirname "$0")" && pwd)/modern-lib.sh" # mounts_under, pids_in_root
in_root() { local l; l=$(readlink "/proc/$1/root" 2>/dev/null) || return 1; case "$l" in "$DIR" | "$DIR"/*) return 0 ;; esac; return 1; }
netns_pids() { ip netns pids "$NS" 2>/dev/null | grep -vx "$$" || true; }
# stop_pids NAME… : "name:pid" words; TERM all, wait up to 10 s, KILL the rest (each re-checked to be in DIR or NS)
ours() { in_root "$1" && return 0; netns_pids | grep -qx "$1"; }
stop_pids() {
  local w p pids=() names=()
  for w in "$@"; do p=${w##*:}; ours "$p" && kill -TERM "$p" 2>/dev/null && { pids+=("$p"); names+=("${w%%:*}($p)"); }; done
  [ ${#pids[@]} -eq 0 ] && return 0
  for _ in $(seq 100); do local any=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && any=1; done; [ $any = 0 ] && break; sleep 0.1; done
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && ours "$p" && kill -KILL "$p" 2>/dev/null && say "KILLed $p"; done
  say "stopped ${names[*]}"
}
pidfile() { local p; p=$(cat "$DIR$1" 2>/dev/null) && [ -n "$p" ] && in_root "$p" && echo "$(basename "$1" .pid):$p"; }

if [ -d "$DIR/proc" ] && ip netns list 2>/dev/null | grep -qw "^$NS" && [ -n "$(pidfile /run/slurm/slurmctld.pid)" ]; then
  ids=$(ip netns exec "$NS" chroot "$DIR" /usr/bin/env -i PATH=$PATH_IN squeue -h -o %i 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS" chroot "$DIR" /usr/bin/env -i PATH=$PATH_IN scancel $ids 2>/dev/null
    for _ in $(seq 40); do
      [ -z "$(ip netns exec "$NS" chroot "$DIR" /usr/bin/env -i PATH=$PATH_IN squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.5
    done
    say "cancelled jobs"
  fi
fi
if [ -d "$DIR/run" ]; then
  # shellcheck disable=SC2046
  stop_pids $(for f in "$DIR"/run/slurm/slurmd-*.pid; do [ -f "$f" ] && pidfile "${f#"$DIR"}"; done)
  stop_pids $(pidfile /run/slurm/slurmctld.pid)
  stop_pids $(pidfile /run/slurm/slurmdbd.pid)
  stop_pids $(pidfile /run/mysqld/mysqld.pid) $(pidfile /run/mariadbd/mysqld.pid)
  stop_pids $(pidfile /run/munge/munged.pid)
fi
# whatever is left (job steps, slurmscriptd, a daemon whose pid file is gone): by PID, three rounds
for round in 1 2 3; do
  left=$( { [ -d "$DIR" ] && pids_in_root "$DIR"; netns_pids; } | sort -un)
  [ -n "$left" ] || break
  # shellcheck disable=SC2046
  stop_pids $(for p in $left; do echo "$(cat "/proc/$p/comm" 2>/dev/null || echo '?'):$p"; done)
done
left=$( { [ -d "$DIR" ] && pids_in_root "$DIR"; netns_pids; } | sort -un | tr '\n' ' ')
[ -z "$left" ] || say "WARNING: still running in $DIR / $NS: $left"

if [ -d "$DIR" ]; then
  for _ in 1 2 3; do
    while IFS= read -r m; do [ -n "$m" ] && umount "$m" 2>/dev/null; done < <(mounts_under "$DIR")
    [ -z "$(mounts_under "$DIR")" ] && break
    sleep 0.5
  done
  while IFS= read -r m; do [ -n "$m" ] && umount -l "$m" 2>/dev/null && say "lazily unmounted $m"; done < <(mounts_under "$DIR")
fi
still=$( [ -d "$DIR" ] && mounts_under "$DIR" | tr '\n' ' ')
[ -z "$still" ] && say "nothing mounted under $DIR" || say "WARNING: still mounted: $still"
if ip netns list 2>/dev/null | grep -qw "^$NS"; then
  if [ -z "$(netns_pids)" ]; then ip netns del "$NS" && say "netns $NS deleted"; else say "WARNING: netns $NS kept (pids: $(netns_pids | tr '\n' ' '))"; fi
fi
if [ "${KEEP:-0}" != 1 ] && [ -d "$DIR" ] && [ -z "$still" ] && [ -z "$left" ]; then
  rm -rf --one-file-system "$DIR" && rm -rf "$BIN" && say "removed $DIR and $BIN"
fi
exit 0
