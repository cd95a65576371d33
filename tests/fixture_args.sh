#!/bin/bash
# fixture_args.sh SLURMPUSH DIR [defaults] | SLURMPUSH - only NAME… — the options that make the collectors read a fixture set instead
# of Slurm, one per line: for each collector of `slurmpush --list-collectors` whose output DIR holds
# (DIR/STEM.txt) --collector.NAME and --collector.NAME.command=cat DIR/STEM.txt, for the others
# --collector.NAME=false. With "defaults", only the collectors that are on by default, and no switch
# for them: a test that runs slurmpush as a user would, but never against the machine's Slurm.
# With "only NAME…", just --collector.X=false for every collector not named (DIR unused): a test of
# those collectors alone, whatever collectors are added later and on by default.
# Tests read it with mapfile, so a new collector needs no test edits.
set -euo pipefail
bin=$1 dir=$2 mode=${3:-all}
if [ "$mode" = only ]; then
  shift 3
  "$bin" --list-collectors | while IFS=$'\t' read -r name _; do
    case " $* " in *" $name "*) ;; *) printf '%s\n' "--collector.$name=false" ;; esac
  done
  exit 0
fi
while IFS=$'\t' read -r name default _interval stem _families command; do
  [ "$mode" = defaults ] && [ "$default" = off ] && continue
  if [ "$command" != - ] && [ -f "$dir/$stem.txt" ]; then
    [ "$mode" = defaults ] || printf '%s\n' "--collector.$name"
    printf '%s\n' "--collector.$name.command=cat $dir/$stem.txt"
  else
    printf '%s\n' "--collector.$name=false"
  fi
done < <("$bin" --list-collectors)
