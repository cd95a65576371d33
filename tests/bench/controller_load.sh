#!/bin/sh
# controller_load.sh SLURMPUSH [POLL_LIMIT] — what slurmpush asks of slurmctld: each collector's command and how
# often it runs per hour at the default settings (or at POLL_LIMIT seconds, default 10): a collector runs once per
# poll window or once per its own interval, if longer, whatever reads its result (remote-write, the Pushgateway,
# /metrics scrapes, joins by other collectors: none runs a command again). From the registry
# (--list-collectors); the daemon's debug log ("collector done") shows the same per run.
set -eu
bin=$1 poll=${2:-10}
printf '%-13s %-4s %9s %13s  %s\n' collector on interval_s runs_per_hour command
"$bin" --list-collectors | awk -F'\t' -v poll="$poll" '
  $6 == "-" { next }   # no command (the native collector reads HTTP)
  { every = ($3 > poll) ? $3 : poll; runs = 3600 / every
    printf "%-13s %-4s %9s %13.0f  %s\n", $1, $2, $3, runs, $6
    if ($2 == "on") { total += runs; n++ } }
  END { printf "on by default: %d commands, %.0f runs per hour in all\n", n, total }'
