#!/bin/sh
# parity_seed.sh SLURMPUSH FIXTURES — slurmpush replays the very input the seed v1.7.0 read and must
# print what the seed printed, family by family, but for the seed bugs the README documents.
set -eu
bin=$1 fix=$2
here=$(cd "$(dirname "$0")" && pwd)
# the jobs and nodes collectors (and those a command line below switches on), none of the others
ONLY=$(bash "$here/fixture_args.sh" "$bin" - only jobs nodes | tr '\n' ' ')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0

# 1. the Slurm 22.05 lab, seed text mode: its own line formats of squeue and sinfo
lab=$fix/slurm-22.05
"$bin" --dry-run $ONLY --slurm.squeue-cli="cat $lab/squeue-rivosinc-fallback.txt" --slurm.sinfo-cli="cat $lab/sinfo-rivosinc-fallback.txt" > "$out"
python3 "$here/parity_seed.py" "$out" "$fix/seed/expected/seed-v1.7.0-cli-mode-on-slurm-22.05.prom" \
  --only '^slurm_(user|account_job|partition|feature|pending|cpu|mem|node|job_scrape)' \
  --skip "slurm_mem_alloc=B9, Slurm's AllocMem, not Real - Free (the seed's line format has none: 0)" \
  --skip "slurm_partition_alloc_mem=B9" || rc=1

# 2. the seed's own fixtures: JSON mode (openapi v0.0.37 squeue/sinfo; sdiag data_parser v0.0.39; licenses), sacctmgr
s=$fix/seed
"$bin" --dry-run $ONLY --slurm.cli-fallback=false --slurm.squeue-cli="cat $s/squeue_out.json" --slurm.sinfo-cli="cat $s/sinfo_out.json" \
  --slurm.collect-licenses --slurm.lic-cli="cat $s/license_out.json" --slurm.collect-diags --slurm.diag-cli="cat $s/sdiag.json" \
  --slurm.collect-limits --slurm.sacctmgr-cli="cat $s/sacctmgr.txt" > "$out"
python3 "$here/parity_seed.py" "$out" "$s/expected/seed-v1.7.0-on-own-fixtures.prom" \
  --skip "slurm_user_mem_alloc=B2, job memory MB x 1e9 in the seed's JSON mode; and pending jobs count their request" \
  --skip "slurm_account_job_state_mem_alloc=B2" --skip "slurm_feature_mem_alloc=B2" \
  --skip "slurm_user_cpu_alloc=pending jobs count their requested CPUs, as in text mode (the seed's JSON mode: 0)" \
  --skip "slurm_account_job_state_cpu_alloc=as slurm_user_cpu_alloc" --skip "slurm_feature_cpu_alloc=as slurm_user_cpu_alloc" \
  --skip "slurm_mem_real=B3, node memory in bytes, not raw MB" --skip "slurm_mem_free=B3" --skip "slurm_mem_alloc=B3" \
  --skip "slurm_partition_real_mem=B3" --skip "slurm_partition_free_mem=B3" --skip "slurm_partition_alloc_mem=B3" \
  --skip "slurm_cpu_load=B4, JSON load is x100" --skip "slurm_partition_cpu_load=B4" \
  --skip "slurm_cpus_idle=a down node's free CPUs are not idle (sinfo's A/I/O/T; text mode agrees)" \
  --skip "slurm_partition_idle_cpus=as slurm_cpus_idle" || rc=1
exit $rc
