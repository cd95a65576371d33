#!/bin/bash
# run.sh SLURMPUSH — integration on the real lab: Slurm 22.05 cluster (tests/lab/slurm-up.sh),
# Prometheus 2.42 with its remote-write receiver, Pushgateway 1.5.1 and VictoriaMetrics 1.79.5,
# all on 127.0.0.1 (tests/lab/metrics-up.sh). slurmpush pushes one cycle to all three, then runs
# as a daemon for a few cycles; every jobs and nodes family read back from each receiver must
# equal an independent count of the squeue/sinfo output of the same run, and the self-metric
# families must be queryable. Needs root (it runs the lab). Leaves the lab running (the next
# run reuses it); tests/lab/slurm-down.sh and metrics-down.sh stop it.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../lab
PROM=http://127.0.0.1:${PROM_PORT:-29090}
PGW=http://127.0.0.1:${PGW_PORT:-29091}
VM=http://127.0.0.1:${VM_PORT:-28428}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-it.XXXXXX")
CLUSTER=it$(date +%s)$$
source "$HERE/harness.sh" # ok, bad, check, wait_for (its finish is replaced below)
samples_in() { # SELECTOR: Prometheus's count of its samples over the last minute
  curl -fsS "$PROM/api/v1/query" --data-urlencode "query=count_over_time($1[1m])" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
at_least() { test "$(samples_in "$1")" -ge "$2"; }
finish() { [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null; rm -rf "$WORK"; echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?; }
trap finish EXIT

if [ "$(id -u)" != 0 ]; then echo "integration: needs root to run the lab cluster"; exit 1; fi
echo "# bringing up the lab"
if ! bash "$LAB/slurm-up.sh" > "$WORK/slurm-up.log" 2>&1; then cat "$WORK/slurm-up.log"; bad "lab Slurm cluster up"; exit 1; fi
# jobs: submit the lab mix once per cluster lifetime (enough running/pending jobs to count)
if [ "$(squeue -h -t all | wc -l)" -lt 10 ]; then bash "$LAB/slurm-jobs.sh" > "$WORK/jobs.log" 2>&1 || { cat "$WORK/jobs.log"; bad "lab jobs"; }; fi
bash "$LAB/metrics-up.sh" > "$WORK/metrics-up.log" 2>&1 || { cat "$WORK/metrics-up.log"; bad "receivers up"; exit 1; }
ok "lab up: $(sinfo -h -N | wc -l) node lines, $(squeue -h -t all | wc -l) jobs"

# every CLI collector, its output kept for the independent count (collectors.sh)
source "$HERE/collectors.sh"
tee_every_collector "$BIN" "$WORK"

# ---- one cycle of every collector to all three receivers
"$BIN" --once --label cluster=$CLUSTER "${ALL[@]}" \
  --remote-write.url=$PROM/api/v1/write --remote-write.url=$VM/api/v1/write --pushgateway.url=$PGW \
  --pushgateway.instance=$CLUSTER 2> "$WORK/once.log"
rc=$?
check "--once pushed to Prometheus, VictoriaMetrics and the Pushgateway (exit 0)" test $rc = 0
[ $rc = 0 ] || cat "$WORK/once.log"
check "every collector's output kept for the count ($((${#INPUTS[@]} / 2)) collectors; an empty one is an answer too)" \
  bash -c 'for f in "$@"; do case $f in --input) ;; *) test -f "${f#*=}" || exit 1;; esac; done' _ "${INPUTS[@]}"

counts() { python3 "$HERE/../check_counts.py" "${INPUTS[@]}" "$@"; }
check "Prometheus: every family of every collector equals the independent count" \
  counts --prometheus $PROM --match "{__name__=~\"slurm_.+\",cluster=\"$CLUSTER\",job=\"\"}"
vm_has() { curl -fsS "$VM/internal/force_flush" >/dev/null &&
  curl -fsS "$VM/api/v1/query" --data-urlencode "query=count({__name__=~\"slurm_.+\",cluster=\"$1\"})" | grep -q '"value"'; }
wait_for 10 vm_has "$CLUSTER"
check "VictoriaMetrics: every family of every collector equals the independent count" \
  counts --prometheus $VM --match "{__name__=~\"slurm_.+\",cluster=\"$CLUSTER\"}"
curl -fsS "$PGW/metrics" | grep -E "^slurm_[a-z_]+\{.*instance=\"$CLUSTER\"" > "$WORK/pgw.txt"
check "Pushgateway: every family of every collector equals the independent count" counts --metrics "$WORK/pgw.txt"

# remote-write 2.0 asked for; Prometheus 2.42 and VictoriaMetrics 1.79 take only 1.0: the fallback delivers all
V2=${CLUSTER}v2
"$BIN" --once --label cluster=$V2 "${ALL[@]}" --remote-write.protocol=v2 \
  --remote-write.url=$PROM/api/v1/write --remote-write.url=$VM/api/v1/write 2> "$WORK/v2.log"
check "remote-write 2.0 --once exits 0" test $? = 0
check "both receivers made slurmpush fall back to 1.0 (2xx that wrote nothing)" test "$(grep -c 'falling back to 1.0' "$WORK/v2.log")" = 2
v2counts() { counts "$@"; }
check "remote-write 2.0 with fallback: Prometheus has every family right" \
  v2counts --prometheus $PROM --match "{__name__=~\"slurm_.+\",cluster=\"$V2\",job=\"\"}"
wait_for 10 vm_has "$V2"
check "remote-write 2.0 with fallback: VictoriaMetrics has every family right" \
  v2counts --prometheus $VM --match "{__name__=~\"slurm_.+\",cluster=\"$V2\"}"

# several endpoints: one that never answers does not hold back the other
M=${CLUSTER}m
"$BIN" --label cluster=$M --slurm.poll-limit=1 --web.listen-address= --remote-write.timeout=30 \
  --remote-write.url=http://127.0.0.1:1/api/v1/write --remote-write.url=$PROM/api/v1/write 2> "$WORK/multi.log" &
MPID=$!
wait_for 15 at_least "slurm_cpus_total{cluster=\"$M\",job=\"\"}" 3
kill -TERM $MPID; wait $MPID
got=$(samples_in "slurm_cpus_total{cluster=\"$M\",job=\"\"}")
check "a dead endpoint does not hold back a live one ($got samples at 1 s cycles, beside a 30 s timeout)" test "$got" -ge 3

# Pushgateway: a grouping value that needs @base64, gzip bodies (the default), the group deleted at shutdown
GI="rack 7/${CLUSTER}"
"$BIN" --label cluster=${CLUSTER}g --slurm.poll-limit=1 --web.listen-address= --pushgateway.url=$PGW \
  --pushgateway.instance="$GI" --pushgateway.delete-on-shutdown 2> "$WORK/pgw.log" &
PG_PID=$!
in_pgw() { curl -fsS "$PGW/api/v1/metrics" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]
print(sum(1 for g in groups if g["labels"].get("instance") == sys.argv[1] and "slurm_cpus_total" in g))' "$GI"; }
for i in $(seq 40); do [ "$(in_pgw)" = 1 ] && break; sleep 0.25; done
check "Pushgateway: gzip body, instance \"$GI\" (a / needs @base64) stored" test "$(in_pgw)" = 1
kill -TERM $PG_PID; wait $PG_PID
pgw_gone() { test "$(in_pgw)" = 0; }
wait_for 5 pgw_gone
check "Pushgateway: the group is deleted at shutdown" pgw_gone

query() { curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))'; }
for fam in slurm_info slurm_lic_total slurm_daemon_thread_count slurm_rpc_msg_type_count slurm_lic_scrape_error slurm_diag_scrape_error \
  slurm_account_collect_error slurm_job_scrape_error slurm_node_scrape_error slurm_job_scrape_duration slurm_node_scrape_duration \
  slurmpush_collector_success slurmpush_collector_duration_seconds slurmpush_collector_errors_total \
  slurmpush_collector_last_success_timestamp_seconds process_cpu_seconds_total process_resident_memory_bytes \
  process_start_time_seconds process_open_fds slurmpush_build_info slurmpush_sender_samples_total; do
  check "Prometheus has $fam{cluster=$CLUSTER} (remote-write)" test "$(query "$fam{cluster=\"$CLUSTER\",job=\"\"}")" -ge 1
done
N_COLLECTORS=$("$BIN" --list-collectors | awk -F'\t' '$6 != "-"' | wc -l)
check "all $N_COLLECTORS collectors succeeded (slurmpush_collector_success == 1)" \
  test "$(query "slurmpush_collector_success{cluster=\"$CLUSTER\",job=\"\"} == 1")" = "$N_COLLECTORS"
# (label order within a series is checked on the bodies themselves: unit_encode; Prometheus' API returns a map)
check "Prometheus stored no empty label values (feature=\"\" dropped)" \
  test "$(curl -fsS "$PROM/api/v1/series" --data-urlencode "match[]=slurm_feature_total{cluster=\"$CLUSTER\"}" | grep -c '"feature"')" = 0

# ---- the daemon: several cycles, /metrics served, every cycle pushed
PORT=${SLURMPUSH_PORT:-29092}
"$BIN" --label cluster=${CLUSTER}d --slurm.poll-limit=2 --web.listen-address=127.0.0.1:$PORT \
  --remote-write.url=$PROM/api/v1/write 2> "$WORK/daemon.log" &
DAEMON=$!
wait_for 20 at_least "slurm_cpus_total{cluster=\"${CLUSTER}d\"}" 3
check "/metrics serves the lab cluster" bash -c "curl -fsS http://127.0.0.1:$PORT/metrics | grep -q '^slurm_cpus_total{cluster=\"${CLUSTER}d\"} [1-9]'"
samples=$(samples_in "slurm_cpus_total{cluster=\"${CLUSTER}d\"}")
check "daemon pushed one sample per cycle (got $samples at 2 s cycles)" test "${samples:-0}" -ge 3
kill -TERM $DAEMON; wait $DAEMON; rc=$?; DAEMON=
check "daemon stops on SIGTERM with exit 0" test $rc = 0
check "daemon logged in logfmt and no error" bash -c "grep -q 'level=info msg=starting' '$WORK/daemon.log' && ! grep -q 'level=error' '$WORK/daemon.log'"

# ---- staleness: the output loses one user's jobs and c4's state between cycles
IFS='|' read -r _ VU _ _ VST _ < "$WORK/squeue.txt"
awk -F'|' -v u="$VU" '$2 != u' "$WORK/squeue.txt" > "$WORK/squeue-b.txt"
IFS='|' read -r _ SU _ _ SST _ < "$WORK/squeue-b.txt"
# an account whose every job is that user's empties with them
VA=$(awk -F'|' -v u="$VU" '{ if ($2 == u) mine[$3 "|" $5] = 1; else other[$3 "|" $5] = 1 } END { for (k in mine) if (!(k in other)) { print k; exit } }' "$WORK/squeue.txt")
awk -F'|' 'BEGIN { OFS = "|" } $1 == "c4" { $3 = "drained" } { print }' "$WORK/sinfo.txt" > "$WORK/sinfo-b.txt"
cat > "$WORK/alternate.sh" <<'ALT'
#!/bin/sh
# alternate.sh COUNTER FIRST THEN N: print FIRST for the first N runs, THEN afterwards
n=$(cat "$1" 2>/dev/null || echo 0); echo $((n + 1)) > "$1"
if [ "$n" -lt "$4" ]; then cat "$2"; else cat "$3"; fi
ALT
chmod +x "$WORK/alternate.sh"
S=${CLUSTER}s
"$BIN" --label cluster=$S --slurm.poll-limit=1 --web.listen-address= \
  --slurm.squeue-cli="$WORK/alternate.sh $WORK/q.count $WORK/squeue.txt $WORK/squeue-b.txt 3" \
  --slurm.sinfo-cli="$WORK/alternate.sh $WORK/i.count $WORK/sinfo.txt $WORK/sinfo-b.txt 3" \
  --remote-write.url=$PROM/api/v1/write --remote-write.url=$VM/api/v1/write 2> "$WORK/stale.log" &
DAEMON=$!
for i in $(seq 100); do [ "$(cat "$WORK/q.count" 2>/dev/null || echo 0)" -ge 6 ] && break; sleep 0.1; done
nulls() { # selector -> "<null count> <values count> <last value is null>"
  curl -fsS "$VM/api/v1/export" --data-urlencode "match[]=$1" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
v = lines[0]["values"] if lines else []
print(sum(x is None for x in v), len(v), int(bool(v) and v[-1] is None))'; }
# the vanished series' marker is the condition to wait for: pushed after the sixth run, then flushed
marked() { curl -fsS "$VM/internal/force_flush" >/dev/null; read -r n _ _ <<<"$(nulls "$1")"; [ "${n:-0}" -ge 1 ]; }
wait_for 15 marked "slurm_user_state_total{cluster=\"$S\",username=\"$VU\",state=\"$VST\"}"
read -r n total last <<<"$(nulls "slurm_user_state_total{cluster=\"$S\",username=\"$VU\",state=\"$VST\"}")"
check "vanished user series ($VU $VST): exactly one stale marker, the last of $total samples" test "$n" = 1 -a "$last" = 1 -a "$total" -ge 3
c4state=$(awk -F'|' '$1 == "c4" { print $3; exit }' "$WORK/sinfo.txt")
wait_for 10 marked "slurm_node_count_per_state{cluster=\"$S\",state=\"$c4state\"}"
read -r n total last <<<"$(nulls "slurm_node_count_per_state{cluster=\"$S\",state=\"$c4state\"}")"
check "vanished node-state series ($c4state): exactly one stale marker" test "$n" = 1 -a "$last" = 1
if [ -n "$VA" ]; then
  read -r n total last <<<"$(nulls "slurm_account_job_state_total{cluster=\"$S\",account=\"${VA%|*}\",state=\"${VA#*|}\"}")"
  check "the account aggregate that emptied with them ($VA): exactly one stale marker" test "$n" = 1 -a "$last" = 1
fi
read -r n total last <<<"$(nulls "slurm_user_state_total{cluster=\"$S\",username=\"$SU\",state=\"$SST\"}")"
check "a surviving series ($SU $SST): no stale marker ($total samples)" test "$n" = 0 -a "$total" -ge 4
read -r n total last <<<"$(nulls "slurm_cpus_total{cluster=\"$S\"}")"
check "a series whose value did not change: no stale marker" test "$n" = 0
check "Prometheus: the vanished series is stale (instant query empty)" \
  test "$(query "slurm_user_state_total{cluster=\"$S\",username=\"$VU\"}")" = 0
check "Prometheus: the surviving series is there" test "$(query "slurm_user_state_total{cluster=\"$S\",username=\"$SU\"}")" -ge 1
kill -TERM $DAEMON; wait $DAEMON; DAEMON=
none_left() { test "$(query "{cluster=\"$S\"}")" = 0; }
wait_for 10 none_left
check "at shutdown every series is marked stale" none_left

# ---- a real job run through the wrapper: slurm_proc_* while it runs, stale after it ends
T=${CLUSTER}t
TPORT=${SLURMPUSH_TRACE_PORT:-29093}
"$BIN" --label cluster=$T --slurm.poll-limit=1 --web.listen-address=127.0.0.1:$TPORT -trace.enabled --trace.rate=3 \
  --remote-write.url=$PROM/api/v1/write 2> "$WORK/trace.log" &
DAEMON=$!
chmod 755 "$WORK"
install -m 755 "$HERE/../../deploy/slurmpush-trace" "$WORK/slurmpush-trace"
# the lab job mix fills every node: reserve node0 for the traced job, and end what runs there
scontrol delete reservationname=slurmpush-it >/dev/null 2>&1 || true
scontrol create reservationname=slurmpush-it nodes=node0 starttime=now duration=10 users=alice flags=ignore_jobs >/dev/null
running=$(squeue -h -w node0 -t R,CG -o %A | sort -u); [ -n "$running" ] && scancel $running
JOB=$(runuser -u alice -- sbatch --parsable --chdir=/tmp -o /dev/null -e /dev/null -p debug -w node0 -n1 --mem=16M -t 2 \
  --reservation=slurmpush-it --export=ALL,SLURM_EXPORTER=http://127.0.0.1:$TPORT/trace \
  --wrap "python3 $WORK/slurmpush-trace --sample-rate 1 -- sleep 8")
for i in $(seq 60); do [ "$(squeue -h -j "$JOB" -o %T)" = RUNNING ] && break; sleep 0.5; done
check "traced job $JOB started on node0" test "$(squeue -h -j "$JOB" -o %T)" = RUNNING
seen=0
for i in $(seq 40); do
  [ "$(query "slurm_proc_cpu_usage{cluster=\"$T\",jobid=\"$JOB\",username=\"alice\"}")" -ge 1 ] && { seen=1; break; }; sleep 0.5
done
check "traced job $JOB: slurm_proc_cpu_usage in Prometheus while it runs" test $seen = 1
for fam in slurm_proc_pid slurm_proc_mem_usage slurm_proc_threadcount slurm_proc_read_bytes slurm_proc_write_bytes \
  slurm_job_cpu_alloc slurm_job_mem_alloc; do
  check "traced job: $fam present" test "$(query "$fam{cluster=\"$T\",jobid=\"$JOB\"}")" -ge 1
done
gone=0
for i in $(seq 60); do
  [ "$(query "slurm_proc_cpu_usage{cluster=\"$T\",jobid=\"$JOB\"}")" = 0 ] && { gone=1; break; }; sleep 0.5
done
check "traced job: its series go stale after it ends" test $gone = 1
kill -TERM $DAEMON; wait $DAEMON; DAEMON=
scontrol delete reservationname=slurmpush-it >/dev/null 2>&1 || true

# ---- JSON mode and text mode agree on the live cluster, while it holds still (collectors.sh)
json_against_text "$BIN" "$WORK"
check "JSON mode: exit 0" test "$JSON_RC" = 0
check "the cluster held still around the JSON run (try $TRIES)" cmp -s "$WORK/t.stable" "$WORK/t2.stable"
check "JSON mode (squeue/sinfo --json) and text mode agree on the lab: $(wc -l < "$WORK/t.stable") series" \
  diff "$WORK/t.stable" "$WORK/j.stable"
