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
echo "== fuzzing the parsers (libFuzzer, clang-14; ${FUZZ_SECONDS:-20} s each)"
CC=clang-14 cmake -S . -B build-fuzz -DSLURMPUSH_FUZZ=ON -DSLURMPUSH_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
for target in jobs nodes licenses diags limits trace; do
  corpus=build-fuzz/corpus-$target
  mkdir -p "$corpus"
  # seeds: every fixture the parser reads, plus crashes found earlier (kept as regressions)
  seed() { for f in "$@"; do cp "$f" "$corpus/$(printf '%s' "$f" | tr / _)"; done; } # distinct names: same basenames
  case $target in
    jobs) seed fixtures/lab-22.05/squeue.txt fixtures/slurm-22.05/squeue-rivosinc-fallback.txt fixtures/seed/squeue_fallback.txt \
      fixtures/seed/squeue_out.json fixtures/dataparser-from-22.05/squeue.json ;;
    nodes) seed fixtures/lab-22.05/sinfo.txt fixtures/slurm-22.05/sinfo-rivosinc-fallback.txt fixtures/seed/sinfo_fallback.txt \
      fixtures/seed/sinfo_out.json fixtures/seed/sinfo_dataparser.json fixtures/dataparser-from-22.05/sinfo.json ;;
    licenses) seed fixtures/lab-22.05/lic.txt fixtures/seed/license_out.json ;;
    diags) seed fixtures/lab-22.05/sdiag.txt fixtures/seed/sdiag.json fixtures/seed/sdiag_2405.json ;;
    limits) seed fixtures/lab-22.05/sacctmgr.txt fixtures/seed/sacctmgr.txt ;;
    trace) seed fixtures/seed/trace_info_body.json ;;
  esac
  if [ -d tests/fuzz/regressions/$target ]; then seed tests/fuzz/regressions/$target/*; fi
  build-fuzz/fuzz_$target -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -artifact_prefix=build-fuzz/crash-$target- \
    "$corpus" 2>build-fuzz/fuzz-$target.log || { tail -30 build-fuzz/fuzz-$target.log; echo "fuzz_$target found a crash"; exit 1; }
  tail -1 build-fuzz/fuzz-$target.log
done

echo "== tests"
cd build && ctest --output-on-failure
