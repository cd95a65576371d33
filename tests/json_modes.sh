#!/bin/sh
# json_modes.sh SLURMPUSH FIXTURES — JSON mode reads every shape Slurm used and agrees with text mode:
#  1. the 22.05 lab's squeue/sinfo --json (openapi v0.0.38) and the same state in data_parser shapes
#     (tests/json_shapes.py) give identical output;
#  2. that JSON and the seed-format text captured at the same moment agree on every family both can
#     know (text in the seed's format has no tres-alloc and no AllocMem);
#  3. real data_parser output of 23.02 (sinfo -N --json) and 24.05 (sdiag --json) parses.
set -eu
bin=$1 fix=$2
here=$(cd "$(dirname "$0")" && pwd)
# the jobs and nodes collectors (and those a command line below switches on), none of the others
ONLY=$(bash "$here/fixture_args.sh" "$bin" - only jobs nodes | tr '\n' ' ')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
check() { if "$@"; then passes=$((passes + 1)); echo "ok   - $name"; else fails=$((fails + 1)); echo "FAIL - $name"; fi; }
series() { grep '^slurm_' | grep -v '_scrape_duration' | sed 's/ [0-9]*$//' | sort; }
# an anchor outside slurmpush for every comparison below (two failed parses would compare equal):
# slurm_jobs of an output must be the number of jobs the input holds, counted here
jobs_in() { awk '$1 == "slurm_jobs" { print $2 }' "$1"; }
json_jobs() { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["jobs"]))' "$1"; }
anchored() { # NAME-SUFFIX FILE COUNT
  name="$1: slurm_jobs is the $3 jobs of the input"
  check test "$(jobs_in "$2")" = "$3"
}

python3 "$here/json_shapes.py" "$fix/slurm-22.05" "$tmp"
"$bin" --dry-run $ONLY --slurm.cli-fallback=false --slurm.squeue-cli="cat $fix/slurm-22.05/squeue.json" \
  --slurm.sinfo-cli="cat $fix/slurm-22.05/sinfo.json" | series > "$tmp/v38.prom"
"$bin" --dry-run $ONLY --slurm.cli-fallback=false --slurm.squeue-cli="cat $tmp/squeue.json" --slurm.sinfo-cli="cat $tmp/sinfo.json" |
  series > "$tmp/dp.prom"
name="openapi v0.0.38 and data_parser shapes: identical ($(wc -l < "$tmp/v38.prom") series)"
check cmp -s "$tmp/v38.prom" "$tmp/dp.prom"
anchored "openapi v0.0.38" "$tmp/v38.prom" "$(json_jobs "$fix/slurm-22.05/squeue.json")"

"$bin" --dry-run $ONLY --slurm.squeue-cli="cat $fix/slurm-22.05/squeue-rivosinc-fallback.txt" \
  --slurm.sinfo-cli="cat $fix/slurm-22.05/sinfo-rivosinc-fallback.txt" | series > "$tmp/text.prom"
# the seed's text format has no tres-alloc (GPUs, whole-job memory) and no AllocMem, and names a node by its host name
known() { grep -v -e '_bytes' -e 'alloc_mem' -e 'mem_alloc' -e 'gpus_alloc' -e 'gres_alloc' -e '^slurm_node_cpus'; }
known < "$tmp/v38.prom" > "$tmp/a"
known < "$tmp/text.prom" > "$tmp/b"
name="JSON and text mode agree on the same cluster state: $(wc -l < "$tmp/a") series (not what the seed's text format lacks)"
check diff "$tmp/a" "$tmp/b"
anchored "the seed's text format" "$tmp/text.prom" "$(grep -c . "$fix/slurm-22.05/squeue-rivosinc-fallback.txt")"

"$bin" --dry-run $ONLY --collector.jobs=false --slurm.sinfo-cli="cat $fix/seed/sinfo_dataparser.json" > "$tmp/23.prom"
name="Slurm 23.02 sinfo -N --json (data_parser v0.0.39) parses: 1 CPU, load 0.78"
both() { grep -q '^slurm_cpus_total 1 ' "$1" && grep -q '^slurm_cpu_load 0.78 ' "$1"; } # each, not either
check both "$tmp/23.prom"
"$bin" --dry-run $ONLY --collector.jobs=false --collector.nodes=false --slurm.collect-diags \
  --slurm.diag-cli="cat $fix/seed/sdiag_2405.json" > "$tmp/24.prom"
name="Slurm 24.05 sdiag --json (data_parser v0.0.41 structs) parses"
check grep -q '^slurm_rpc_msg_type_avg_time{type="MESSAGE_NODE_REGISTRATION_STATUS"} 828 ' "$tmp/24.prom"
# 4. Slurm 24.11 (data_parser v0.0.42) and 26.05 (v0.0.45): `squeue --json --states=all` and `sinfo -N --json`
#    against slurmpush's text commands, captured together on the same cluster: every stable series equal
stable() { grep '^slurm_' | grep -v -e _scrape_duration -e cpu_load -e free_mem -e mem_free -e memory_free | sed 's/ [0-9]*$//' | sort; }
for v in 24.11.5 26.05.5; do
  d=$fix/slurm-$v
  "$bin" --dry-run $ONLY --collector.jobs.command="cat $d/squeue-slurmpush-default.txt" \
    --collector.nodes.command="cat $d/sinfo-slurmpush-default.txt" | stable > "$tmp/t-$v"
  "$bin" --dry-run $ONLY --slurm.cli-fallback=false --collector.jobs.command="cat $d/squeue-states-all.json" \
    --collector.nodes.command="cat $d/sinfo-N.json" | stable > "$tmp/j-$v"
  name="Slurm $v: JSON mode (data_parser $(grep -o 'v0\.0\.4[0-9]' "$d/squeue-states-all.json" | head -1)) equals text mode, $(wc -l < "$tmp/t-$v") series"
  check diff "$tmp/t-$v" "$tmp/j-$v"
  anchored "Slurm $v, text" "$tmp/t-$v" "$(grep -c . "$d/squeue-slurmpush-default.txt")"
  anchored "Slurm $v, JSON" "$tmp/j-$v" "$(json_jobs "$d/squeue-states-all.json")"
done
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
