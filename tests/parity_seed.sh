#!/bin/sh
# parity_seed.sh SLURMPUSH FIXTURES — replay the seed's own line-format output of the Slurm 22.05
# lab (squeue/sinfo with the seed's default commands) and compare with what the seed printed.
set -eu
bin=$1 fix=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
"$bin" --dry-run --slurm.squeue-cli="cat $fix/slurm-22.05/squeue-rivosinc-fallback.txt" \
  --slurm.sinfo-cli="cat $fix/slurm-22.05/sinfo-rivosinc-fallback.txt" > "$out"
rc=0
python3 "$here/parity_seed.py" "$out" "$fix/seed/expected/seed-v1.7.0-cli-mode-on-slurm-22.05.prom" || rc=$?
rm -f "$out"
exit $rc
