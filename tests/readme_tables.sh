#!/bin/sh
# readme_tables.sh SLURMPUSH README — the README's options and metrics tables are what the
# option table and the collector descriptors say (slurmpush --help-markdown, --help-metrics-markdown).
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
[ "$mode" = --write ] && exit 0
echo "README tables match ($((2 - fails)) passed, $fails failed)"
[ $fails = 0 ]
