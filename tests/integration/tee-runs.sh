#!/bin/sh
# tee-runs.sh DIR CMD [ARGS…] — run a Slurm command and keep every run's output as DIR/NNNNNN.txt with
# the moment it was complete (DIR/NNNNNN.done: unix seconds), so a test can replay the sequence of
# snapshots slurmpush compared. A run that fails or is cut short leaves no .done: it was no snapshot.
# One collector's runs never overlap: the counter needs no lock.
set -eu
dir=$1; shift
mkdir -p "$dir"
n=$(($(cat "$dir/count" 2>/dev/null || echo 0) + 1))
echo "$n" > "$dir/count"
out=$(printf '%s/%06d' "$dir" "$n")
"$@" > "$out.txt"
cat "$out.txt"
date +%s.%N > "$out.done"
