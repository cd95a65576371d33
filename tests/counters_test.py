#!/usr/bin/env python3
"""counters_test.py SLURMPUSH FIXTURES [PROMETHEUS_URL [PUSHGATEWAY_URL]] — counters made from Slurm's
snapshots, over scripted sequences. With a Prometheus (its remote-write receiver on), every agent also pushes
there, and after every step the same counters and buckets are read back from it too (instant queries), not
only from /metrics. With a Pushgateway, a node sequence is pushed there and its exposition must keep the types:
`# TYPE … counter` and `# TYPE … histogram` with every bucket.

Part 1, sdiag's counters made monotonic.

slurmpush runs as a daemon (1 s cycles) whose diags collector reads a file the test rewrites between
cycles: real Slurm 22.05 sdiag text with "Jobs submitted", "Jobs failed" and both "Total cycles" set
per step. The sequence has rises, a reset (slurmctld restarted: the values drop), a failed run in the
middle (garbage: no edge; the next success is compared with the last success) and a restart of
slurmpush with --state-dir (nothing counted twice, nothing lost), then a restart without the saved
state (counters start again from sdiag's value, as a fresh process's do). After every step the
counters read from /metrics equal the totals this test computes on its own.

Part 2, node edges: `scontrol show nodes -o` lines rewritten per step (idle -> down -> idle, a drain set
and cleared, a node not responding, a failed run, a restart with --state-dir): state transitions, flags
set, the unavailable-seconds histogram (every bucket) and the unavailable-since gauge equal what this
test expects from the sequence.

Part 3, job edges: squeue lines rewritten per step (pending -> running -> completed, a job that ran wholly
between two runs, one cancelled before it started, a job that left squeue, a failed run, a restart with
--state-dir): jobs started and finished, and every bucket, sum and count of the wait and run histograms,
equal what this test expects.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json
import urllib.parse
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


RECEIVER = None  # a Prometheus base URL, or None
SOURCES = ["metrics"]  # where each step reads the counters back
RUN = f"counters{os.getpid()}{int(time.time())}"  # this run's cluster label in the receiver


def without_cluster(text):
    """The exposition without the cluster label the agents carry (for the receiver's sake)."""
    text = re.sub(r'cluster="[^"]*",?', "", text)
    return re.sub(r"\{\}", "", re.sub(r",\}", "}", text))


class Agent:
    def __init__(self, binary, sdiag, state_dir, collector="diags"):
        self.port = free_port()
        args = [binary, "--collector.jobs=false", "--collector.nodes=false", "--collector.node-detail=false",
                "--collector.gres=false", "--collector.info=false", "--collector.controller=false",
                f"--collector.{collector}", f"--collector.{collector}.command=cat {sdiag}", "--slurm.poll-limit=1",
                f"--web.listen-address=127.0.0.1:{self.port}"]
        if state_dir:
            args.append(f"--state-dir={state_dir}")
        if RECEIVER:
            args += ["--label", f"cluster={RUN}", f"--remote-write.url={RECEIVER}/api/v1/write"]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.source = "metrics"

    def metrics(self):
        if self.source == "receiver":
            return self.receiver_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return without_cluster(r.read().decode())

    @staticmethod
    def receiver_text():
        """What the receiver holds now for this run, written as exposition lines."""
        query = urllib.parse.urlencode({"query": f'{{cluster="{RUN}",__name__=~"slurm_.+"}}'})
        with urllib.request.urlopen(f"{RECEIVER}/api/v1/query?{query}", timeout=5) as r:
            result = json.load(r)["data"]["result"]
        lines = []
        for series in result:
            labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "cluster", "job", "instance")}
            inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines.append(series["metric"]["__name__"] + (f"{{{inner}}}" if inner else "") + " " + series["value"][1])
        return "\n".join(lines) + "\n"

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


def node_line(node, state, partitions, reason=None, when=None):
    line = (f"NodeName={node} Arch=x86_64 CPUAlloc=0 CPUTot=2 CPULoad=0.10 AvailableFeatures=(null) "
            f"ActiveFeatures=(null) State={state} Partitions={partitions}")
    if reason:
        line += f" Reason={reason} [root@{time.strftime('%Y-%m-%dT%H:%M:%S', time.localtime(when))}]"
    return line + "\n"


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of the node-edge families."""
    out = {}
    for m in re.finditer(r"^(slurm_node_(?:state_transitions_total|flag_set_total|unavailable_seconds_\w+|"
                         r"unavailable_since_timestamp_seconds))(?:\{(.*)\})? (\S+)$", text, re.M):
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def node_edges(binary, work):
    """Part 2; returns the number of failures."""
    nodes, state = os.path.join(work, "nodes.txt"), os.path.join(work, "node-state")
    t0, t1 = time.time() - 3 * 86400, time.time() - 5000  # reasons set 3 days and 5000 s ago
    fails = 0
    BOUNDS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]

    def write(text):
        with open(nodes + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(nodes + ".tmp", nodes)

    def hist(observations):
        """observations: {partition: [seconds]} -> the expected series of the histogram"""
        exp = {}
        for part, xs in observations.items():
            for b in BOUNDS + [float("inf")]:
                le = "+Inf" if b == float("inf") else str(b)
                exp[("slurm_node_unavailable_seconds_bucket", frozenset({("partition", part), ("le", le)}))] = \
                    float(sum(1 for x in xs if x <= b))
            exp[("slurm_node_unavailable_seconds_count", frozenset({("partition", part)}))] = float(len(xs))
        return exp

    def step(agent, what, text, transitions, flags, observations, since, cycle_start):
        """since: {node: t or "now"}; "now" means a time at or after cycle_start (this step's run)."""
        nonlocal fails
        write(text)
        want = {("slurm_node_state_transitions_total", frozenset({("from", a), ("to", b)})): float(n)
                for (a, b), n in transitions.items()}
        want.update({("slurm_node_flag_set_total", frozenset({("flag", f)})): float(n) for f, n in flags.items()})
        want.update(hist(observations))
        for agent.source in SOURCES:  # /metrics, then the receiver (when there is one)
            label = what + (" (read back from the receiver)" if agent.source == "receiver" else "")
            deadline, got, problems = time.monotonic() + 10, {}, ["no answer"]
            while time.monotonic() < deadline:
                try:
                    got = parse_metrics(agent.metrics())
                except OSError:
                    time.sleep(0.2)
                    continue
                problems = [f"{k[0]}{dict(k[1])}: want {v}, got {got.get(k)}" for k, v in want.items() if got.get(k) != v]
                problems += [f"{k[0]}{dict(k[1])}: not expected ({v})" for k, v in got.items()
                             if k not in want and (k[0].endswith(("_total", "_bucket", "_count")))]
                for node, t in since.items():
                    g = got.get(("slurm_node_unavailable_since_timestamp_seconds", frozenset({("node", node)})))
                    ok = g is not None and (cycle_start - 1 <= g <= time.time() + 1 if t == "now" else abs(g - int(t)) < 1)
                    if not ok:
                        problems.append(f"since {node}: want {t}, got {g}")
                extra = [dict(k[1])["node"] for k in got if k[0] == "slurm_node_unavailable_since_timestamp_seconds"
                         and dict(k[1])["node"] not in since]
                problems += [f"since {n}: not expected" for n in extra]
                for part, xs in observations.items():  # the sum: the durations, within the cycle's jitter
                    g = got.get(("slurm_node_unavailable_seconds_sum", frozenset({("partition", part)})))
                    if g is None or abs(g - sum(xs)) > 5 * len(xs):
                        problems.append(f"sum {part}: want about {sum(xs):.0f}, got {g}")
                if not problems:
                    break
                time.sleep(0.2)
            print(("ok   - " if not problems else "FAIL - ") + label + ("" if not problems else ": " + "; ".join(problems[:6])))
            fails += bool(problems)
        agent.source = "metrics"

    lines = lambda *ls: "".join(ls)
    a = Agent(binary, nodes, state, "node-detail")
    start = time.time()
    step(a, "baseline: nothing is an edge; c3 unavailable since its reason",
         lines(node_line("c1", "IDLE", "debug"), node_line("c2", "IDLE", "debug"),
               node_line("c3", "DOWN", "debug,long", "dead", t0)),
         {}, {}, {}, {"c3": t0}, start)
    time.sleep(1.5)
    start = time.time()
    step(a, "c1 idle -> down, c2 drained: one transition, one flag",
         lines(node_line("c1", "DOWN", "debug"), node_line("c2", "IDLE+DRAIN", "debug", "disk", t1),
               node_line("c3", "DOWN", "debug,long", "dead", t0)),
         {("idle", "down"): 1}, {"drain": 1}, {}, {"c1": "now", "c2": t1, "c3": t0}, start)
    c1_down = time.time()
    time.sleep(1.5)
    start = time.time()
    step(a, "c1 up, c2 undrained, c3 idle but not responding: observed once each",
         lines(node_line("c1", "IDLE", "debug"), node_line("c2", "IDLE", "debug"),
               node_line("c3", "IDLE+NOT_RESPONDING", "debug,long", "dead", t0)),
         {("idle", "down"): 1, ("down", "idle"): 2}, {"drain": 1, "not_responding": 1},
         {"debug": [start - c1_down, start - t1]}, {"c3": t0}, start)
    observed = {"debug": [start - c1_down, start - t1]}
    time.sleep(1.5)
    write("garbage\n")
    time.sleep(2.5)  # a failed run: no edge (and no series); then a restart, with the state dir
    a.stop()
    b = Agent(binary, nodes, state, "node-detail")
    start = time.time()
    observed = {"debug": observed["debug"] + [start - t0], "long": [start - t0]}
    step(b, "after a failed run and a restart: c3 available again, counted once, nothing lost",
         lines(node_line("c1", "IDLE", "debug"), node_line("c2", "IDLE", "debug"),
               node_line("c3", "IDLE", "debug,long")),
         {("idle", "down"): 1, ("down", "idle"): 2}, {"drain": 1, "not_responding": 1}, observed, {}, start)
    b.stop()
    return fails


JOB_BOUNDS = [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]


def squeue_line(job, state, partition, account, submit=None, start=None, end=None):
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) if t else "N/A"
    no_end = "NONE" if state == "RUNNING" else "N/A"  # what Slurm 22.05 prints for a running job's end
    return (f"{job}|alice|{account}|{partition}|{state}|1|100M|cpu=1,mem=100M,node=1|"
            f"{stamp(submit)}|{stamp(start)}|{stamp(end) if end else no_end}|None\n")


def job_series(text):
    out = {}
    for m in re.finditer(r"^(slurm_jobs_(?:started|finished)_total|slurm_job_(?:queue_wait|run)_seconds_\w+)"
                         r"(?:\{(.*)\})? (\S+)$", text, re.M):
        out[(m.group(1), frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))] = float(m.group(3))
    return out


def expected_jobs(started, finished):
    """started: [(partition, account, wait)], finished: [(partition, account, state, run or None)]"""
    exp = {}

    def add(key, v=1.0):
        exp[key] = exp.get(key, 0.0) + v

    def observe(name, labels, x):
        for b in JOB_BOUNDS + [float("inf")]:
            le = "+Inf" if b == float("inf") else str(b)
            add((f"{name}_bucket", frozenset(labels | {("le", le)})), 1.0 if x <= b else 0.0)
        add((f"{name}_sum", frozenset(labels)), x)
        add((f"{name}_count", frozenset(labels)))

    for p, a, wait in started:
        add(("slurm_jobs_started_total", frozenset({("partition", p), ("account", a)})))
        observe("slurm_job_queue_wait_seconds", {("partition", p)}, wait)
    for p, a, st, run in finished:
        add(("slurm_jobs_finished_total", frozenset({("partition", p), ("account", a), ("state", st)})))
        if run is not None:
            observe("slurm_job_run_seconds", {("partition", p), ("state", st)}, run)
    return exp


def job_edges(binary, work):
    """Part 3; returns the number of failures."""
    squeue, state = os.path.join(work, "squeue.txt"), os.path.join(work, "job-state")
    now = int(time.time())
    s1, s2, t2, s4, t4, e4, s6, e6 = now - 900, now - 7200, now - 3600, now - 600, now - 590, now - 20, now - 400, now - 100
    fails = 0

    def write(text):
        with open(squeue + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(squeue + ".tmp", squeue)

    def step(agent, what, text, started, finished):
        nonlocal fails
        write(text)
        want = expected_jobs(started, finished)
        for agent.source in SOURCES:  # /metrics, then the receiver (when there is one)
            label = what + (" (read back from the receiver)" if agent.source == "receiver" else "")
            deadline, problems = time.monotonic() + 10, ["no answer"]
            while time.monotonic() < deadline:
                try:
                    got = job_series(agent.metrics())
                except OSError:
                    time.sleep(0.2)
                    continue
                problems = [f"{k[0]}{dict(k[1])}: want {v}, got {got.get(k)}" for k, v in want.items() if got.get(k) != v]
                problems += [f"{k[0]}{dict(k[1])}: not expected ({v})" for k, v in got.items() if k not in want]
                if not problems:
                    break
                time.sleep(0.2)
            print(("ok   - " if not problems else "FAIL - ") + label + ("" if not problems else ": " + "; ".join(problems[:5])))
            fails += bool(problems)
        agent.source = "metrics"
        time.sleep(1.5)  # another cycle on the same input changes nothing
        if not problems and job_series(agent.metrics()) != {k: v for k, v in want.items()}:
            print(f"FAIL - {what}: a second read of the same input changed the counters")
            fails += 1

    a = Agent(binary, squeue, state, "jobs")
    step(a, "baseline: nothing is an edge",
         squeue_line(1, "PENDING", "debug", "physics", s1) + squeue_line(2, "RUNNING", "gpu", "chemistry", s2, t2) +
         squeue_line(3, "COMPLETED", "debug", "physics", s2, t2, now - 60), [], [])
    t1 = now - 300
    started = [("debug", "physics", t1 - s1), ("debug", "physics", t4 - s4)]
    finished = [("gpu", "chemistry", "COMPLETED", now - 30 - t2), ("debug", "physics", "COMPLETED", e4 - t4),
                ("debug", "physics", "CANCELLED", None)]
    step(a, "started, finished, one wholly between runs, one cancelled while pending, one gone",
         squeue_line(1, "RUNNING", "debug", "physics", s1, t1) +
         squeue_line(2, "COMPLETED", "gpu", "chemistry", s2, t2, now - 30) +
         squeue_line(4, "COMPLETED", "debug", "physics", s4, t4, e4) + squeue_line(5, "PENDING", "long", "biology", now - 50) +
         squeue_line(6, "CANCELLED", "debug", "physics", s6, e6, e6), started, finished)
    write("garbage\n")
    time.sleep(2.5)  # a failed run: no edge
    a.stop()
    b = Agent(binary, squeue, state, "jobs")
    started.append(("long", "biology", now - 10 - (now - 50)))
    finished.append(("debug", "physics", "COMPLETED", now - 5 - t1))
    step(b, "after a failed run and a restart: nothing twice, nothing lost",
         squeue_line(1, "COMPLETED", "debug", "physics", s1, t1, now - 5) +
         squeue_line(2, "COMPLETED", "gpu", "chemistry", s2, t2, now - 30) +
         squeue_line(4, "COMPLETED", "debug", "physics", s4, t4, e4) +
         squeue_line(5, "RUNNING", "long", "biology", now - 50, now - 10) +
         squeue_line(6, "CANCELLED", "debug", "physics", s6, e6, e6), started, finished)
    b.stop()
    return fails


def pushgateway_types(binary, work, pushgateway):
    """The counter and the histogram reach a Pushgateway as such; returns the number of failures."""
    nodes = os.path.join(work, "pgw-nodes.txt")
    instance = f"{RUN}pgw"
    with open(nodes, "w") as f:
        f.write(node_line("c1", "DOWN", "debug"))
    args = [binary, "--collector.jobs=false", "--collector.nodes=false", "--collector.gres=false", "--collector.info=false",
            "--collector.controller=false", f"--collector.node-detail.command=cat {nodes}", "--slurm.poll-limit=1",
            "--web.listen-address=", f"--pushgateway.url={pushgateway}", f"--pushgateway.instance={instance}",
            "--pushgateway.delete-on-shutdown"]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    with open(nodes + ".tmp", "w") as f:
        f.write(node_line("c1", "IDLE", "debug"))
    os.replace(nodes + ".tmp", nodes)
    text, deadline = "", time.monotonic() + 10
    while time.monotonic() < deadline and f'slurm_node_unavailable_seconds_count{{instance="{instance}"' not in text:
        time.sleep(0.3)
        with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as r:
            text = r.read().decode()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    mine = [l for l in text.splitlines() if f'instance="{instance}"' in l]
    checks = [
        ("the Pushgateway keeps TYPE histogram", "# TYPE slurm_node_unavailable_seconds histogram" in text),
        ("the Pushgateway keeps TYPE counter", "# TYPE slurm_node_state_transitions_total counter" in text),
        ("the Pushgateway has every bucket, +Inf, _sum and _count",
         sum("slurm_node_unavailable_seconds_bucket{" in l for l in mine) == 12 and
         any('le="+Inf"' in l for l in mine) and any("_sum{" in l for l in mine) and any("_count{" in l for l in mine)),
    ]
    fails = 0
    for what, ok in checks:
        print(("ok   - " if ok else "FAIL - ") + what)
        fails += not ok
    return fails


def main():
    global RECEIVER
    binary, fixtures = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        RECEIVER = sys.argv[3].rstrip("/")
        SOURCES.append("receiver")
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
        for agent.source in SOURCES:  # /metrics, then the receiver (when there is one)
            label = what + (" (read back from the receiver)" if agent.source == "receiver" else "")
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
            print(("ok   - " if ok else "FAIL - ") + f"{label}: sdiag {raw} -> counters {want}" +
                  ("" if ok else f" (got {got})"))
            fails += not ok
        agent.source = "metrics"
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
    fails += node_edges(binary, work)
    fails += job_edges(binary, work)
    if len(sys.argv) > 4:
        fails += pushgateway_types(binary, work, sys.argv[4].rstrip("/"))
    print(f"counters: {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
