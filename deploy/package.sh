#!/bin/sh
# package.sh OUTDIR — the release artefacts, from the committed tree (git archive HEAD, so a
# package never holds what is not committed):
#   OUTDIR/slurmpush-VERSION.tar.gz      the source tarball (`rpmbuild -ta` builds it: deploy/slurmpush.spec)
#   OUTDIR/slurmpush_VERSION_amd64.deb   built from that tarball with CMake and CPack (dependencies by dpkg-shlibdeps)
# RELEASE=N makes VERSION-N (a Debian revision: what an upgrade test installs over VERSION).
# Installs what it needs from Debian 12's packages (deploy/install-deps.sh build package).
set -eu
out=${1:?usage: package.sh OUTDIR}
src=$(cd "$(dirname "$0")/.." && pwd)
sh "$src/deploy/install-deps.sh" build package
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^project(slurmpush VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
work=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
git -C "$src" archive --format=tar.gz --prefix="slurmpush-$version/" -o "$out/slurmpush-$version.tar.gz" HEAD
tar -xzf "$out/slurmpush-$version.tar.gz" -C "$work"
cmake -S "$work/slurmpush-$version" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DSLURMPUSH_TESTS=OFF -DSLURMPUSH_PACKAGE_RELEASE="${RELEASE:-}" >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
(cd "$work/build" && cpack -G DEB -B "$work/cpack" >/dev/null)
deb=$(cd "$work/cpack" && ls slurmpush_*_amd64.deb)
mv "$work/cpack/$deb" "$out/$deb"
echo "$out/slurmpush-$version.tar.gz"
echo "$out/$deb"
