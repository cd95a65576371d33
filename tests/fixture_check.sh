#!/bin/sh
# fixture_check.sh SLURMPUSH DIR — replay DIR/squeue.txt and DIR/sinfo.txt through slurmpush
# (--dry-run, commands overridden with cat) and compare every family with an independent count.
set -eu
bin=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
# the optional collectors run where the fixture set has their output
opts="" counts=""
if [ -f "$dir/lic.txt" ]; then opts="$opts --slurm.collect-licenses"; counts="$counts --licenses $dir/lic.txt"; fi
if [ -f "$dir/sdiag.txt" ]; then opts="$opts --slurm.collect-diags"; counts="$counts --sdiag $dir/sdiag.txt"; fi
if [ -f "$dir/sacctmgr.txt" ]; then opts="$opts --slurm.collect-limits"; counts="$counts --sacctmgr $dir/sacctmgr.txt"; fi
out=$("$bin" --dry-run --label cluster=fixture $opts \
  --slurm.squeue-cli="cat $dir/squeue.txt" --slurm.sinfo-cli="cat $dir/sinfo.txt" --slurm.lic-cli="cat $dir/lic.txt" \
  --slurm.diag-cli="cat $dir/sdiag.txt" --slurm.sacctmgr-cli="cat $dir/sacctmgr.txt")
printf '%s\n' "$out" | python3 "$here/check_counts.py" --squeue "$dir/squeue.txt" --sinfo "$dir/sinfo.txt" $counts --metrics -
# every served series carries the --label
if printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | grep -q .; then
  echo "series without the cluster label:"; printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | head; exit 1
fi
