#!/usr/bin/env python3
"""edges_check.py STATE_DIR NODES_RUNS JOBS_RUNS — the counters slurmpush made from a live sequence, against
an independent replay of the very snapshots it read.

NODES_RUNS and JOBS_RUNS hold every complete run of `scontrol show nodes -o` and of the jobs collector's
squeue (tests/integration/tee-runs.sh: NNNNNN.txt and NNNNNN.done, the moment it was complete). This
script applies the rules of the README on its own (no code shared with slurmpush): the first snapshot is the
baseline, then base-state changes, flags that appear, unavailable periods observed once per partition when
they end, jobs that start and finish. It compares the result with what slurmpush saved in STATE_DIR after
its last successful run (node-detail.state.json, jobs.state.json): every counter row, every bucket, every
sum (durations of nodes within 1 s: the moment a run was complete is read by both sides separately).
"""
import glob
import json
import os
import re
import sys
import time

from check_counts import squeue_fields

BOUNDS_NODES = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]
BOUNDS_JOBS = [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
            "DEADLINE"}
STARTED = {"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}


def runs(directory):
    """[(moment, lines)] of the complete runs, in order."""
    out = []
    for done in sorted(glob.glob(os.path.join(directory, "*.done"))):
        with open(done) as f:
            moment = float(f.read())
        with open(done[:-5] + ".txt", encoding="utf-8", errors="replace") as f:
            out.append((moment, f.read().splitlines()))
    return out


def stamp(text):
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0.0


class Histogram:
    def __init__(self, bounds):
        self.bounds, self.rows = bounds, {}

    def observe(self, key, x):
        row = self.rows.setdefault(key, {"buckets": [0] * (len(self.bounds) + 1), "sum": 0.0, "count": 0})
        b = next((i for i, bound in enumerate(self.bounds) if x <= bound), len(self.bounds))
        row["buckets"][b] += 1
        row["sum"] += x
        row["count"] += 1


def replay_nodes(snapshots):
    transitions, flags_set, hist = {}, {}, Histogram(BOUNDS_NODES)
    last = None
    for now, lines in snapshots:
        nodes = {}
        for line in lines:
            if not line.startswith("NodeName="):
                continue
            words, _, reason = line.partition(" Reason=")
            w = dict(re.findall(r"(?:^| )(\w+)=(\S*)", words))
            base, *flags = w["State"].lower().split("+")
            m = re.search(r"@(\S+)\]$", reason)
            nodes[w["NodeName"]] = {"state": base, "flags": set(flags),
                                    "partitions": [p for p in w.get("Partitions", "").split(",") if p],
                                    "reason_time": stamp(m.group(1)) if m else 0.0, "since": 0.0}
        for name, n in nodes.items():
            was = last.get(name) if last is not None else None
            down = n["state"] in ("down", "fail") or bool(n["flags"] & {"drain", "fail", "not_responding"})
            if was:
                if was["state"] != n["state"]:
                    key = (was["state"], n["state"])
                    transitions[key] = transitions.get(key, 0) + 1
                for f in n["flags"] - was["flags"]:
                    flags_set[(f,)] = flags_set.get((f,), 0) + 1
                if was["since"] and not down:
                    for p in was["partitions"] or [""]:
                        hist.observe((p,), now - was["since"])
            if down:
                n["since"] = was["since"] if was and was["since"] else now
                if n["reason_time"] and n["reason_time"] < n["since"]:
                    n["since"] = n["reason_time"]
        last = nodes
    return transitions, flags_set, hist


def replay_jobs(snapshots):
    started, finished = {}, {}
    wait, run = Histogram(BOUNDS_JOBS), Histogram(BOUNDS_JOBS)
    last = None
    for _, lines in snapshots:
        jobs = {}
        for line in lines:
            if not line.strip():
                continue
            cells = line.split("|")
            jobid, _, account, partition, state = squeue_fields(line)[:5]
            submit, start, end = (stamp(c) for c in cells[8:11])
            cls = "finished" if state in FINISHED else "started" if state in STARTED else "pending"
            jobs[jobid] = cls
            if last is None:
                continue
            was = last.get(jobid)
            if was == "finished" or cls == "pending" or was == cls:
                continue
            ran = cls == "started" or (start > 0 and (state != "CANCELLED" or end > start))
            if ran and was in (None, "pending"):
                started[(partition, account)] = started.get((partition, account), 0) + 1
                if submit > 0 and start >= submit:
                    wait.observe((partition,), start - submit)
            if cls == "finished":
                finished[(partition, account, state)] = finished.get((partition, account, state), 0) + 1
                if ran and start > 0 and end >= start:
                    run.observe((partition, state), end - start)
        last = jobs
    return started, finished, wait, run


def saved_counter(doc):
    return {tuple(r["labels"]): r["value"] for r in doc["rows"]}


def compare_counter(name, want, doc, problems):
    got = saved_counter(doc)
    for key in sorted(set(want) | set(got)):
        if want.get(key, 0) != got.get(key, 0):
            problems.append(f"{name}{list(key)}: replay {want.get(key, 0)}, slurmpush {got.get(key, 0)}")


def compare_histogram(name, want, doc, tolerance, problems):
    got = {tuple(r["labels"]): r for r in doc["rows"]}
    for key in sorted(set(want.rows) | set(got)):
        w, g = want.rows.get(key), got.get(key)
        if not w or not g:
            problems.append(f"{name}{list(key)}: replay {w}, slurmpush {g}")
            continue
        if [int(b) for b in g["buckets"]] != w["buckets"] or g["value"] != w["count"]:
            problems.append(f"{name}{list(key)}: buckets replay {w['buckets']}, slurmpush {g['buckets']}")
        if abs(g["sum"] - w["sum"]) > tolerance * w["count"]:
            problems.append(f"{name}{list(key)}: sum replay {w['sum']:.3f}, slurmpush {g['sum']:.3f}")


def main():
    state_dir, nodes_dir, jobs_dir = sys.argv[1:4]
    node_runs, job_runs = runs(nodes_dir), runs(jobs_dir)
    nodes_doc = json.load(open(os.path.join(state_dir, "node-detail.state.json")))
    jobs_doc = json.load(open(os.path.join(state_dir, "jobs.state.json")))
    problems = []
    transitions, flags_set, unavailable = replay_nodes(node_runs)
    compare_counter("slurm_node_state_transitions_total", transitions, nodes_doc["transitions"], problems)
    compare_counter("slurm_node_flag_set_total", flags_set, nodes_doc["flags_set"], problems)
    compare_histogram("slurm_node_unavailable_seconds", unavailable, nodes_doc["unavailable"], 1.0, problems)
    started, finished, wait, run = replay_jobs(job_runs)
    compare_counter("slurm_jobs_started_total", started, jobs_doc["started"], problems)
    compare_counter("slurm_jobs_finished_total", finished, jobs_doc["finished"], problems)
    compare_histogram("slurm_job_queue_wait_seconds", wait, jobs_doc["wait"], 0, problems)
    compare_histogram("slurm_job_run_seconds", run, jobs_doc["run"], 0, problems)
    for p in problems:
        print("MISMATCH", p)
    print(f"edges: {len(node_runs)} node snapshots, {len(job_runs)} job snapshots; {sum(transitions.values())} "
          f"transitions, {sum(flags_set.values())} flags set, {sum(r['count'] for r in unavailable.rows.values())} "
          f"unavailable periods, {sum(started.values())} jobs started, {sum(finished.values())} finished; "
          f"{len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
