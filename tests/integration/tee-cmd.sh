#!/bin/sh
# tee-cmd.sh FILE CMD [ARGS…] — run a Slurm command and keep a copy of exactly what it printed,
# so a test can count independently from the very output slurmpush parsed.
set -eu
out=$1; shift
"$@" > "$out.tmp"
status=$?
cat "$out.tmp"
mv "$out.tmp" "$out"
exit $status
