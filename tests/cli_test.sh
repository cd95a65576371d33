#!/bin/bash
# cli_test.sh SLURMPUSH FIXTURE_DIR — the binary as a user runs it: --help/--version, start-up
# errors, --once exit codes, a hung and a garbage-printing command (one error each, no series
# from them, the other collector carries on), /metrics answering fast while a command hangs,
# and a clean stop on SIGTERM with no command left behind. Loopback only, bounded in time.
set -uo pipefail
BIN=$1 FIX=$2
SQ="cat $FIX/squeue.txt" SI="cat $FIX/sinfo.txt"
# the collectors on by default read the fixture set, never the machine's Slurm
mapfile -t FIXARGS < <(bash "$(dirname "$0")/fixture_args.sh" "$BIN" "$FIX" defaults)
# unique durations, so the process checks see only this run's commands
HANG1=30.$$ HANG2=60.$$
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   - $*"; }
bad() { fails=$((fails + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
has() { grep -Eq -- "$1" <<<"$2"; }
lacks() { ! grep -Eq -- "$1" <<<"$2"; }

check "--version prints the version" bash -c "'$BIN' --version | grep -Eq '^slurmpush [0-9]+\.[0-9]+\.[0-9]+$'"
for opt in web.listen-address slurm.poll-limit slurm.cli-timeout collector.jobs.command collector.nodes.command slurm.cli-fallback \
  web.log-level label remote-write.url remote-write.timeout pushgateway.url once dry-run interval; do
  check "--help documents --$opt" bash -c "'$BIN' --help | grep -q -- '--$opt='"
done
for alias in slurm.squeue-cli slurm.sinfo-cli slurm.collect-licenses slurm.lic-cli slurm.collect-diags slurm.diag-cli \
  slurm.collect-limits slurm.sacctmgr-cli; do
  check "--help names the seed's spelling --$alias" bash -c "'$BIN' --help | grep -qF -- '[also --$alias]'"
done
for args in "--bogus" "--remote-write.url=nope" "--label=a-b=c" "--label=__name__=x" "--slurm.poll-limit=-3" "-web.log-level=loud" \
  "--remote-write.url=http://127.0.0.1:1/w --remote-write.tls.ca-file=$FIX/squeue.txt" \
  "--remote-write.url=https://127.0.0.1:1/w --remote-write.tls.ca-file=/nonexistent/ca.pem" \
  "--remote-write.url=https://127.0.0.1:1/w --remote-write.tls.key-file=$FIX/squeue.txt" \
  "--pushgateway.url=http://127.0.0.1:1 --pushgateway.job=$(printf 'bad\377')" \
  "--pushgateway.url=http://127.0.0.1:1 --pushgateway.instance=$(printf 'caf\351')"; do
  "$BIN" $args >/dev/null 2>/tmp/slurmpush-cli-err.$$; rc=$?
  check "start-up error for $args (exit 2, one clear line)" test $rc = 2 -a "$(wc -l </tmp/slurmpush-cli-err.$$)" = 1
done
rm -f /tmp/slurmpush-cli-err.$$

out=$("$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" 2>/dev/null); rc=$?
check "--dry-run on good output exits 0" test $rc = 0
check "--dry-run prints samples with timestamps" has '^slurm_cpus_total [0-9]+ [0-9]{13}$' "$out"

out=$("$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" -metrics.exclude='^slurm_user_|^process_' 2>/dev/null)
check "-metrics.exclude drops the matching families" lacks '^(slurm_user_|process_)' "$out"
check "-metrics.exclude keeps the others" has '^slurm_account_job_state_total\{' "$out"
"$BIN" --metrics.exclude='(' >/dev/null 2>&1
check "an invalid -metrics.exclude is a start-up error" test $? = 2

# a hung command: killed at the timeout, counted once, no job series; nodes carry on
t0=$(date +%s.%N)
out=$(CLI_TIMEOUT=1 "$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="sleep $HANG1" --slurm.sinfo-cli="$SI" 2>/dev/null); rc=$?
t1=$(date +%s.%N)
check "hung command: exit 1" test $rc = 1
check "hung command: killed near CLI_TIMEOUT" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5) }'
check "hung command: slurm_job_scrape_error 1" grep -q '^slurm_job_scrape_error 1 ' <<<"$out"
check "hung command: no job series" lacks '^slurm_user_state_total' "$out"
check "hung command: nodes still collected" grep -q '^slurm_cpus_total 10 ' <<<"$out"
check "hung command: no sleep left behind" bash -c "! pgrep -f '^sleep $HANG1$' >/dev/null"

out=$("$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="echo garbage" 2>/dev/null); rc=$?
check "garbage output: exit 1" test $rc = 1
check "garbage output: slurm_node_scrape_error 1" has '^slurm_node_scrape_error 1 ' "$out"
check "garbage output: no node series" lacks '^slurm_cpus_total' "$out"
check "garbage output: jobs still collected" grep -q '^slurm_user_state_total' <<<"$out"
out=$("$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="false" --slurm.sinfo-cli="/nonexistent/sinfo" 2>&1 >/dev/null)
check "failing command is logged in logfmt" has 'level=error msg="collector failed" collector=jobs' "$out"
check "missing command is logged with its reason" has 'collector=nodes command=/nonexistent/sinfo error="cannot start: No such file or directory"' "$out"

# HA pairs: a receiver's __replica__ label is accepted; it goes to remote-write only (the text outputs leave it out)
out=$("$BIN" "${FIXARGS[@]}" --dry-run --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" --label cluster=c1 --label __replica__=ctl2 2>/dev/null); rc=$?
check "--label __replica__=… is accepted" test $rc = 0
check "the text output carries --label cluster" has '^slurm_cpus_total\{cluster="c1"\} 10 ' "$out"
check "the text output leaves __replica__ out" lacks '__replica__' "$out"

# a secret in a URL (user info, query) reaches no log line, error or spool directory name
SP=$(mktemp -d)
"$BIN" --remote-write.url='ftp://bob:s3cr3t@127.0.0.1/x?token=t0k3n' >/dev/null 2>"$SP/err"
check "a bad URL's start-up error hides its user info and query" bash -c "grep -q 'ftp://127.0.0.1/x' '$SP/err' && ! grep -q 's3cr3t\|t0k3n\|bob' '$SP/err'"
"$BIN" "${FIXARGS[@]}" --once --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" --remote-write.timeout=1 \
  --remote-write.url='http://bob:s3cr3t@127.0.0.1:1/api/v1/write?token=t0k3n' --remote-write.spool-dir="$SP/spool" >/dev/null 2>"$SP/log"
check "an unreachable endpoint's logs hide the URL's user info and query" bash -c "grep -q '127.0.0.1:1' '$SP/log' && ! grep -q 's3cr3t\|t0k3n' '$SP/log'"
check "the spool directory's name hides them too" bash -c "ls '$SP/spool' | grep -q '^127.0.0.1_1_api_v1_write-' && ! ls -R '$SP/spool' | grep -q 's3cr3t\|t0k3n\|bob'"
rm -rf "$SP"

# --once against a receiver that is not there fails (bounded by the request timeout)
"$BIN" "${FIXARGS[@]}" --once --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" --remote-write.url=http://127.0.0.1:1/api/v1/write \
  --remote-write.timeout=1 >/dev/null 2>&1; rc=$?
check "--once with an unreachable receiver exits 1" test $rc = 1

# the daemon: /metrics answers at once while a command hangs; SIGTERM stops it promptly
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" "${FIXARGS[@]}" --web.listen-address=127.0.0.1:$port --slurm.poll-limit=1 --slurm.cli-timeout=60 \
  --slurm.squeue-cli="sleep $HANG2" --slurm.sinfo-cli="$SI" 2>/dev/null &
pid=$!
for i in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/-/ready" && break; sleep 0.1; done
t=$(curl -s -o /tmp/slurmpush-cli-m.$$ -w '%{time_total}' "http://127.0.0.1:$port/metrics")
echo "# figures: /metrics answered in $t s while squeue hangs (blocked, it would take the 60 s timeout)"
check "/metrics answers while squeue hangs (within a second, not the command's 60 s)" awk -v t="$t" 'BEGIN { exit !(t < 1) }'
check "/metrics has the node series" grep -q '^slurm_cpus_total 10$' /tmp/slurmpush-cli-m.$$
check "/metrics content type is text 0.0.4" bash -c "curl -sI http://127.0.0.1:$port/metrics | grep -qi 'content-type: text/plain; version=0.0.4'"
check "POST /metrics is 405" bash -c "test \$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x http://127.0.0.1:$port/metrics) = 405"
rm -f /tmp/slurmpush-cli-m.$$
t0=$(date +%s.%N); kill -TERM $pid; wait $pid; rc=$?; t1=$(date +%s.%N)
check "SIGTERM: exit 0" test $rc = 0
check "SIGTERM: stops within 3 s even with a command running" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3) }'
check "SIGTERM: the running command is gone" bash -c "! pgrep -f '^sleep $HANG2$' >/dev/null"

# SIGTERM with receivers that never answer (they take the connection, then say nothing): the endpoints
# drain together, within one bound (5 s, or --remote-write.timeout if shorter), the Pushgateway DELETE
# in it too (not the 30 s request timeout). Each would have its own 5 s, and the DELETE 30, if waited
# for in turn: 45 s.
HUNG=$(mktemp -d)
python3 -c '
import socket, sys, time
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + "/ports.tmp", "w").write(" ".join(str(s.getsockname()[1]) for s in socks) + "\n")
__import__("os").rename(sys.argv[1] + "/ports.tmp", sys.argv[1] + "/ports")
time.sleep(120)' "$HUNG" &
hung=$!
for i in $(seq 50); do test -s "$HUNG/ports" && break; sleep 0.1; done
read -r p1 p2 p3 < "$HUNG/ports"
"$BIN" "${FIXARGS[@]}" --slurm.squeue-cli="$SQ" --slurm.sinfo-cli="$SI" --web.listen-address= --slurm.poll-limit=1 \
  --remote-write.timeout=30 --remote-write.url=http://127.0.0.1:$p1/api/v1/write --remote-write.url=http://127.0.0.1:$p2/api/v1/write \
  --pushgateway.url=http://127.0.0.1:$p3 --pushgateway.delete-on-shutdown --web.log-level=debug 2> "$HUNG/log" &
pid=$!
# stopped while all three requests are in flight: each receiver holds a connection
for i in $(seq 100); do
  test "$(ss -Htn state established "( sport = :$p1 or sport = :$p2 or sport = :$p3 )" | wc -l)" -ge 3 && break; sleep 0.1
done
t0=$(date +%s.%N); kill -TERM $pid; wait $pid; rc=$?; t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "# figures: stopped in $took s with three endpoints that never answer"
check "SIGTERM with three hung endpoints: exit 0" test $rc = 0
check "SIGTERM with three hung endpoints: one bound for all, DELETE included ($took s; 5 s + 0.5 s documented)" \
  awk -v t="$took" 'BEGIN { exit !(t < 7.5) }'
check "SIGTERM with three hung endpoints: what did not go is logged for each" \
  test "$(grep -c 'stopping with requests not delivered' "$HUNG/log")" = 3
check "SIGTERM with three hung endpoints: the DELETE's failure is logged" grep -q 'msg="Pushgateway group deleted" status=0' "$HUNG/log"
kill $hung; wait $hung 2>/dev/null
rm -rf "$HUNG"

# a node state flag slurmpush does not know is kept and logged once, not once a cycle
RH=$(dirname "$FIX")/reservation-hostlists
mapfile -t RHARGS < <(bash "$(dirname "$0")/fixture_args.sh" "$BIN" "$RH")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" "${RHARGS[@]}" --web.listen-address=127.0.0.1:$port --slurm.poll-limit=1 --web.log-level=debug 2>/tmp/slurmpush-cli-log.$$ &
pid=$!
for i in $(seq 100); do test "$(grep -c 'msg="collector done" collector=node-detail' /tmp/slurmpush-cli-log.$$)" -ge 3 && break; sleep 0.1; done
check "an unknown flag is served" bash -c "curl -s http://127.0.0.1:$port/metrics | grep -q 'slurm_node_state_flag{flag=\"quantum_entangled\",node=\"c10\"} 1'"
kill -TERM $pid; wait $pid
check "three node-detail runs" test "$(grep -c 'msg="collector done" collector=node-detail' /tmp/slurmpush-cli-log.$$)" -ge 3
check "an unknown flag is logged once" test "$(grep -c 'value=quantum_entangled' /tmp/slurmpush-cli-log.$$)" = 1
rm -f /tmp/slurmpush-cli-log.$$

echo "$passes passed, $fails failed"
test $fails = 0
