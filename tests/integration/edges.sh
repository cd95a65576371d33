#!/bin/bash
# edges.sh SLURMPUSH [trixie|sid] — the counters only an agent with memory makes, on a real Slurm lab (22.05
# on the host; with a suite, 24.11 or 26.05 in its debootstrap root, tests/lab/modern-up.sh): while
# slurmpush runs (2 s cycles, --state-dir), a node is drained and resumed, short jobs run and finish, a GPU
# job holds one of node0's GPUs. Every counter and histogram bucket slurmpush saved equals an independent
# replay of the very snapshots it read (tests/edges_check.py over tee-runs.sh's copies), and
# slurm_job_gpu_info names the GPU index Slurm gave the job on node0.
set -uo pipefail
BIN=$(readlink -f "$1") SUITE=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../lab
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-edges.XXXXXX")
fails=0 passes=0 AGENT= JOBS=()
ok() { passes=$((passes + 1)); echo "ok   - $*"; }
bad() { fails=$((fails + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
  [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
  [ ${#JOBS[@]} -gt 0 ] && scancel "${JOBS[@]}" 2>/dev/null
  scontrol update nodename=c3 state=resume >/dev/null 2>&1
  scontrol delete reservationname=slurmpush-edges >/dev/null 2>&1
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
  echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?
}
trap finish EXIT
if [ "$(id -u)" != 0 ]; then echo "edges: needs root to run the lab cluster"; exit 1; fi
if [ -n "$SUITE" ]; then # the modern lab's CLI through its wrappers; users exist inside its root
  ROOT=${MODERN_ROOT:-/var/tmp/slurmpush-lab-$SUITE}
  JOBS=1 RESV=1 bash "$LAB/modern-up.sh" "$SUITE" "$ROOT" > "$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; bad "lab $SUITE up"; exit 1; }
  export PATH="$ROOT-bin:$PATH"
  as_user() { lab-exec runuser -u "$@"; }
else
  bash "$LAB/slurm-up.sh" > "$WORK/slurm-up.log" 2>&1 || { cat "$WORK/slurm-up.log"; bad "lab Slurm cluster up"; exit 1; }
  as_user() { runuser -u "$@"; }
fi
echo "# Slurm $(scontrol --version)"
scontrol update nodename=c3 state=resume >/dev/null 2>&1 # a drain left by an earlier run
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
jobs_cmd=$("$BIN" --list-collectors | awk -F'\t' '$1 == "jobs" { print $6 }')
nodes_cmd=$("$BIN" --list-collectors | awk -F'\t' '$1 == "node-detail" { print $6 }')
gpus_cmd=$("$BIN" --list-collectors | awk -F'\t' '$1 == "job-gpus" { print $6 }')
"$BIN" --slurm.poll-limit=2 --web.listen-address=127.0.0.1:$PORT --state-dir="$WORK/state" --collector.job-gpus \
  --collector.jobs.command="$HERE/tee-runs.sh $WORK/jobs $jobs_cmd" \
  --collector.node-detail.command="$HERE/tee-runs.sh $WORK/nodes $nodes_cmd" \
  --collector.job-gpus.command="$HERE/tee-runs.sh $WORK/gpus $gpus_cmd" 2> "$WORK/agent.log" &
AGENT=$!
runs() { ls "$WORK/$1"/*.done 2>/dev/null | wc -l; }
wait_runs() { # DIR N: until DIR has N more complete runs (bounded)
  local want=$(($(runs "$1") + $2))
  for _ in $(seq 100); do [ "$(runs "$1")" -ge $want ] && return 0; sleep 0.2; done; return 1; }
wait_runs nodes 2 || bad "the agent runs its collectors"

# ---- a drained node, resumed; jobs that start and finish; a GPU job
scontrol update nodename=c3 state=drain reason="slurmpush edges test"
wait_runs nodes 3
scontrol update nodename=c3 state=resume
# the lab job mix fills every node: node0 reserved for this test's jobs, what runs there ended (its end is an edge too)
scontrol delete reservationname=slurmpush-edges >/dev/null 2>&1
scontrol create reservationname=slurmpush-edges nodes=node0 starttime=now duration=10 users=alice,bob flags=ignore_jobs >/dev/null ||
  bad "a reservation on node0"
running=$(squeue -h -w node0 -t R,CG -o %A | sort -u); [ -n "$running" ] && scancel $running
S="sbatch --parsable --chdir=/tmp -o /dev/null -e /dev/null --reservation=slurmpush-edges -w node0"
for i in 1 2 3; do JOBS+=("$(as_user alice -- $S -p debug -A physics -n1 --mem=64M --wrap "sleep $((2 * i))")"); done
JOBS+=("$(as_user bob -- $S -p debug -A chemistry -n1 --mem=64M --wrap 'exit 3')")
GPU=$(as_user bob -- $S -p gpu -A chemistry -n1 --mem=128M --gres=gpu:fake:1 --wrap 'sleep 30')
JOBS+=("$GPU")
for _ in $(seq 60); do [ "$(squeue -h -j "$GPU" -o %T)" = RUNNING ] && break; sleep 0.5; done
check "the GPU job $GPU runs" test "$(squeue -h -j "$GPU" -o %T)" = RUNNING
idx=$(scontrol show job -d "$GPU" | sed -n 's/.*GRES=gpu[^ ]*(IDX:\([0-9,-]*\)).*/\1/p' | head -1)
wait_runs gpus 2
check "slurm_job_gpu_info: job $GPU holds GPU $idx of node0 (Slurm's IDX)" bash -c \
  "curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^slurm_job_gpu_info\\{' | grep 'jobid=\"$GPU\"' | grep -q 'gpu_index=\"$idx\".*node=\"node0\"'"
check "slurm_job_gpu_info: one series for the job's one GPU" \
  test "$(curl -fsS http://127.0.0.1:$PORT/metrics | grep -E '^slurm_job_gpu_info\{' | grep -c "jobid=\"$GPU\"")" = 1
# the short jobs finish
for _ in $(seq 60); do
  [ "$(squeue -h -j "$(IFS=,; echo "${JOBS[*]:0:4}")" -t PD,R,CG -o %i 2>/dev/null | wc -l)" = 0 ] && break; sleep 0.5
done
wait_runs jobs 2
# stop just after a run of both collectors (slurmpush saves right after each success)
wait_runs nodes 1; sleep 0.5
kill -TERM $AGENT; wait $AGENT; AGENT=
check "the agent stopped cleanly and logged no error" bash -c "! grep -q 'level=error' '$WORK/agent.log'"
python3 "$HERE/../edges_check.py" "$WORK/state" "$WORK/nodes" "$WORK/jobs" > "$WORK/edges.txt" 2>&1
rc=$?
cat "$WORK/edges.txt"
check "every counter, bucket and sum equals the replay of the same snapshots" test $rc = 0
read -r nflags nperiods nstarted nfinished < <(sed -n 's/.* \([0-9]*\) flags set, \([0-9]*\) unavailable periods, \([0-9]*\) jobs started, \([0-9]*\) finished.*/\1 \2 \3 \4/p' "$WORK/edges.txt")
check "the replay saw the drain (flags ${nflags:-0}, unavailable periods ${nperiods:-0}: c3 in debug and long) and the jobs (started ${nstarted:-0}, finished ${nfinished:-0})" \
  test "${nflags:-0}" -ge 1 -a "${nperiods:-0}" -ge 2 -a "${nstarted:-0}" -ge 5 -a "${nfinished:-0}" -ge 4
