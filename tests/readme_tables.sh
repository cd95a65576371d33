#!/bin/sh
# readme_tables.sh SLURMPUSH README — the README's options and metrics tables and the man page
# (deploy/slurmpush.8 beside the README) are what the option table and the collector descriptors
# say (slurmpush --help-markdown, --help-metrics-markdown, --help-man), as --help is.
# With --write, regenerates them in place instead.
set -eu
bin=$1 readme=$2 mode=${3:-check}
fails=0
block() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$readme" | sed '1d;$d'; }
for pair in options:--help-markdown metrics:--help-metrics-markdown; do
  name=${pair%%:*} flag=${pair#*:}
  want=$("$bin" "$flag")
  if [ "$mode" = --write ]; then
    tmp=$(mktemp)
    printf '%s\n' "$want" > "$tmp.block"
    awk -v b="<!-- $name:begin -->" -v e="<!-- $name:end -->" -v f="$tmp.block" '
      $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
      $0 == e { skip = 0 } !skip' "$readme" > "$tmp" && cat "$tmp" > "$readme"
    rm -f "$tmp" "$tmp.block"
    continue
  fi
  if [ "$want" != "$(block "$name")" ]; then
    echo "README $name tables differ from 'slurmpush $flag'; regenerate: tests/readme_tables.sh SLURMPUSH README.md --write"
    block "$name" | diff - "$(printf '%s\n' "$want" > "${TMPDIR:-/tmp}/want.$$"; echo "${TMPDIR:-/tmp}/want.$$")" | head -20 || true
    rm -f "${TMPDIR:-/tmp}/want.$$"
    fails=$((fails + 1))
  fi
done
man=$(dirname "$readme")/deploy/slurmpush.8
if [ "$mode" = --write ]; then "$bin" --help-man > "$man"; exit 0; fi
if ! "$bin" --help-man | cmp -s - "$man"; then
  echo "deploy/slurmpush.8 differs from 'slurmpush --help-man'; regenerate: tests/readme_tables.sh SLURMPUSH README.md --write"
  fails=$((fails + 1))
fi
# every option --help names is in the man page and the README's table
for o in $("$bin" --help | sed -n 's/^  --\([a-z][a-z0-9.-]*\)=.*/\1/p'); do
  grep -qF -- "\\-\\-$(printf '%s' "$o" | sed 's/-/\\-/g')=" "$man" || { echo "--$o: not in the man page"; fails=$((fails + 1)); }
  grep -qF -- "| \`--$o\` |" "$readme" || { echo "--$o: not in the README's options table"; fails=$((fails + 1)); }
done
# and every option of slurmpush-trace --help is in its (hand-written) page
trace=$(dirname "$readme")/deploy/slurmpush-trace
for o in $(python3 "$trace" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$trace.1" || { echo "slurmpush-trace $o: not in slurmpush-trace.1"; fails=$((fails + 1)); }
done
echo "README tables and man pages: $fails problem(s)"
[ $fails = 0 ]
