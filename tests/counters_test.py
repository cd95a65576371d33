#!/usr/bin/env python3
"""counters_test.py SLURMPUSH FIXTURES — sdiag's counters made monotonic, over a scripted sequence.

slurmpush runs as a daemon (1 s cycles) whose diags collector reads a file the test rewrites between
cycles: real Slurm 22.05 sdiag text with "Jobs submitted", "Jobs failed" and both "Total cycles" set
per step. The sequence has rises, a reset (slurmctld restarted: the values drop), a failed run in the
middle (garbage: no edge; the next success is compared with the last success) and a restart of
slurmpush with --state-dir (nothing counted twice, nothing lost), then a restart without the saved
state (counters start again from sdiag's value, as a fresh process's do). After every step the
counters read from /metrics equal the totals this test computes on its own.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sdiag_text(template, submitted, failed, main_cycles, bf_cycles):
    text = re.sub(r"^Jobs submitted:\s*\d+", f"Jobs submitted: {submitted}", template, flags=re.M)
    text = re.sub(r"^Jobs failed:\s*\d+", f"Jobs failed:    {failed}", text, flags=re.M)
    main, sep, rest = text.partition("Backfilling stats")
    main = re.sub(r"^(\s*Total cycles:)\s*\d+", rf"\g<1> {main_cycles}", main, flags=re.M)
    rest = re.sub(r"^(\s*Total cycles:)\s*\d+", rf"\g<1> {bf_cycles}", rest, count=1, flags=re.M)
    return main + sep + rest


class Agent:
    def __init__(self, binary, sdiag, state_dir):
        self.port = free_port()
        args = [binary, "--collector.jobs=false", "--collector.nodes=false", "--collector.node-detail=false",
                "--collector.gres=false", "--collector.info=false", "--collector.controller=false",
                "--collector.diags", f"--collector.diags.command=cat {sdiag}", "--slurm.poll-limit=1",
                f"--web.listen-address=127.0.0.1:{self.port}"]
        if state_dir:
            args.append(f"--state-dir={state_dir}")
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=15)
        return err


def counters(text):
    got = {}
    for m in re.finditer(r'^slurm_scheduler_jobs_total\{event="(\w+)"\} (\S+)$', text, re.M):
        got[m.group(1)] = float(m.group(2))
    for name in ("slurm_scheduler_cycles_total", "slurm_scheduler_backfill_cycles_total"):
        m = re.search(rf"^{name} (\S+)$", text, re.M)
        got[name] = float(m.group(1)) if m else None
    m = re.search(r'^slurm_diag_scrape_error (\S+)$', text, re.M)
    got["errors"] = float(m.group(1)) if m else None
    return got


def main():
    binary, fixtures = sys.argv[1], sys.argv[2]
    template = open(os.path.join(fixtures, "lab-22.05", "sdiag.txt"), encoding="utf-8").read()
    work = tempfile.mkdtemp(prefix="slurmpush-counters.")
    sdiag, state = os.path.join(work, "sdiag.txt"), os.path.join(work, "state")
    fails = 0

    def write(text):
        with open(sdiag + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(sdiag + ".tmp", sdiag)

    def step(agent, what, raw, want):
        nonlocal fails
        write(sdiag_text(template, *raw) if raw else "garbage, not sdiag\n")
        deadline, got = time.monotonic() + 10, {}
        while time.monotonic() < deadline:  # until a cycle has read this step's file
            try:
                got = counters(agent.metrics())
            except OSError:
                got = {}
            if want is None:  # a failed run publishes nothing of the collector; its error counter rises
                ok = "submitted" not in got and got.get("slurm_scheduler_cycles_total") is None and \
                    (got.get("errors") or 0) >= 1
            else:
                ok = got.get("submitted") == want[0] and got.get("failed") == want[1] and \
                    got.get("slurm_scheduler_cycles_total") == want[2] and \
                    got.get("slurm_scheduler_backfill_cycles_total") == want[3]
            if ok:
                break
            time.sleep(0.2)
        print(("ok   - " if ok else "FAIL - ") + f"{what}: sdiag {raw} -> counters {want}" +
              ("" if ok else f" (got {got})"))
        fails += not ok
        time.sleep(1.5)  # another cycle on the same input: no change
        if ok and want and counters(agent.metrics()).get("submitted") != want[0]:
            print(f"FAIL - {what}: a second read of the same input changed the counters")
            fails += 1

    a = Agent(binary, sdiag, state)
    write(sdiag_text(template, 10, 1, 100, 50))
    step(a, "first read: sdiag's own values", (10, 1, 100, 50), (10, 1, 100, 50))
    step(a, "a rise", (15, 3, 130, 55), (15, 3, 130, 55))
    step(a, "a reset (slurmctld restarted): the new values are added", (4, 0, 7, 2), (19, 3, 137, 57))
    step(a, "a failed run: no series from it, no edge", None, None)
    step(a, "after the failure, compared with the last success", (6, 2, 9, 3), (21, 5, 139, 58))
    a.stop()
    write(sdiag_text(template, 8, 2, 12, 3))
    b = Agent(binary, sdiag, state)  # restarted with its state: goes on from where it was
    step(b, "restart with --state-dir: nothing lost, nothing twice", (8, 2, 12, 3), (23, 5, 142, 58))
    b.stop()
    saved = os.path.join(state, "diags.state.json")
    if not os.path.exists(saved):
        print("FAIL - the state file diags.state.json exists")
        fails += 1
    with open(saved, "w") as f:
        f.write("{ not json")
    c = Agent(binary, sdiag, state)  # a damaged state file: a clear log line, counters from sdiag's value
    step(c, "a damaged state file: starts again from sdiag's values", (9, 2, 13, 3), (9, 2, 13, 3))
    err = c.stop()
    if "saved state not readable" not in err:
        print("FAIL - a damaged state file is logged")
        fails += 1
    d = Agent(binary, sdiag, None)  # no state dir: a fresh process's counters
    step(d, "restart without --state-dir: starts from sdiag's values", (9, 2, 13, 3), (9, 2, 13, 3))
    d.stop()
    print(f"counters: {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
