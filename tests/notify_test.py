#!/usr/bin/env python3
"""notify_test.py SLURMPUSH FIXTURE_DIR — the Type=notify protocol as systemd speaks it: slurmpush
sends READY=1 once it runs, WATCHDOG=1 from its loop at half WATCHDOG_USEC while it runs (also
between cycles longer than that), and STOPPING=1 on SIGTERM. A datagram socket stands in for systemd."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

def main():
    binary, fixtures = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    args = subprocess.run(["bash", os.path.join(here, "fixture_args.sh"), binary, fixtures, "defaults"],
                          check=True, capture_output=True, text=True).stdout.splitlines()
    path = os.path.join(tempfile.mkdtemp(prefix="slurmpush-notify."), "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")  # a ping every 0.2 s
    # a 5 s cycle: the pings must come from the wait between cycles too
    proc = subprocess.Popen([binary, *args, "--web.listen-address=", "--slurm.poll-limit=5"], env=env,
                            stderr=subprocess.DEVNULL)
    got, t0 = [], time.monotonic()
    def read_for(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                got.append((time.monotonic() - t0, sock.recv(4096).decode()))
            except socket.timeout:
                pass
    read_for(2.0)
    proc.send_signal(signal.SIGTERM)
    read_for(1.0)
    rc = proc.wait(timeout=10)
    msgs = [m for _, m in got]
    pings = msgs.count("WATCHDOG=1")
    checks = [
        ("READY=1 is the first message", bool(msgs) and msgs[0] == "READY=1"),
        (f"WATCHDOG=1 every 0.2 s within a 5 s cycle ({pings} in 2 s)", pings >= 6),
        ("STOPPING=1 after SIGTERM", "STOPPING=1" in msgs),
        ("exit 0", rc == 0),
    ]
    fails = 0
    for what, ok in checks:
        print(("ok   - " if ok else "FAIL - ") + what)
        fails += not ok
    os.unlink(path)
    return 1 if fails else 0

if __name__ == "__main__":
    sys.exit(main())
