#!/bin/sh
# run.sh — the test command (README "Tests"): installs every dependency from Debian 12
# packages, builds three times (plain, AddressSanitizer + UndefinedBehaviorSanitizer, and
# ThreadSanitizer), runs the whole ctest suite (unit, fixtures, CLI behaviour, the real labs'
# integration) under ASan+UBSan, fuzzes every parser (targets in parallel), runs the unit tests
# and one integration test under TSan, then everything but the integration tests under the
# plain build (ctest -j), whose ctest summary closes the output.
set -eu
cd "$(dirname "$0")/.."
T0=$(date +%s)
stage() { echo "== $* ($(($(date +%s) - T0)) s so far)"; }
# nothing left running: the labs the integration tests started are stopped at the end (by their PID files)
SRC=$PWD # the stages below change directory
stop_labs() {
  for suite in trixie sid; do bash "$SRC/tests/lab/modern-down.sh" "$suite" "/var/tmp/slurmpush-lab-$suite"; done
  bash "$SRC/tests/lab/slurm-down.sh"
  for r in /var/tmp/slurmpush-pkg-root.*; do [ -d "$r" ] && bash "$SRC/tests/lab/debian-root.sh" down "$r"; done
  bash "$SRC/tests/lab/metrics-down.sh"
}
LABS_LOG="$SRC/build-labs-down.log"
# KEEP_LABS=1 leaves them up for a developer's next run (the tests reuse a running lab); CI never sets it
if [ "${KEEP_LABS:-0}" = 1 ]; then
  trap 'echo "labs kept running (KEEP_LABS=1); stop them: tests/lab/*-down.sh"' EXIT
else
  trap 'stop_labs > "$LABS_LOG" 2>&1 || true' EXIT
fi
trap 'exit 143' INT TERM # so that the EXIT trap runs on a signal too
sh deploy/install-deps.sh test package lab
jobs=$(nproc)
stage "build (ASan+UBSan)"
cmake -S . -B build-asan -DSLURMPUSH_SANITIZE=ON -DSLURMPUSH_TESTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
stage "build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLURMPUSH_TESTS=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
stage "tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure)
stage "fuzzing the parsers (libFuzzer, clang-14; ${FUZZ_SECONDS:-20} s each)"
CC=clang-14 cmake -S . -B build-fuzz -DSLURMPUSH_FUZZ=ON -DSLURMPUSH_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
# one target per collector (the registry's list), the trace body, host lists (seeded with the
# reservations' output: its Nodes= lists) and the web config file, as many at once as there are cores
build/slurmpush --list-collectors | awk -F'\t' '{ print $1 ":" $4 }' | { cat; echo trace:trace_info_body; echo hostlist:reservations; echo webconfig:web-config; } |
  xargs -P "$jobs" -n 1 sh tests/fuzz/run_one.sh || { echo "fuzzing found a crash (above)"; exit 1; }

# data races: the unit tests (the binary's own threads included: listener, senders, collectors) and one
# integration test on the real lab, under ThreadSanitizer; any report fails the stage. ASLR off for
# the stage: TSan's fixed shadow layout and a kernel's high mmap randomisation do not always agree.
stage "build (ThreadSanitizer)"
cmake -S . -B build-tsan -DSLURMPUSH_TSAN=ON -DSLURMPUSH_TESTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsan -j"$jobs" >/dev/null
stage "tests under ThreadSanitizer (unit, fixtures, and integration_lab)"
rm -rf "$SRC/build-tsan/reports" && mkdir -p "$SRC/build-tsan/reports"
TSAN="halt_on_error=1:second_deadlock_stack=1:suppressions=$SRC/tests/tsan.supp:log_path=$SRC/build-tsan/reports/tsan"
(cd build-tsan && TSAN_OPTIONS="$TSAN" \
  setarch "$(uname -m)" -R ctest -j"$jobs" -L "unit|fixture" --output-on-failure &&
  TSAN_OPTIONS="$TSAN" \
  setarch "$(uname -m)" -R ctest -R "^integration_lab$" --output-on-failure)
if ls "$SRC/build-tsan/reports/"tsan* >/dev/null 2>&1; then
  head -60 "$SRC/build-tsan/reports/"tsan*; echo "ThreadSanitizer reported data races (above)"; exit 1
fi

# the integration tests ran once, under the sanitizers; the plain build runs the rest
stage "tests (plain build; integration: above, under ASan+UBSan)"
cd build && ctest -j"$jobs" -LE integration --output-on-failure
