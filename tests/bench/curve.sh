#!/bin/sh
# curve.sh BUILD_DIR [JOBS...] — the cycle's cost against cluster size: for each size (default 10,000,
# 100,000 and 1,000,000 jobs; a tenth as many nodes) gen_cluster writes a synthetic cluster and
# bench_cycle runs one cycle on it; prints one row per size: series, CPU, peak RSS, payload, the parse
# floor's CPU and the cycle's ratio to it. Figures, not a test. Use a release build (RelWithDebInfo).
set -eu
build=$1; shift
[ $# -gt 0 ] || set -- 10000 100000 1000000
dir=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-curve.XXXXXX")
trap 'rm -rf "$dir"' EXIT
printf '%10s %8s %9s %11s %10s %12s %11s %8s\n' jobs nodes series cpu_s peak_rss_mb payload_bytes floor_cpu_s ratio
for jobs in "$@"; do
  nodes=$((jobs / 10))
  "$build/tests/gen_cluster" "$jobs" "$nodes" "$dir/$jobs"
  "$build/tests/bench_cycle" "$dir/$jobs" > "$dir/$jobs.out"
  awk -v jobs="$jobs" -v nodes="$nodes" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { printf "%10d %8d %9d %11s %10s %12s %11s %8s\n", jobs, nodes, v["series"], v["cpu_total_s"], v["peak_rss_mb"],
          v["rw_payload_bytes"], v["floor_cpu_s"], v["cycle_to_floor"] }' "$dir/$jobs.out"
  rm -rf "$dir/$jobs"
done
