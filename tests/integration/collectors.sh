# collectors.sh — sourced by the integration scripts (bash). tee_every_collector BIN WORK sets
#   ALL:    every CLI collector of `BIN --list-collectors` switched on, its command run through
#           tee-cmd.sh so that WORK/STEM.txt keeps exactly what it printed;
#   INPUTS: check_counts.py's --input STEM=WORK/STEM.txt for each.
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
