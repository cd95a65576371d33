#!/bin/bash
# modern.sh SLURMPUSH SUITE — integration on a real modern Slurm: SUITE trixie (Slurm 24.11) or sid (26.05), a
# cluster of the host lab's shape in its own debootstrap root and network namespace (tests/lab/modern-up.sh).
# Every CLI collector on, the cluster's own CLI through the root's wrappers:
#   - text mode: every collector succeeds and every family equals an independent count (check_counts.py) of the
#     very output slurmpush parsed;
#   - JSON mode (squeue/sinfo --json, data_parser v0.0.42 / v0.0.45) agrees with text mode, finished jobs included;
#   - sid (Slurm 26.05) only: the CLI-computed Slurm families against Slurm's own endpoint read at the same moment
#     (native_names.py), and the native collector's series equal that endpoint's.
# Needs root. Leaves the cluster running (the next run reuses it; tests/lab/modern-down.sh SUITE DIR stops it).
set -uo pipefail
BIN=$(readlink -f "$1") SUITE=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${MODERN_ROOT:-/var/tmp/slurmpush-lab-$SUITE}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-modern.XXXXXX")
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   - $SUITE: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL - $SUITE: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { rm -rf "$WORK"; echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?; }
trap finish EXIT

if [ "$(id -u)" != 0 ]; then echo "modern: needs root (debootstrap, chroot, ip netns)"; exit 1; fi
if ! JOBS=1 RESV=1 bash "$HERE/../lab/modern-up.sh" "$SUITE" "$ROOT" > "$WORK/up.log" 2>&1; then
  tail -20 "$WORK/up.log"; bad "lab up"; exit 1
fi
export PATH="$ROOT-bin:$PATH"
VERSION=$(sinfo --version | awk '{ print $2 }')
ok "lab up: Slurm $VERSION, $(sinfo -h -N | wc -l) node lines, $(squeue -h -t all | wc -l) jobs"

# every CLI collector, its output kept for the independent count (collectors.sh)
source "$HERE/collectors.sh"
tee_every_collector "$BIN" "$WORK"
"$BIN" --dry-run --label cluster=modern "${ALL[@]}" > "$WORK/text.prom" 2> "$WORK/text.log"
check "text mode: every collector succeeded (exit 0)" test $? = 0
check "text mode: no collector logged an error" bash -c "! grep -q level=error '$WORK/text.log'"
check "slurm_info says $VERSION" grep -q "^slurm_info{cluster=\"modern\",cluster_name=\"[^\"]*\",version=\"$VERSION\"} 1 " "$WORK/text.prom"
if python3 "$HERE/../check_counts.py" "${INPUTS[@]}" --metrics "$WORK/text.prom" > "$WORK/counts.log"; then
  ok "text mode: every family equals the independent count ($(tail -1 "$WORK/counts.log"))"
else
  bad "text mode: every family equals the independent count"
  cat "$WORK/counts.log"
  for f in "$WORK"/*.txt; do echo "--- $(basename "$f") (what slurmpush parsed)"; head -c 4000 "$f"; done
fi

# JSON mode against text mode, back to back, while the cluster holds still (collectors.sh)
json_against_text "$BIN" "$WORK"
check "JSON mode: exit 0, no error" bash -c "test $JSON_RC = 0 && ! grep -q level=error '$WORK/json.log'"
check "the cluster held still around the JSON run (try $TRIES)" cmp -s "$WORK/t.stable" "$WORK/t2.stable"
check "JSON mode and text mode agree: $(wc -l < "$WORK/t.stable") series" diff "$WORK/t.stable" "$WORK/j.stable"
check "JSON mode keeps the finished jobs (squeue --states=all --json)" grep -q '^slurm_jobs_completed [1-9]' "$WORK/j.stable"

if [ "$SUITE" = sid ]; then
  # Slurm's own endpoint and slurmpush's CLI families, read at the same moment (no job changes state between)
  for ep in jobs nodes partitions scheduler jobs-users-accts; do curl-native "$ep" > "$WORK/metrics-$ep.txt"; done
  mapfile -t CLI_ONLY < <(bash "$HERE/../fixture_args.sh" "$BIN" - only jobs nodes diags)
  "$BIN" --dry-run "${CLI_ONLY[@]}" --collector.diags --collector.jobs.users-accts > "$WORK/cli.prom" 2>/dev/null
  for ep in jobs nodes partitions; do curl-native "$ep" > "$WORK/after-$ep.txt"; done
  same=1
  for ep in jobs nodes partitions; do cmp -s <(grep -v free "$WORK/metrics-$ep.txt") <(grep -v free "$WORK/after-$ep.txt") || same=0; done
  check "the cluster did not change during the read" test $same = 1
  check "Slurm's families from the CLI equal Slurm's endpoint, series by series" \
    python3 "$HERE/../native_names.py" --live - "$HERE/../../README.md" "$WORK/cli.prom" "$WORK"
  # the native collector, run in the cluster's namespace (slurmctld's port is there)
  mapfile -t NATIVE_ONLY < <(bash "$HERE/../fixture_args.sh" "$BIN" - only native)
  ip netns exec "slurm-$SUITE" "$BIN" --dry-run "${NATIVE_ONLY[@]}" \
    --collector.native > "$WORK/native.prom" 2> "$WORK/native.log"
  check "native collector: exit 0" test $? = 0
  # values for jobs, nodes and partitions (the cluster holds still; free memory moves); names for the scheduler's
  for ep in jobs nodes partitions; do curl-native "$ep"; done | grep '^slurm_' | grep -v free | sort > "$WORK/endpoint.now"
  curl-native scheduler | grep '^slurm_' | cut -d' ' -f1 | sort > "$WORK/endpoint.sched"
  grep '^slurm_' "$WORK/native.prom" | sed 's/ [0-9]*$//' | grep -v -e '_scrape_error' | sort > "$WORK/native.now"
  check "native collector: every series of Slurm's jobs, nodes and partitions endpoints, value for value ($(wc -l < "$WORK/endpoint.now"))" \
    bash -c "comm -23 '$WORK/endpoint.now' <(grep -v free '$WORK/native.now') | grep -q . && exit 1 || exit 0"
  check "native collector: every family of Slurm's scheduler endpoint ($(wc -l < "$WORK/endpoint.sched"))" \
    bash -c "comm -23 '$WORK/endpoint.sched' <(cut -d' ' -f1 '$WORK/native.now' | sort) | grep -q . && exit 1 || exit 0"
fi
