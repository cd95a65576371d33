#!/bin/bash
# package_test.sh — the release artefacts as a site gets them (deploy/package.sh from the committed tree):
#   .deb     every file in place (dpkg-deb -c), /etc/default/slurmpush a conffile, lintian without errors, the
#            unit clean for systemd-analyze verify and scored at most 2.0 by systemd-analyze security --offline
#   fresh    apt-get install ./slurmpush_VERSION_amd64.deb on a fresh Debian 12 root (tests/lab/debian-root.sh)
#            pulls every library it needs; slurmpush --version runs there; an upgrade to VERSION-2 keeps a
#            changed /etc/default/slurmpush and the spool
#   rpm      rpmbuild -ta --nodeps on the source tarball builds; rpm -qlp lists the .deb's files (EL's unit
#            directory is /usr/lib/systemd/system)
# Needs root (the Debian root) and the network to Debian's mirror (what it installs there).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-pkg.XXXXXX")
ROOT=/var/tmp/slurmpush-pkg-root.$$
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   - $*"; }
bad() { fails=$((fails + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
  bash "$HERE/lab/debian-root.sh" down "$ROOT" >/dev/null 2>&1 || echo "could not remove $ROOT"
  rm -rf "$WORK"
  echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?
}
trap finish EXIT

out=$(sh "$SRC/deploy/package.sh" "$WORK/out" 2> "$WORK/package.log") || { cat "$WORK/package.log"; bad "deploy/package.sh"; exit 1; }
version=$(sed -n 's/^project(slurmpush VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
DEB=$WORK/out/slurmpush_${version}_amd64.deb TGZ=$WORK/out/slurmpush-$version.tar.gz
check "package.sh made slurmpush_${version}_amd64.deb and slurmpush-$version.tar.gz" test -s "$DEB" -a -s "$TGZ"

# ---- the .deb's files
dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' | sort > "$WORK/deb.files"
for f in /usr/bin/slurmpush /usr/bin/slurmpush-trace /lib/systemd/system/slurmpush.service /etc/default/slurmpush \
  /usr/share/man/man8/slurmpush.8.gz /usr/share/man/man1/slurmpush-trace.1.gz /usr/share/doc/slurmpush/README.md \
  /usr/share/doc/slurmpush/copyright /usr/share/doc/slurmpush/changelog.gz \
  /usr/share/doc/slurmpush/rules/tests/slurmpush.test.yml; do
  check "the .deb has $f" grep -qxF "$f" "$WORK/deb.files"
done
for f in "$SRC"/deploy/grafana/*.json "$SRC"/deploy/prometheus/*.rules.yml "$SRC"/deploy/examples/*; do
  case $f in *.json) d=dashboards ;; *.yml) d=rules ;; *) d=examples ;; esac
  check "the .deb has doc/$d/$(basename "$f")" grep -qxF "/usr/share/doc/slurmpush/$d/$(basename "$f")" "$WORK/deb.files"
done
check "/etc/default/slurmpush is a conffile" bash -c "dpkg-deb -e '$DEB' '$WORK/control' && grep -qxF /etc/default/slurmpush '$WORK/control/conffiles'"
check "dependencies from dpkg-shlibdeps (libcurl, libprotobuf-c, libsnappy, libjson-c, libmicrohttpd, libsystemd)" \
  bash -c "dpkg-deb -f '$DEB' Depends | grep -q 'libcurl4.*libjson-c5.*libmicrohttpd12.*libprotobuf-c1.*libsnappy1v5.*libsystemd0'"
lintian --tag-display-limit 0 "$DEB" > "$WORK/lintian.txt" 2>&1
check "lintian: no errors ($(grep -c '^E:' "$WORK/lintian.txt") errors, $(grep -c '^W:' "$WORK/lintian.txt") warnings)" \
  test "$(grep -c '^E:' "$WORK/lintian.txt")" = 0
grep -E '^[EW]:' "$WORK/lintian.txt" | head -20

# ---- the unit, checked against the package's own files
mkdir -p "$WORK/unpacked" && dpkg-deb -x "$DEB" "$WORK/unpacked"
UNIT=$WORK/unpacked/lib/systemd/system/slurmpush.service
# verify: the host's systemd units around it, the package's binary where ExecStart= names it (the man
# page, which verify would look up with man(1), is checked from the package below)
mkdir -p "$WORK/verify" && sed "s|=/usr/bin/slurmpush |=$WORK/unpacked/usr/bin/slurmpush |" "$UNIT" > "$WORK/verify/slurmpush.service"
systemd-analyze verify --man=no "$WORK/verify/slurmpush.service" > "$WORK/verify.txt" 2>&1
check "systemd-analyze verify: clean" test ! -s "$WORK/verify.txt"
cat "$WORK/verify.txt"
score=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
check "systemd-analyze security --offline=yes: ${score:-?} (at most 2.0)" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
check "the unit names man:slurmpush(8), and the page is there" \
  bash -c "grep -q 'Documentation=man:slurmpush(8)' '$UNIT' && zcat '$WORK/unpacked/usr/share/man/man8/slurmpush.8.gz' | grep -q '^.TH SLURMPUSH 8'"

# ---- the RPM spec builds from the tarball, with the same files
rpmbuild -ta --nodeps --define "_topdir $WORK/rpm" "$TGZ" > "$WORK/rpmbuild.log" 2>&1
rc=$?
check "rpmbuild -ta --nodeps slurmpush-$version.tar.gz" test $rc = 0
[ $rc = 0 ] || tail -20 "$WORK/rpmbuild.log"
RPM=$(ls "$WORK"/rpm/RPMS/*/slurmpush-"$version"-*.rpm 2>/dev/null | head -1)
rpm -qlp "$RPM" 2>/dev/null | grep -v '^/usr/lib/.build-id' | sed 's|^/usr/lib/systemd/system/|/lib/systemd/system/|' |
  while read -r f; do [ -d "$WORK/unpacked$f" ] || echo "$f"; done | sort > "$WORK/rpm.files"
check "rpm -qlp lists the .deb's files ($(wc -l < "$WORK/rpm.files") files)" diff "$WORK/deb.files" "$WORK/rpm.files"

# ---- a fresh Debian 12: apt-get install pulls what it needs; an upgrade keeps the site's settings and the spool
if ! bash "$HERE/lab/debian-root.sh" up "$ROOT" > "$WORK/root.log" 2>&1; then cat "$WORK/root.log"; bad "a fresh Debian 12 root"; exit 1; fi
inroot() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
cp "$DEB" "$ROOT/tmp/"
check "the fresh root has no slurmpush libraries before" bash -c "! chroot '$ROOT' dpkg -s libmicrohttpd12 >/dev/null 2>&1"
inroot sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/$(basename "$DEB")" > "$WORK/apt.log" 2>&1
check "apt-get install ./$(basename "$DEB") on a fresh Debian 12" test $? = 0 || tail -5 "$WORK/apt.log"
check "slurmpush --version runs there" bash -c "chroot '$ROOT' slurmpush --version | grep -qx 'slurmpush $version'"
check "slurmpush-trace --help runs there (python3 pulled in)" bash -c "chroot '$ROOT' slurmpush-trace --help >/dev/null"
check "man page installed" test -s "$ROOT/usr/share/man/man8/slurmpush.8.gz"
echo 'SLURMPUSH_ARGS="--label cluster=site-own"' >> "$ROOT/etc/default/slurmpush"
mkdir -p "$ROOT/var/lib/slurmpush" && echo spooled > "$ROOT/var/lib/slurmpush/keep-me"
RELEASE=2 sh "$SRC/deploy/package.sh" "$WORK/out2" > /dev/null 2> "$WORK/package2.log" || { cat "$WORK/package2.log"; bad "package.sh RELEASE=2"; }
DEB2=$WORK/out2/slurmpush_${version}-2_amd64.deb
cp "$DEB2" "$ROOT/tmp/"
inroot apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "/tmp/$(basename "$DEB2")" > "$WORK/apt2.log" 2>&1
check "upgrade to ${version}-2" bash -c "test \"\$(chroot '$ROOT' dpkg-query -W -f '\${Version}' slurmpush)\" = '${version}-2'" ||
  tail -5 "$WORK/apt2.log"
check "the upgrade kept the changed /etc/default/slurmpush" grep -qx 'SLURMPUSH_ARGS="--label cluster=site-own"' "$ROOT/etc/default/slurmpush"
check "the upgrade kept the spool" grep -qx spooled "$ROOT/var/lib/slurmpush/keep-me"
