#!/bin/sh
# run_one.sh TARGET:STEM — one libFuzzer target for FUZZ_SECONDS (default 20), seeded with every
# fixture of its collector's output (fixtures/*/STEM*, any version and format) and the crashes found
# earlier (tests/fuzz/regressions/TARGET/). Run from the source tree, after build-fuzz is built.
# Prints the target's last line; exits 1 (with the crash) if it found one.
set -eu
target=${1%%:*} stem=${1#*:}
bin=build-fuzz/fuzz_$(printf '%s' "$target" | tr - _)
corpus=build-fuzz/corpus-$target
mkdir -p "$corpus"
for f in fixtures/*/"$stem"* tests/fuzz/regressions/"$target"/*; do
  case $f in *.cmd | *.license | *.err | *.rc) continue ;; esac
  [ -f "$f" ] && cp "$f" "$corpus/$(printf '%s' "$f" | tr / _)"
done
if ! "$bin" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -artifact_prefix="build-fuzz/crash-$target-" \
  "$corpus" 2>"build-fuzz/fuzz-$target.log"; then
  tail -30 "build-fuzz/fuzz-$target.log"
  echo "fuzz_$target found a crash"
  exit 1
fi
echo "$target: $(tail -1 "build-fuzz/fuzz-$target.log")"
