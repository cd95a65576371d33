#!/bin/sh
# readme_options.sh SLURMPUSH README — the README's options table is what the option table says.
set -eu
want=$("$1" --help-markdown)
got=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$2" | sed '1d;$d')
if [ "$want" != "$got" ]; then
  echo "README options table differs from 'slurmpush --help-markdown'; regenerate it:"
  printf '%s\n' "$want" > /tmp/slurmpush-want.$$; printf '%s\n' "$got" | diff - /tmp/slurmpush-want.$$; rm -f /tmp/slurmpush-want.$$
  exit 1
fi
echo "README options table matches (1 passed, 0 failed)"
