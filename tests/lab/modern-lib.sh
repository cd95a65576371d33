# modern-lib.sh — sourced by modern-up.sh and modern-down.sh: what both need to find a root's mounts
# and processes.

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
