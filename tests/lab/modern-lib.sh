# modern-lib.sh — sourced by modern-up.sh, modern-down.sh and debian-root.sh: finding, mounting and
# unmounting a root's file systems and processes; packing and unpacking a root.

# mounts_under DIR: mount points at or under DIR, deepest (then latest) first
mounts_under() {
  local d=${1%/}
  awk -v d="$d" '{ m = $5; gsub(/\\040/, " ", m)
    if (m == d || index(m, d "/") == 1) { n = gsub("/", "/", m); print n "\t" NR "\t" m } }' /proc/self/mountinfo |
    sort -t "$(printf '\t')" -k1,1nr -k2,2nr | cut -f3-
}
# pids_in_root R: live processes whose /proc/PID/root is R or under it
pids_in_root() {
  local r=${1%/}
  find /proc -mindepth 2 -maxdepth 2 -name root \( -lname "$r" -o -lname "$r/*" \) -printf '%h\n' 2>/dev/null |
    sed -n 's|^/proc/\([0-9][0-9]*\)$|\1|p' | grep -vx "$$" || true
}
umount_all() { # R: unmount everything under R, deepest first
  local m
  for _ in 1 2 3; do
    while IFS= read -r m; do [ -n "$m" ] && umount "$m" 2>/dev/null; done < <(mounts_under "$1")
    [ -z "$(mounts_under "$1")" ] && return 0
    sleep 0.3
  done
  while IFS= read -r m; do [ -n "$m" ] && umount -l "$m" 2>/dev/null; done < <(mounts_under "$1")
  [ -z "$(mounts_under "$1")" ]
}
# mount_root R [NET]: the root's own proc, ro sysfs, private /dev and /run
mount_root() {
  local r=$1
  mountpoint -q "$r/proc" || mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
  mountpoint -q "$r/sys" || mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
  if ! mountpoint -q "$r/dev"; then
    mount -t tmpfs -o nosuid,mode=0755,size=16m lab-modern-dev "$r/dev"
    mknod -m 666 "$r/dev/null" c 1 3; mknod -m 666 "$r/dev/zero" c 1 5; mknod -m 666 "$r/dev/full" c 1 7
    mknod -m 666 "$r/dev/random" c 1 8; mknod -m 666 "$r/dev/urandom" c 1 9; mknod -m 666 "$r/dev/tty" c 5 0
    mkdir -m 755 "$r/dev/pts"; mkdir -m 1777 "$r/dev/shm"
    ln -s /proc/self/fd "$r/dev/fd"; ln -s /proc/self/fd/0 "$r/dev/stdin"
    ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"; ln -s pts/ptmx "$r/dev/ptmx"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 lab-modern-devpts "$r/dev/pts"
  fi
  if ! mountpoint -q "$r/run"; then
    mount -t tmpfs -o nosuid,mode=0755,size=64m lab-modern-run "$r/run"
    mkdir -m 1777 "$r/run/lock"
  fi
}
zst_or_gz() { if command -v zstd >/dev/null 2>&1; then echo zst; else echo gz; fi; }
pack() { # R OUT
  local out=$2
  case "$out" in
    *.zst) tar --numeric-owner --xattrs --xattrs-include='*' -C "$1" -cf - . | zstd -q -T0 -3 >"$out.tmp" ;;
    *) tar --numeric-owner --xattrs --xattrs-include='*' -C "$1" -cf - . | gzip -1 >"$out.tmp" ;;
  esac
  mv -f "$out.tmp" "$out"
}
unpack() { # TARBALL R
  local k=-z
  case "$1" in *.zst) k=--zstd ;; esac
  tar "$k" --numeric-owner --xattrs --xattrs-include='*' -xpf "$1" -C "$2"
}
