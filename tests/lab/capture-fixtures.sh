#!/bin/bash
# capture-fixtures.sh DIR — save what slurmpush's own commands print on this cluster, as
# fixtures: DIR/NAME.txt is the output, DIR/NAME.txt.cmd the exact command line.
# Uses the built binary's defaults (--help-markdown is not needed: the commands are read
# from `slurmpush --help`), so fixtures always match the parser.
set -euo pipefail
DIR=${1:?usage: capture-fixtures.sh DIR}
BIN=${SLURMPUSH:-build/slurmpush}
mkdir -p "$DIR"
default_of() { "$BIN" --help | awk -v o="--$1=" 'index($0, o) { f = 1; next } f && /\(default: / { sub(/.*\(default: /, ""); sub(/\)( \[env.*)?$/, ""); print; exit }'; }
capture() { # name option
  local cmd; cmd=$(default_of "$2")
  echo "$cmd" > "$DIR/$1.txt.cmd"
  # word splitting is what slurmpush does too (no shell, no quotes in the defaults)
  # shellcheck disable=SC2086
  SLURM_TIME_FORMAT=standard $cmd > "$DIR/$1.txt"
}
capture squeue slurm.squeue-cli
capture sinfo slurm.sinfo-cli
wc -l "$DIR"/*.txt
