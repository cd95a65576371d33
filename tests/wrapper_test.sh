#!/bin/bash
# wrapper_test.sh SLURMPUSH FIXTURES — deploy/slurmpush-trace as a job runs it: the command's own exit
# status, signals forwarded, every field of the seed's body sampled from /proc, posts that slurmpush accepts
# (with a bearer token from a file; over TLS with a client certificate and basic auth), and a post failure
# that never ends the job. Loopback only.
set -uo pipefail
BIN=$1 FIX=$2
# the collectors on by default read the fixture set, never the machine's Slurm
mapfile -t FIXARGS < <(bash "$(dirname "$0")/fixture_args.sh" "$BIN" "$FIX/lab-22.05" defaults)
W="python3 $(cd "$(dirname "$0")/.." && pwd)/deploy/slurmpush-trace"
fails=0 passes=0
check() { local what=$1; shift; if "$@"; then passes=$((passes + 1)); echo "ok   - $what"; else fails=$((fails + 1)); echo "FAIL - $what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

SLURM_JOB_ID= $W -- sh -c 'exit 7' 2>/dev/null; rc=$?
check "outside a job: runs the command untraced and exits with its status (7)" test $rc = 7
$W --dry-run --jobid 5 --sample-rate 0.2 -- sh -c 'exit 3' >/dev/null; rc=$?
check "exits with the command's own status (3)" test $rc = 3
$W --dry-run --jobid 5 --sample-rate 0.2 -- sleep 30 > "$tmp/samples" & p=$!
sleep 1; t0=$(date +%s.%N); kill -TERM $p; wait $p; rc=$?; t1=$(date +%s.%N)
check "SIGTERM is forwarded: the command ends and the wrapper exits 143 at once" \
  awk -v rc=$rc -v a="$t0" -v b="$t1" 'BEGIN { exit !(rc == 143 && b - a < 2) }'
check "every field of the seed's body, with the right types" python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).readline())
want = {"job_id": int, "pid": int, "cpus": (int, float), "threads": int, "mem": int, "read_bytes": int, "write_bytes": int,
        "username": str, "hostname": str}
sys.exit(0 if all(isinstance(s[k], t) for k, t in want.items()) and s["job_id"] == 5 and s["mem"] > 0 else 1)' "$tmp/samples"
$W --dry-run --jobid 5 --sample-rate 0.3 -- sh -c 'i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done' > "$tmp/busy"
check "a busy child shows CPU use (> 30 % of a CPU)" python3 -c '
import json, sys
sys.exit(0 if max(json.loads(l)["cpus"] for l in open(sys.argv[1])) > 30 else 1)' "$tmp/busy"

echo "t0k3n-wrapper" > "$tmp/token"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --web.listen-address=127.0.0.1:$port -trace.enabled --trace.token-file="$tmp/token" --slurm.poll-limit=1 \
  --slurm.squeue-cli="cat $FIX/lab-22.05/squeue.txt" --slurm.sinfo-cli="cat $FIX/lab-22.05/sinfo.txt" "${FIXARGS[@]}" 2>/dev/null & sp=$!
for i in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.1; done
SLURM_JOB_ID=3 SLURM_EXPORTER=127.0.0.1:$port SAMPLE_RATE=0.3 SLURMPUSH_TRACE_TOKEN_FILE="$tmp/token" $W -- sleep 1.2 2> "$tmp/err"
check "posts are accepted (token from a file, bare host:port endpoint)" bash -c "! grep -q failed '$tmp/err' && curl -fs http://127.0.0.1:$port/trace | grep -q '\"job_id\":3'"
# the next cycles (1 s apart) turn the trace into series
for i in $(seq 50); do curl -fs http://127.0.0.1:$port/metrics | grep -q '^slurm_proc_threadcount{jobid="3"' && break; sleep 0.1; done
check "slurm_proc_* of the traced job in /metrics" bash -c "curl -fs http://127.0.0.1:$port/metrics | grep -q '^slurm_proc_threadcount{jobid=\"3\"'"
kill $sp; wait $sp
# slurmpush behind TLS, client certificates and basic auth (--web.config.file): the wrapper's CA, client
# certificate and password-file options
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -days 2 -subj /CN=ca -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
for n in server client; do
  openssl req $ec -subj /CN=$n -keyout "$tmp/$n.key" -out "$tmp/$n.csr" 2>/dev/null
  echo "subjectAltName=IP:127.0.0.1" > "$tmp/$n.ext"
  openssl x509 -req -in "$tmp/$n.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 -extfile "$tmp/$n.ext" \
    -out "$tmp/$n.pem" 2>/dev/null
done
echo "job-pw" > "$tmp/password"
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("job-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))')
printf 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\nbasic_auth_users:\n  jobs: %s\n' \
  "$hash" > "$tmp/web.yml"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --web.listen-address=127.0.0.1:$port -trace.enabled --web.config.file="$tmp/web.yml" --slurm.poll-limit=1 \
  --slurm.squeue-cli="cat $FIX/lab-22.05/squeue.txt" --slurm.sinfo-cli="cat $FIX/lab-22.05/sinfo.txt" "${FIXARGS[@]}" 2>/dev/null & sp=$!
get() { curl -fs --cacert "$tmp/ca.pem" --cert "$tmp/client.pem" --key "$tmp/client.key" -u jobs:job-pw "https://127.0.0.1:$port$1"; }
for i in $(seq 50); do get /-/healthy >/dev/null && break; sleep 0.1; done
SLURM_JOB_ID=4 SAMPLE_RATE=0.3 $W --endpoint https://127.0.0.1:$port/trace --ca-file "$tmp/ca.pem" --cert-file "$tmp/client.pem" \
  --key-file "$tmp/client.key" --basic-auth-user jobs --basic-auth-password-file "$tmp/password" -- sleep 1.2 2> "$tmp/err"
traced=$(get /trace)
check "posts over TLS with a client certificate and basic auth are accepted" \
  bash -c "! grep -q failed '$tmp/err' && grep -q '\"job_id\":4' <<< '$traced'"
echo "wrong" > "$tmp/wrong"
SLURM_JOB_ID=5 SAMPLE_RATE=0.3 $W --endpoint https://127.0.0.1:$port/trace --ca-file "$tmp/ca.pem" --cert-file "$tmp/client.pem" \
  --key-file "$tmp/client.key" --basic-auth-user jobs --basic-auth-password-file "$tmp/wrong" -- sleep 0.5 2> "$tmp/err"; rc=$?
check "a wrong password: the post fails (401, on stderr), the job does not (exit 0)" bash -c "test $rc = 0 && grep -q '401' '$tmp/err'"
kill $sp; wait $sp
SLURM_JOB_ID=3 SLURM_EXPORTER=http://127.0.0.1:1/trace SAMPLE_RATE=0.2 $W -- sh -c 'sleep 0.5; exit 4' 2> "$tmp/err2"; rc=$?
check "an unreachable slurmpush never ends the job (exit 4, failure on stderr)" bash -c "test $rc = 4 && grep -q 'post to' '$tmp/err2'"
echo "$passes passed, $fails failed"
[ $fails = 0 ]
