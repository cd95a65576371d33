#!/bin/sh
# run.sh — the test command (README "Tests"): installs every dependency from Debian 12
# packages, builds twice (plain, and AddressSanitizer + UndefinedBehaviorSanitizer), runs the
# whole ctest suite (unit, fixtures, CLI behaviour, the real lab integration) under the
# sanitizers, then under the plain build, whose ctest summary closes the output.
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh test lab
jobs=$(nproc)
echo "== build (ASan+UBSan)"
cmake -S . -B build-asan -DSLURMPUSH_SANITIZE=ON -DSLURMPUSH_TESTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLURMPUSH_TESTS=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
echo "== tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure)
echo "== tests"
cd build && ctest --output-on-failure
