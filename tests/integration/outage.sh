#!/bin/bash
# outage.sh SLURMPUSH — delivery through an outage of the real receivers (Prometheus 2.42 and
# VictoriaMetrics 1.79.5 on 127.0.0.1), with a clean restart (SIGTERM) and a crash (SIGKILL) of the
# agent in the middle of it. slurmpush collects every 2 s into its spool; both receivers are down
# for OUTAGE_S seconds (default 125); afterwards every collected timestamp of a series must be stored
# in both, in order, none rejected, and at most one request twice (the one in flight at the SIGKILL).
# Prints the figures: samples expected, stored, duplicated.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/../../fixtures/lab-22.05
# the collectors on by default read the fixture set, never the machine's Slurm
mapfile -t FIXARGS < <(bash "$HERE/../fixture_args.sh" "$BIN" "$FIX" defaults)
OUTAGE_S=${OUTAGE_S:-125}
PROM=http://127.0.0.1:${PROM_PORT:-29090}
VM=http://127.0.0.1:${VM_PORT:-28428}
BASE=${BASE:-${TMPDIR:-/tmp}/slurmpush-lab-metrics}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-outage.XXXXXX")
C=outage$(date +%s)$$
source "$HERE/harness.sh" # ok, bad, check, wait_for (its finish is replaced below)
DAEMON=
finish() { [ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null; bash "$HERE/../lab/metrics-up.sh" >/dev/null 2>&1; rm -rf "$WORK"
  echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?; }
trap finish EXIT

bash "$HERE/../lab/metrics-up.sh" > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; bad "receivers up"; exit 1; }
start() { # a daemon replaying the lab fixture, into the spool; debug logs name every queued collection
  "$BIN" --label cluster=$C --slurm.poll-limit=2 --web.listen-address= --web.log-level=debug \
    --slurm.squeue-cli="cat $FIX/squeue.txt" --slurm.sinfo-cli="cat $FIX/sinfo.txt" "${FIXARGS[@]}" \
    --remote-write.url=$PROM/api/v1/write --remote-write.url=$VM/api/v1/write --remote-write.spool-dir="$WORK/spool" \
    2>> "$WORK/agent.log" &
  DAEMON=$!
}
receivers() { # stop|start Prometheus and VictoriaMetrics (only those, by their PID files)
  if [ "$1" = stop ]; then
    for n in prometheus vm; do p=$(cat "$BASE/$n.pid"); kill "$p"; while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  else bash "$HERE/../lab/metrics-up.sh" >/dev/null; fi
}

start
# the outage begins once the receivers have taken some of it
delivered() { curl -fsS "$PROM/api/v1/query" --data-urlencode "query=slurm_cpus_total{cluster=\"$C\"}" | grep -q '"value"'; }
wait_for 20 delivered
receivers stop
echo "# receivers down for ${OUTAGE_S}s; agent: SIGTERM + restart, then SIGKILL + restart, during the outage"
sleep $((OUTAGE_S / 3))
kill -TERM $DAEMON; wait $DAEMON; DAEMON=; start
sleep $((OUTAGE_S / 3))
kill -KILL $DAEMON; wait $DAEMON 2>/dev/null; DAEMON=; start
sleep $((OUTAGE_S - 2 * (OUTAGE_S / 3)))
receivers start
# delivered when both queues are empty (the spool's view, from the debug log of the sender is not needed)
for i in $(seq 120); do
  left=$(find "$WORK/spool" -name cursor | while read -r c; do d=$(dirname "$c"); read -r seg off _ < "$c" # "<segment> <offset> <crc>"
    f=$(printf '%s/%016d.seg' "$d" "$seg"); newest=$(ls "$d"/*.seg | tail -1); size=$(stat -c %s "$newest")
    [ "$f" = "$newest" ] && [ "$off" = "$size" ] || echo pending; done | wc -l)
  [ "$left" = 0 ] && break; sleep 1
done
check "both spools drained after the receivers came back" test "$left" = 0
kill -TERM $DAEMON; wait $DAEMON; DAEMON=

expected=$(grep -c 'msg="queued for remote-write" collector=nodes' "$WORK/agent.log")
curl -fsS "$VM/internal/force_flush" >/dev/null; sleep 1
prom=$(curl -fsS "$PROM/api/v1/query" --data-urlencode "query=count_over_time(slurm_cpus_total{cluster=\"$C\"}[1h])" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
read -r vm_values vm_unique vm_sorted < <(curl -fsS "$VM/api/v1/export" --data-urlencode "match[]=slurm_cpus_total{cluster=\"$C\"}" |
  python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ts = [t for r in rows for t, v in zip(r["timestamps"], r["values"]) if v is not None]
print(len(ts), len(set(ts)), int(ts == sorted(ts)))')
rejected=$(grep -c 'receiver rejected the request' "$WORK/agent.log")
echo "# figures: samples expected $expected (one per collection of slurm_cpus_total); Prometheus stored $prom;" \
  "VictoriaMetrics stored $vm_values ($vm_unique distinct timestamps, $((vm_values - vm_unique)) duplicated); rejected requests $rejected"
check "the agent collected throughout ($expected collections)" test "$expected" -ge $((OUTAGE_S / 2))
check "Prometheus stored every collected sample ($prom of $expected)" test "$prom" = "$expected"
check "VictoriaMetrics stored every collected timestamp ($vm_unique of $expected)" test "$vm_unique" = "$expected"
check "VictoriaMetrics: in order" test "$vm_sorted" = 1
check "at most one request twice (the one in flight at the SIGKILL): $((vm_values - vm_unique)) duplicated" \
  test $((vm_values - vm_unique)) -le 1
check "no request rejected by a receiver" test "$rejected" = 0
check "the clean restart recovered its spool" grep -q 'resending what an earlier run left unacknowledged' "$WORK/agent.log"

# a full spool: the oldest requests go (logged and counted), the agent keeps running
FPORT=${SLURMPUSH_FULL_PORT:-29094}
"$BIN" --label cluster=${C}f --slurm.poll-limit=1 --web.listen-address=127.0.0.1:$FPORT \
  --slurm.squeue-cli="cat $FIX/squeue.txt" --slurm.sinfo-cli="cat $FIX/sinfo.txt" "${FIXARGS[@]}" \
  --remote-write.url=http://127.0.0.1:1/api/v1/write --remote-write.spool-dir="$WORK/full" --remote-write.spool-max-bytes=16384 \
  2> "$WORK/full.log" &
DAEMON=$!
evicted_now() { curl -fsS http://127.0.0.1:$FPORT/metrics | awk -F' ' '/^slurmpush_sender_requests_total\{.*result="evicted"/ { print $2 }'; }
some_evicted() { [ "$(evicted_now)" -gt 0 ] 2>/dev/null; }
wait_for 30 some_evicted
evicted=$(evicted_now)
check "full spool: the oldest requests dropped and logged" grep -q 'spool full: dropped the oldest segment' "$WORK/full.log"
check "full spool: counted in slurmpush_sender_requests_total{result=\"evicted\"} ($evicted)" test "${evicted:-0}" -gt 0
spooled=$(du -sb "$WORK/full" | cut -f1)
check "full spool: stays near its bound ($spooled bytes on disk)" test "$spooled" -lt 65536
check "full spool: the agent keeps running" kill -0 $DAEMON
kill -TERM $DAEMON; wait $DAEMON; rc=$?; DAEMON=
check "full spool: clean stop" test $rc = 0
