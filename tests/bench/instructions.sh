#!/bin/sh
# instructions.sh BUILD_DIR — a deterministic guard: the instructions of one full cycle (bench_cycle) on a
# fixed synthetic cluster (gen_cluster 20000 2000, its default seed), counted by valgrind's callgrind, so a
# regression shows as a number rather than as timing noise. Prints instructions=N and the cycle's figures.
set -eu
build=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-instr.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/tests/gen_cluster" 20000 2000 "$dir/cluster"
BENCH_NO_FLOOR=1 valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "$build/tests/bench_cycle" "$dir/cluster" \
  > "$dir/cycle.out" 2> "$dir/valgrind.err"
grep '^input_lines' "$dir/cycle.out"
awk '/Collected :/ { print "instructions=" $NF }' "$dir/valgrind.err"
