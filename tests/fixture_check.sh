#!/bin/bash
# fixture_check.sh SLURMPUSH DIR — replay a fixture set through slurmpush (--dry-run, each
# collector's command replaced by cat of its output) and compare every family with an
# independent count. Which collector reads which file comes from fixture_args.sh (the fixture stem
# of `slurmpush --list-collectors`: DIR/STEM.txt); a collector whose file the set lacks is switched off.
set -euo pipefail
bin=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t opts < <(bash "$here/fixture_args.sh" "$bin" "$dir")
counts=() # each collector's file, for the independent count
for o in "${opts[@]}"; do
  case $o in --collector.*.command=cat\ *) f=${o#*=cat }; counts+=(--input "$(basename "$f" .txt)=$f") ;; esac
done
out=$("$bin" --dry-run --label cluster=fixture "${opts[@]}")
printf '%s\n' "$out" | python3 "$here/check_counts.py" "${counts[@]}" --metrics -
# every served series carries the --label
if printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | grep -q .; then
  echo "series without the cluster label:"; printf '%s\n' "$out" | grep -v '^#' | grep -v 'cluster="fixture"' | head; exit 1
fi
# and the whole exposition is valid UTF-8, whatever bytes the commands printed
printf '%s\n' "$out" | python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' ||
  { echo "the output is not valid UTF-8"; exit 1; }
