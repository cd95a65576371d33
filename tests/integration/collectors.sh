# collectors.sh — sourced by the integration scripts (bash). tee_every_collector BIN WORK sets
#   ALL:    every CLI collector of `BIN --list-collectors` switched on, its command run through
#           tee-cmd.sh so that WORK/STEM.txt keeps exactly what it printed;
#   INPUTS: check_counts.py's --input STEM=WORK/STEM.txt for each.
# json_against_text BIN WORK runs the default collectors in text mode, in JSON mode, and in text mode
#   again, until the two text runs agree (the cluster held still: the scheduler moves pending reasons on
#   its own), at most six tries; leaves WORK/{t,j,t2}.stable (the series that do not move by
#   themselves, values included), JSON_RC (the JSON run's exit code) and TRIES.
# The native collector reads HTTP, not a command: its own tests cover it.
tee_every_collector() {
  local bin=$1 work=$2 here name _default _interval stem _families command
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  ALL=() INPUTS=()
  while IFS=$'\t' read -r name _default _interval stem _families command; do
    [ "$command" = - ] && continue
    ALL+=("--collector.$name" "--collector.$name.command=$here/tee-cmd.sh $work/$stem.txt $command")
    INPUTS+=(--input "$stem=$work/$stem.txt")
  done < <("$bin" --list-collectors)
}

stable_series() {
  grep '^slurm_' "$1" | grep -v -e '_scrape_duration' -e 'cpu_load' -e 'free_mem' -e 'mem_free' -e 'memory_free' -e '_ping_seconds' |
    sed 's/ [0-9]*$//' | sort
}

json_against_text() {
  local bin=$1 work=$2
  for TRIES in 1 2 3 4 5 6; do
    "$bin" --dry-run > "$work/t.prom" 2>/dev/null
    "$bin" --dry-run --slurm.cli-fallback=false > "$work/j.prom" 2> "$work/json.log"
    JSON_RC=$?
    "$bin" --dry-run > "$work/t2.prom" 2>/dev/null
    stable_series "$work/t.prom" > "$work/t.stable"
    stable_series "$work/j.prom" > "$work/j.stable"
    stable_series "$work/t2.prom" > "$work/t2.stable"
    cmp -s "$work/t.stable" "$work/t2.stable" && return 0
    echo "# the cluster moved during try $TRIES (the text runs before and after the JSON run differ); again"
    sleep 3
  done
  return 1
}
