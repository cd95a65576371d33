# harness.sh — sourced by the integration scripts (bash): one "ok   - …" / "FAIL - …" line per check, a
# bounded wait on a condition (never a guessed sleep), a free loopback port, and the processes a script
# started (PIDS), ended by PID with the closing "N passed, N failed" (finish; a script with more to undo
# calls it from its own trap). KEEP=1 keeps WORK for a look afterwards.
fails=0 passes=0 PIDS=()
ok() { passes=$((passes + 1)); echo "ok   - $*"; }
bad() { fails=$((fails + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
wait_for() { local end=$(($(date +%s) + $1)); shift; until "$@"; do [ "$(date +%s)" -ge $end ] && return 1; sleep 0.2; done; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
finish() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
  echo "$passes passed, $fails failed"; [ $fails = 0 ]; exit $?
}
