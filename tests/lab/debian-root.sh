#!/bin/bash
# debian-root.sh up DIR | down DIR — a fresh, minimal Debian 12 (bookworm) root at DIR, as a site's new
# machine would be: `debootstrap --variant=minbase bookworm` (cached as $CACHE/bookworm-minbase.tar.*,
# rebuilt after MAX_AGE_D days), with its own /proc, /sys, /dev and /run mounted and the host's
# resolver for apt. `down` unmounts and removes it. Run commands in it with chroot DIR ….
# Env: CACHE=/var/cache/slurm-lab-modern MIRROR=http://deb.debian.org/debian MAX_AGE_D=7
set -euo pipefail
what=${1:?usage: debian-root.sh up|down DIR} DIR=${2:?usage: debian-root.sh up|down DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CACHE:-/var/cache/slurm-lab-modern} MIRROR=${MIRROR:-http://deb.debian.org/debian} MAX_AGE_D=${MAX_AGE_D:-7}
source "$HERE/modern-lib.sh" # mount_root, umount_all, pack, unpack, mounts_under
die() { echo "[debian-root] ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
case "$DIR" in / | /tmp | /root | /home | /usr | /var | /etc | /run | /run/*) die "refusing DIR=$DIR" ;; esac
case "$HERE/" in "$DIR"/*) die "refusing DIR=$DIR: it holds $HERE" ;; esac

if [ "$what" = down ]; then
  umount_all "$DIR" || die "could not unmount everything under $DIR"
  rm -rf --one-file-system "$DIR"
  exit 0
fi
[ "$what" = up ] || die "usage: debian-root.sh up|down DIR"
mkdir -p "$CACHE"
base="$CACHE/bookworm-minbase.tar.$(zst_or_gz)"
exec 9>"$CACHE/bookworm.lock"
flock -w 1800 9 || die "another debian-root.sh holds $CACHE/bookworm.lock"
if ! [ -s "$base" ] || [ $(($(date +%s) - $(stat -c %Y "$base"))) -ge $((MAX_AGE_D * 86400)) ]; then
  command -v debootstrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  b=$(mktemp -d "$CACHE/build-bookworm.XXXXXX")
  trap 'umount_all "$b" || true; rm -rf --one-file-system "$b"' EXIT
  timeout 1500 debootstrap --variant=minbase bookworm "$b" "$MIRROR" >"$CACHE/debootstrap-bookworm.log" 2>&1 ||
    die "debootstrap failed: $(grep -E '^[EW]:' "$CACHE/debootstrap-bookworm.log" | tail -2 | tr '\n' ' ')"
  rm -rf "$b"/var/cache/apt/archives/*.deb
  pack "$b" "$base"
  rm -rf --one-file-system "$b"; trap - EXIT
fi
unpack "$base" "$DIR"
cp -L /etc/resolv.conf "$DIR/etc/resolv.conf"
echo "deb $MIRROR bookworm main" >"$DIR/etc/apt/sources.list"
rm -f "$DIR"/etc/apt/sources.list.d/*
mount_root "$DIR"
