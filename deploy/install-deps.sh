#!/bin/sh
# install-deps.sh — install what slurmpush needs from Debian 12 packages.
#   build : compiler, CMake, libraries (libcurl, protobuf-c, snappy, json-c, libmicrohttpd, zlib, libsystemd,
#           libyaml, libxcrypt, GnuTLS)
#   test  : build + cmocka, clang-14 (libFuzzer, sanitizers), python3, curl, ss (test helpers)
#   package: the packaging tools (dpkg-shlibdeps, lintian, rpmbuild, systemd-analyze) and git
#   lab   : the real receivers and Slurm clusters used by the integration tests (22.05 on the host; 24.11 and
#           26.05 in debootstrap roots: debootstrap, zstd, iproute2)
# Usage: install-deps.sh [build|test|package|lab|all]...   (default: build)
set -eu
want=${*:-build}
build="gcc make cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libsnappy-dev \
  libcurl4-openssl-dev libjson-c-dev libmicrohttpd-dev zlib1g-dev libsystemd-dev libyaml-dev libcrypt-dev libgnutls28-dev \
  ca-certificates"
test="libcmocka-dev clang-14 libclang-rt-14-dev python3 curl procps iproute2 openssl"
package="git dpkg-dev fakeroot lintian rpm systemd file"
lab="munge slurmctld slurmd slurm-client slurmdbd mariadb-server prometheus prometheus-pushgateway victoria-metrics \
  curl python3 procps debootstrap zstd iproute2"
pkgs=""
for w in $want; do
  case "$w" in
    build) pkgs="$pkgs $build" ;;
    test) pkgs="$pkgs $build $test" ;;
    package) pkgs="$pkgs $package" ;;
    lab) pkgs="$pkgs $lab" ;;
    all) pkgs="$pkgs $build $test $package $lab" ;;
    *) echo "install-deps.sh: unknown set '$w' (build|test|package|lab|all)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# Package postinst scripts try to start services; without systemd they cannot, and we start
# every daemon ourselves on private ports, so forbid service starts during the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; trap 'rm -f "$policy"' EXIT; fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
