"""harness.py — what the Python tests of the binary share: one 'ok   - …' / 'FAIL - …' line per check and the
closing 'N passed, N failed', a free loopback port, and the arguments that point the collectors on by default at
a fixture set (tests/fixture_args.sh), never at the machine's Slurm."""
import os
import socket
import subprocess

results = []


def check(name, ok, detail=""):
    ok = bool(ok)
    results.append(ok)
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok else f" ({detail})"), flush=True)


def summary():
    """Prints the closing line; the exit code for the test (0: every check passed)."""
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixture_args(binary, lab):
    out = subprocess.run(["bash", os.path.join(os.path.dirname(__file__), "fixture_args.sh"), binary, lab, "defaults"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [a for a in out if a]
