#!/bin/bash
# tls.sh SLURMPUSH — remote-write over TLS to real receivers on 127.0.0.1, certificates made here with openssl:
#   Prometheus 2.42 with its own --web.config.file: TLS + basic auth (A); TLS with client certificates required
#   and a certificate that names receiver.test only (B); an expired certificate (C); VictoriaMetrics 1.79.5
#   with -tls (V). What must arrive arrives (read back over TLS); a wrong CA, an expired certificate, a wrong
#   server name and a missing client certificate are refused by slurmpush itself, with a clear log line, counted
#   (slurmpush_sender_transport_errors_total{kind="tls"}), and nothing of theirs is stored.
# Its own receivers on free ports and private data dirs, stopped at the end.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/../../fixtures/lab-22.05
mapfile -t FIXARGS < <(bash "$HERE/../fixture_args.sh" "$BIN" "$FIX" defaults)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/slurmpush-tls.XXXXXX")
C=tls$(date +%s)$$
source "$HERE/harness.sh"
trap finish EXIT
command -v prometheus >/dev/null && command -v victoria-metrics >/dev/null || bash "$HERE/../lab/metrics-up.sh" >/dev/null 2>&1

# ---- certificates: a CA, another CA; receivers' certificates (one for receiver.test only, one expired); a client's
cd "$WORK"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
for ca in ca otherca; do openssl req -x509 $ec -days 2 -subj /CN=$ca -keyout $ca.key -out $ca.pem 2>/dev/null; done
issue() { # NAME DAYS EXTENSION
  openssl req $ec -subj /CN=$1 -keyout $1.key -out $1.csr 2>/dev/null
  echo "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $2 -extfile $1.ext -out $1.pem 2>/dev/null
}
issue a 2 "subjectAltName=IP:127.0.0.1"
issue b 2 "subjectAltName=DNS:receiver.test"
issue c -1 "subjectAltName=IP:127.0.0.1"
issue v 2 "subjectAltName=IP:127.0.0.1"
issue client 2 "extendedKeyUsage=clientAuth"
echo "push-pw" > push.password
echo "wrong-pw" > wrong.password
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("push-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))')
printf 'tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\nbasic_auth_users:\n  push: %s\n' "$hash" > a.yml
printf 'tls_server_config:\n  cert_file: b.pem\n  key_file: b.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n' > b.yml
printf 'tls_server_config:\n  cert_file: c.pem\n  key_file: c.key\n' > c.yml
printf 'global:\n  scrape_interval: 1m\n' > prometheus.yml
cd - >/dev/null

# ---- the receivers
declare -A PORT
for r in a b c; do
  PORT[$r]=$(free_port)
  mkdir -p "$WORK/prom-$r"
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-$r" --web.listen-address=127.0.0.1:${PORT[$r]} \
    --web.config.file="$WORK/$r.yml" --web.enable-remote-write-receiver > "$WORK/prom-$r.log" 2>&1 &
  PIDS+=($!)
done
PORT[v]=$(free_port)
victoria-metrics -httpListenAddr=127.0.0.1:${PORT[v]} -storageDataPath="$WORK/vm" -tls -tlsCertFile="$WORK/v.pem" \
  -tlsKeyFile="$WORK/v.key" -search.latencyOffset=0s -search.disableCache > "$WORK/vm.log" 2>&1 &
PIDS+=($!)
# the receivers' own API, over TLS: ask_R PATH [CURL OPTIONS]
CA=(--cacert "$WORK/ca.pem")
ask_a() { curl -fsS "${CA[@]}" -u push:push-pw "https://127.0.0.1:${PORT[a]}$1" "${@:2}"; }
ask_b() { curl -fsS "${CA[@]}" --cert "$WORK/client.pem" --key "$WORK/client.key" --resolve "receiver.test:${PORT[b]}:127.0.0.1" \
  "https://receiver.test:${PORT[b]}$1" "${@:2}"; }
ask_v() { curl -fsS "${CA[@]}" "https://127.0.0.1:${PORT[v]}$1" "${@:2}"; }
ask_c() { curl -fsS -k "https://127.0.0.1:${PORT[c]}$1" "${@:2}"; }
ready() { for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
all_ready() { ready ask_a /-/ready && ready ask_b /-/ready && ready ask_c /-/ready && ready ask_v /health; }
check "receivers up over TLS (Prometheus A, B, C; VictoriaMetrics)" all_ready

# one cycle per case, all at once: --once exits 0 only when every request was accepted
push() { # CASE URL OPTIONS...
  local case=$1 url=$2; shift 2
  "$BIN" --once --label cluster=$C-$case --remote-write.url="$url" --remote-write.timeout=2 "${FIXARGS[@]}" \
    --slurm.squeue-cli="cat $FIX/squeue.txt" --slurm.sinfo-cli="cat $FIX/sinfo.txt" "$@" 2> "$WORK/push-$case.log"
  echo $? > "$WORK/push-$case.rc"
}
TLS_CA=--remote-write.tls.ca-file="$WORK/ca.pem"
CLIENT=(--remote-write.tls.cert-file="$WORK/client.pem" --remote-write.tls.key-file="$WORK/client.key")
AUTH=(--remote-write.basic-auth.username=push --remote-write.basic-auth.password-file="$WORK/push.password")
A=https://127.0.0.1:${PORT[a]}/api/v1/write B=https://127.0.0.1:${PORT[b]}/api/v1/write
push a-ok "$A" "$TLS_CA" "${AUTH[@]}" &
push a-wrong-password "$A" "$TLS_CA" --remote-write.basic-auth.username=push --remote-write.basic-auth.password-file="$WORK/wrong.password" &
push a-wrong-ca "$A" --remote-write.tls.ca-file="$WORK/otherca.pem" "${AUTH[@]}" &
push b-ok "$B" "$TLS_CA" "${CLIENT[@]}" --remote-write.tls.server-name=receiver.test &
push b-wrong-name "$B" "$TLS_CA" "${CLIENT[@]}" &
push b-no-client-cert "$B" "$TLS_CA" --remote-write.tls.server-name=receiver.test &
push c-expired "https://127.0.0.1:${PORT[c]}/api/v1/write" "$TLS_CA" &
push v-ok "https://127.0.0.1:${PORT[v]}/api/v1/write" "$TLS_CA" &
wait_pushes() { for _ in $(seq 600); do [ "$(ls "$WORK"/push-*.rc 2>/dev/null | wc -l)" = 8 ] && return; sleep 0.1; done; }
wait_pushes
rc() { cat "$WORK/push-$1.rc"; }
stored() { # ASK CASE: the case's slurm_cpus_total as the receiver holds it (10, the fixture's), or none
  "$1" /api/v1/query --data-urlencode "query=slurm_cpus_total{cluster=\"$C-$2\"}" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
ask_v /internal/force_flush >/dev/null

check "TLS + basic auth to Prometheus: pushed (exit $(rc a-ok)), stored ($(stored ask_a a-ok))" \
  test "$(rc a-ok)" = 0 -a "$(stored ask_a a-ok)" = 10
check "a wrong password: 401 logged, exit $(rc a-wrong-password), nothing stored" \
  bash -c "test $(rc a-wrong-password) = 1 && grep -q 'status=401' '$WORK/push-a-wrong-password.log' && test '$(stored ask_a a-wrong-password)' = none"
check "client certificates and a server name to Prometheus: pushed (exit $(rc b-ok)), stored ($(stored ask_b b-ok))" \
  test "$(rc b-ok)" = 0 -a "$(stored ask_b b-ok)" = 10
check "TLS to VictoriaMetrics: pushed (exit $(rc v-ok)), stored ($(stored ask_v v-ok))" \
  test "$(rc v-ok)" = 0 -a "$(stored ask_v v-ok)" = 10
refused() { # CASE REASON ASK: exit 1, the TLS log line with libcurl's reason, nothing stored
  test "$(rc $1)" = 1 && grep -q 'msg="TLS failed: nothing sent' "$WORK/push-$1.log" &&
    grep -qi -- "$2" "$WORK/push-$1.log" && test "$(stored $3 $1)" = none
}
check "a CA that did not sign the receiver's certificate: refused, logged, nothing stored" refused a-wrong-ca "certificate" ask_a
check "a certificate for another name: refused, logged, nothing stored" refused b-wrong-name "certificate\|name" ask_b
check "no client certificate where one is required: refused, logged, nothing stored" refused b-no-client-cert "ssl\|tls\|alert" ask_b
check "an expired certificate: refused, logged ('expired'), nothing stored" refused c-expired "expired" ask_c
grep -h 'TLS failed' "$WORK"/push-*.log | head -4 | sed 's/^/# /'

# counted: a daemon against the expired certificate; its /metrics shows the TLS failures and no success
MP=$(free_port)
"$BIN" --label cluster=$C-count --slurm.poll-limit=1 --web.listen-address=127.0.0.1:$MP "${FIXARGS[@]}" \
  --slurm.squeue-cli="cat $FIX/squeue.txt" --slurm.sinfo-cli="cat $FIX/sinfo.txt" \
  --remote-write.url="https://127.0.0.1:${PORT[c]}/api/v1/write" "$TLS_CA" 2> "$WORK/count.log" &
PIDS+=($!)
tls_errors=0
for _ in $(seq 100); do
  tls_errors=$(curl -fs "http://127.0.0.1:$MP/metrics" | awk '/^slurmpush_sender_transport_errors_total\{.*kind="tls"/ { print $2 }')
  [ "${tls_errors:-0}" -ge 2 ] 2>/dev/null && break; sleep 0.1
done
ok_requests=$(curl -fs "http://127.0.0.1:$MP/metrics" | awk '/^slurmpush_sender_requests_total\{.*result="ok"/ { print $2 }')
check "TLS failures counted: slurmpush_sender_transport_errors_total{kind=\"tls\"} ${tls_errors:-0}, requests ok ${ok_requests:-?}" \
  test "${tls_errors:-0}" -ge 2 -a "${ok_requests:-1}" = 0
