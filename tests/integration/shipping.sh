#!/bin/bash
# shipping.sh SLURMPUSH — what a site imports, proven on the real lab (Slurm 22.05, tests/lab/slurm-up.sh):
#   dashboards  every query of deploy/grafana/*.json, variables filled in, returns data from a Prometheus 2.42
#               fed by slurmpush (every CLI collector on, a traced job) — tests/dashboards_test.py
#   rules       that Prometheus loads deploy/prometheus/*.rules.yml; the lab's down node c4 brings
#               SlurmNodeDown to pending (its `for:` is minutes: pending is as far as a short test gets)
#   HA pairs    two agents pushing identical series into one VictoriaMetrics 1.79.5 with
#               -dedup.minScrapeInterval keep one sample per interval; a __replica__ label (Mimir/Cortex HA
#               deduplication) arrives with every series
# Its own Prometheus and VictoriaMetrics on free loopback ports and private data dirs, stopped at the end.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LAB=$HERE/../lab
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-ship.XXXXXX")
CLUSTER=ship$(date +%s)$$
source "$HERE/harness.sh"
trap 'scontrol delete reservationname=slurmpush-ship >/dev/null 2>&1; finish' EXIT
wait_http() { for _ in $(seq 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
count() { # URL EXPR: the value of a one-series query (0 when empty)
  curl -fsS "$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'; }

if [ "$(id -u)" != 0 ]; then echo "shipping: needs root to run the lab cluster"; exit 1; fi
bash "$LAB/slurm-up.sh" > "$WORK/slurm-up.log" 2>&1 || { cat "$WORK/slurm-up.log"; bad "lab Slurm cluster up"; exit 1; }
bash "$LAB/metrics-up.sh" > "$WORK/metrics-up.log" 2>&1 || true # installs the receivers' packages if need be
# running jobs (a GPU one among them), pending ones with reasons: the lab job mix, again if it has run out
if [ "$(squeue -h -t R -o %i | wc -l)" -lt 3 ] || [ "$(squeue -h -t R -p gpu -o %i | wc -l)" = 0 ]; then
  bash "$LAB/slurm-jobs.sh" > "$WORK/jobs.log" 2>&1 || { cat "$WORK/jobs.log"; bad "lab jobs"; }
fi
# the fair-share panels need usage: an account's LevelFS is inf (no series) until a priority calculation
# (PriorityCalcPeriod=1, a minute) has seen its jobs run, so a fresh lab waits for the first one
finite_levelfs() { sshare -a -l -P -o Account,User,LevelFS 2>/dev/null |
  awk -F'|' 'NR > 1 && $2 == "" && $3 != "" && $3 != "inf" && $1 !~ /root/' | grep -q .; }
for _ in $(seq 90); do finite_levelfs && break; sleep 1; done
check "the lab's accounts have fair-share usage (a finite LevelFS)" finite_levelfs
scontrol delete reservationname=slurmpush-ship >/dev/null 2>&1
scontrol create reservationname=slurmpush-ship nodes=c4 starttime=now+7days duration=120 users=alice >/dev/null ||
  bad "a reservation for the reservation panels"

# ---- the unit's confinement, as far as a machine without a running systemd reproduces it: another user
# (DynamicUser=), no capabilities (CapabilityBoundingSet=), no new privileges, a read-only root file system
# (ProtectSystem=strict): every CLI collector still succeeds (munge's socket, /etc/slurm)
collectors=()
while IFS=$'\t' read -r name _ _ _ _ command; do [ "$command" = - ] || collectors+=("--collector.$name"); done < <("$BIN" --list-collectors)
unshare -m sh -c 'mount --make-rprivate / && mount --bind / / && mount -o remount,bind,ro / && ! touch /.slurmpush-rw 2>/dev/null &&
  exec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all "$@"' \
  confined "$BIN" --dry-run "${collectors[@]}" > /dev/null 2> "$WORK/confined.log"
check "confined as the unit runs it (uid 65534, no capabilities, read-only /): every CLI collector succeeds" test $? = 0
grep 'level=error' "$WORK/confined.log" | head -3

# ---- the receivers: Prometheus with slurmpush's rules (evaluated every 2 s here), VictoriaMetrics deduplicating
PP=$(free_port) VP=$(free_port) TP=$(free_port)
mkdir -p "$WORK/rules" "$WORK/prom" "$WORK/vm" "$WORK/spool"
for f in "$SRC"/deploy/prometheus/*.rules.yml; do
  sed 's/^\(\s*interval:\) .*/\1 2s/' "$f" > "$WORK/rules/$(basename "$f")"
done
printf 'global:\n  evaluation_interval: 2s\nrule_files:\n  - %s/rules/*.rules.yml\n' "$WORK" > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" --web.listen-address=127.0.0.1:$PP \
  --web.enable-remote-write-receiver > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
victoria-metrics -httpListenAddr=127.0.0.1:$VP -storageDataPath="$WORK/vm" -dedup.minScrapeInterval=10s \
  -search.latencyOffset=0s -search.disableCache > "$WORK/vm.log" 2>&1 &
PIDS+=($!)
PROM=http://127.0.0.1:$PP VM=http://127.0.0.1:$VP
wait_http $PROM/-/ready && wait_http $VM/health || { tail -5 "$WORK"/*.log; bad "receivers up"; exit 1; }
rules=$(curl -fsS $PROM/api/v1/rules | python3 -c 'import json,sys; print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')
want=$(grep -cE '^\s*- (alert|record):' "$SRC"/deploy/prometheus/*.rules.yml | awk -F: '{ n += $2 } END { print n }')
check "Prometheus loaded every rule of deploy/prometheus ($rules of $want)" test "$rules" = "$want"

# ---- agent A: every CLI collector, traces, a spool; to Prometheus and VictoriaMetrics. Agent B: its HA twin (VM only)
common=(--label cluster=$CLUSTER "${collectors[@]}" --collector.jobs.users-accts --collector.fairshare.users
  --slurm.poll-limit=2 --collector.fairshare.interval=0 --collector.reservations.interval=0)
"$BIN" "${common[@]}" --web.listen-address=127.0.0.1:$TP --trace.enabled --remote-write.spool-dir="$WORK/spool" \
  --remote-write.url=$PROM/api/v1/write --remote-write.url=$VM/api/v1/write 2> "$WORK/a.log" &
PIDS+=($!)
"$BIN" "${common[@]}" --web.listen-address= --remote-write.url=$VM/api/v1/write 2> "$WORK/b.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$TP/-/ready" || bad "agent A listening"
# a traced job: what slurmpush-trace posts, for a job squeue lists as running
read -r JOB JUSER < <(squeue -h -t R -o '%A %u' | head -1)
for i in $(seq 12); do
  printf '{"pid": %d, "cpus": 50.0, "threads": 3, "mem": 1048576, "read_bytes": %d, "write_bytes": %d, "username": "%s", "io_wait": 0, "hostname": "node0", "job_id": %s}' \
    $((4000 + i)) $((i * 4096)) $((i * 1024)) "$JUSER" "$JOB" |
    curl -fsS -o /dev/null -H "Content-Type: application/json" --data-binary @- "http://127.0.0.1:$TP/trace" || bad "trace post $i"
  sleep 2
done
check "agent A ran without a collector failing" bash -c "! grep -q 'msg=\"collector failed\"' '$WORK/a.log'"

# ---- dashboards
python3 "$HERE/../dashboards_test.py" $PROM "$CLUSTER" "$SRC"/deploy/grafana/*.json > "$WORK/dashboards.txt" 2>&1
rc=$?
cat "$WORK/dashboards.txt"
check "every dashboard query returns data ($(tail -1 "$WORK/dashboards.txt"))" test $rc = 0

# ---- alerts: c4 (no slurmd) is down in the lab
check "SlurmNodeDown is pending or firing for the lab's down node c4" \
  test "$(count $PROM "count(ALERTS{alertname=\"SlurmNodeDown\",cluster=\"$CLUSTER\",node=\"c4\",alertstate=~\"pending|firing\"})")" = 1
check "SlurmNodeDown carries the node's reason" \
  test "$(count $PROM "count(ALERTS{alertname=\"SlurmNodeDown\",cluster=\"$CLUSTER\",node=\"c4\",reason=~\".+\"})")" = 1
check "SlurmNodeDown is silent for the nodes that are up" \
  test "$(count $PROM "count(ALERTS{alertname=\"SlurmNodeDown\",cluster=\"$CLUSTER\",node!=\"c4\"})")" = 0

# ---- HA: VictoriaMetrics with -dedup.minScrapeInterval=10s keeps one of the twins' samples per 10 s
curl -fsS "$VM/internal/force_flush" >/dev/null; sleep 1
in_prom=$(count $PROM "count_over_time(slurm_cpus_total{cluster=\"$CLUSTER\"}[20s])")
in_vm=$(count $VM "count_over_time(slurm_cpus_total{cluster=\"$CLUSTER\"}[20s])")
series_vm=$(count $VM "count(slurm_cpus_total{cluster=\"$CLUSTER\"})")
check "HA twins: one series in VictoriaMetrics ($series_vm)" test "$series_vm" = 1
check "HA twins: at most 3 samples in 20 s kept by VictoriaMetrics (got $in_vm; agent A alone pushed $in_prom to Prometheus)" \
  test "$in_vm" -ge 1 -a "$in_vm" -le 3 -a "$in_prom" -ge 8
# Mimir/Cortex HA: the replica label reaches the receiver with every series
"$BIN" --once --label cluster=${CLUSTER}ha --label __replica__=ctl2 --remote-write.url=$PROM/api/v1/write 2> "$WORK/ha.log"
check "--label __replica__=ctl2: pushed (exit 0)" test $? = 0
check "__replica__ arrives with the series" \
  test "$(count $PROM "count(slurm_cpus_total{cluster=\"${CLUSTER}ha\",__replica__=\"ctl2\"})")" = 1
