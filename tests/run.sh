#!/bin/sh
# run.sh — the test command (README "Tests"): installs every dependency from Debian 12
# packages, builds twice (plain, and AddressSanitizer + UndefinedBehaviorSanitizer), runs the
# whole ctest suite (unit, fixtures, CLI behaviour, the real lab integration) under the
# sanitizers, then under the plain build, whose ctest summary closes the output.
set -eu
cd "$(dirname "$0")/.."
T0=$(date +%s)
stage() { echo "== $* ($(($(date +%s) - T0)) s so far)"; }
# nothing left running: the labs the integration tests started are stopped at the end (by their PID files)
stop_labs() {
  for suite in trixie sid; do bash tests/lab/modern-down.sh "$suite" "/var/tmp/slurmpush-lab-$suite"; done
  bash tests/lab/slurm-down.sh
  bash tests/lab/metrics-down.sh
}
LABS_LOG="$PWD/build-labs-down.log"
trap 'stop_labs > "$LABS_LOG" 2>&1 || true' EXIT
trap 'exit 143' INT TERM # so that the EXIT trap runs on a signal too
sh deploy/install-deps.sh test lab
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
# one target per collector (the registry's list) plus the trace body
for entry in $(build/slurmpush --list-collectors | awk -F'\t' '{ print $1 ":" $4 }') trace:trace_info_body; do
  target=${entry%%:*} stem=${entry#*:}
  corpus=build-fuzz/corpus-$target
  mkdir -p "$corpus"
  # seeds: every fixture of the collector's output (its fixture stem, any version and format),
  # plus crashes found earlier (kept as regressions)
  seed() { for f in "$@"; do [ -f "$f" ] && cp "$f" "$corpus/$(printf '%s' "$f" | tr / _)"; done; return 0; }
  seed $(ls fixtures/*/"$stem"* 2>/dev/null | grep -Ev '\.(cmd|license|err|rc)$')
  if [ -d tests/fuzz/regressions/$target ]; then seed tests/fuzz/regressions/$target/*; fi
  build-fuzz/fuzz_$(printf '%s' "$target" | tr - _) -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -artifact_prefix=build-fuzz/crash-$target- \
    "$corpus" 2>build-fuzz/fuzz-$target.log || { tail -30 build-fuzz/fuzz-$target.log; echo "fuzz_$target found a crash"; exit 1; }
  tail -1 build-fuzz/fuzz-$target.log
done

stage "tests"
cd build && ctest --output-on-failure
