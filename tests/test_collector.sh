#!/bin/bash
# test_collector.sh BIN — BIN is slurmpush built with tests/collect/testecho.c beside the real
# collectors: that one file must appear everywhere the descriptors drive (registry, --help,
# --list-collectors, the options and metrics tables) and its own option rows must work.
set -uo pipefail
bin=$1
fails=0 passes=0
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then passes=$((passes + 1)); echo "ok   - $what"; else fails=$((fails + 1)); echo "FAIL - $what"; fi; }
has() { grep -qF -- "$2" <<<"$1"; }
list=$("$bin" --list-collectors) help=$("$bin" --help) opts=$("$bin" --help-markdown) mets=$("$bin" --help-metrics-markdown)
check "--list-collectors lists it with its default, interval and fixture stem" has "$list" $'testecho\toff\t5\ttestecho\t1\t'
check "--list-collectors still lists the real collectors" test "$(wc -l <<<"$list")" -ge 6
check "--help has its switch, command, interval and own options" \
  bash -c 'for o in collector.testecho= collector.testecho.command= collector.testecho.interval= collector.testecho.scale=; do grep -qF -- "--$o" <<<"$1" || exit 1; done' _ "$help"
check "--help names its alias" has "$help" "[also --testecho-prefix]"
check "the options table has its rows" has "$opts" '| `--collector.testecho.scale` | seconds | `1` |'
check "the metrics table has its family" has "$mets" '| `slurmpush_testecho_value` | gauge | name | VALUE × scale, per NAME |'
out=$("$bin" --dry-run --collector.jobs=false --collector.nodes=false --collector.testecho \
  --collector.testecho.command="printf 'x 3\ny 4\nx 1\n'" --collector.testecho.scale=2.5 -testecho-prefix=p- 2>/dev/null)
check "its own options reach its parser (scale, prefix via alias)" has "$out" 'slurmpush_testecho_value{name="p-x"} 10 '
check "and it sums per label set" has "$out" 'slurmpush_testecho_value{name="p-y"} 10 '
check "its self-metrics carry its name" has "$out" 'slurmpush_collector_success{collector="testecho"} 1 '
check "off by default: not run" bash -c '! "$1" --dry-run --collector.jobs=false --collector.nodes=false 2>/dev/null | grep -q testecho' _ "$bin"
check "a bad value of its own option is a start-up error" bash -c '"$1" --collector.testecho.scale=x; test $? = 2' _ "$bin"
echo "$passes passed, $fails failed"
[ $fails = 0 ]
