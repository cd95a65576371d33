#!/bin/sh
# fixture_check.sh SLURMPUSH DIR — replay DIR/squeue.txt and DIR/sinfo.txt through slurmpush
# (--dry-run, commands overridden with cat) and compare every family with an independent count.
set -eu
bin=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$("$bin" --dry-run --label cluster=fixture \
  --slurm.squeue-cli="cat $dir/squeue.txt" --slurm.sinfo-cli="cat $dir/sinfo.txt")
printf '%s\n' "$out" | python3 "$here/check_counts.py" --squeue "$dir/squeue.txt" --sinfo "$dir/sinfo.txt" --metrics -
# every served series carries the --label
if printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | grep -q .; then
  echo "series without the cluster label:"; printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | head; exit 1
fi
