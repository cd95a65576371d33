#!/usr/bin/env python3
"""check_counts.py — an independent count of every slurmpush family from raw CLI output.

Reads the squeue and sinfo output (slurmpush's own column formats) with plain Python, works out
what every jobs and nodes family must hold, and compares that with metrics slurmpush produced:
either its text output (--metrics FILE, '-' for stdin) or a Prometheus/VictoriaMetrics query API
(--prometheus URL --match SELECTOR). Exits 1 on any difference, printing each one.
Shares no code with the agent: it is the second opinion the tests need.
"""
import argparse
import json
import math
import re
import sys
import urllib.parse
import urllib.request
from collections import defaultdict

SI = {"": 1e6, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
BIN = {"": 2**20, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}


def memory(text):
    if text in ("", "N/A", "0"):
        return 0.0, 0.0
    m = re.fullmatch(r"([0-9.]+)([KMGTP]?)", text)
    if not m:
        raise ValueError(f"bad memory {text!r}")
    v = float(m.group(1))
    return v * SI[m.group(2)], v * BIN[m.group(2)]


def num(text):
    return 0.0 if text in ("N/A", "") else float(text)


def expected_jobs(lines):
    exp = defaultdict(lambda: defaultdict(float))
    for line in lines:
        if not line.strip():
            continue
        jobid, user, account, partition, state, cpus, minmem, tres, reason = line.split("|", 8)
        cpus = float(cpus)
        si, _ = memory(minmem)
        tm = re.search(r"(?:^|,)mem=([^,]*)", tres)
        job_bytes = memory(tm.group(1))[1] if tm else 0.0
        us = (("state", state), ("username", user))
        ac = (("account", account), ("state", state))
        pa = (("partition", partition), ("state", state))
        exp["slurm_user_state_total"][us] += 1
        exp["slurm_user_cpu_alloc"][us] += cpus
        exp["slurm_user_mem_alloc"][us] += si
        exp["slurm_user_mem_alloc_bytes"][us] += job_bytes
        exp["slurm_account_job_state_total"][ac] += 1
        exp["slurm_account_job_state_cpu_alloc"][ac] += cpus
        exp["slurm_account_job_state_mem_alloc"][ac] += si
        exp["slurm_account_job_state_mem_alloc_bytes"][ac] += job_bytes
        exp["slurm_partition_job_state_total"][pa] += 1
        exp["slurm_partition_job_state_cpu_alloc"][pa] += cpus
        exp["slurm_partition_job_state_mem_alloc_bytes"][pa] += job_bytes
        f = (("feature", ""),)
        exp["slurm_feature_total"][f] += 1
        exp["slurm_feature_cpu_alloc"][f] += cpus
        exp["slurm_feature_mem_alloc"][f] += si
        exp["slurm_feature_mem_alloc_bytes"][f] += job_bytes
        if state == "PENDING":
            r = "(ReqNodeNotAvail, UnavailableNodes)" if "ReqNodeNotAvail, UnavailableNodes" in reason else reason
            exp["slurm_pending_reason_total"][(("reason", r),)] += 1
    positive = ["slurm_user_state_total", "slurm_user_cpu_alloc", "slurm_user_mem_alloc", "slurm_user_mem_alloc_bytes",
                "slurm_account_job_state_total", "slurm_account_job_state_cpu_alloc", "slurm_account_job_state_mem_alloc",
                "slurm_account_job_state_mem_alloc_bytes", "slurm_feature_cpu_alloc", "slurm_feature_mem_alloc",
                "slurm_feature_mem_alloc_bytes"]
    return drop_nonpositive(exp, positive)


def expected_nodes(lines):
    nodes = {}
    for line in lines:
        if not line.strip():
            continue
        name, part, state, cpustate, load, mem, free, alloc, weight = line.split("|")
        a, i, o, t = (float(x) for x in cpustate.split("/"))
        part = part.rstrip("*")
        n = nodes.get(name)
        if n is None:
            nodes[name] = n = dict(state=state, alloc=a, idle=i, total=t, load=num(load), real=float(mem),
                                   free=num(free), amem=num(alloc), weight=float(weight), parts=[])
        elif state != n["state"]:
            n["state"] += "&" + state
        if part not in n["parts"]:
            n["parts"].append(part)
    exp = defaultdict(lambda: defaultdict(float))
    scalar = ()
    for fam in ("slurm_cpus_total", "slurm_cpus_idle", "slurm_cpus_alloc", "slurm_cpu_load", "slurm_mem_real", "slurm_mem_free",
                "slurm_mem_alloc", "slurm_mem_real_bytes", "slurm_mem_free_bytes", "slurm_mem_alloc_bytes"):
        exp[fam][scalar] += 0
    for n in nodes.values():
        for p in n["parts"]:
            pk, ps = (("partition", p),), (("partition", p), ("state", n["state"]))
            exp["slurm_partition_total_cpus"][pk] += n["total"]
            exp["slurm_partition_real_mem"][pk] += n["real"] * 1e6
            exp["slurm_partition_free_mem"][pk] += n["free"] * 1e6
            exp["slurm_partition_alloc_mem"][ps] += n["amem"] * 1e6
            exp["slurm_partition_alloc_cpus"][ps] += n["alloc"]
            exp["slurm_partition_node_count"][ps] += 1
            exp["slurm_partition_idle_cpus"][pk] += n["idle"]
            exp["slurm_partition_weight"][pk] += n["weight"]
            exp["slurm_partition_cpu_load"][pk] += n["load"]
            exp["slurm_partition_real_mem_bytes"][pk] += n["real"] * 2**20
            exp["slurm_partition_free_mem_bytes"][pk] += n["free"] * 2**20
            exp["slurm_partition_alloc_mem_bytes"][pk] += n["amem"] * 2**20
        exp["slurm_cpus_total"][scalar] += n["total"]
        exp["slurm_cpus_idle"][scalar] += n["idle"]
        exp["slurm_cpus_alloc"][scalar] += n["alloc"]
        exp["slurm_cpu_load"][scalar] += n["load"]
        exp["slurm_cpus_per_state"][(("state", n["state"]),)] += n["total"]
        exp["slurm_node_count_per_state"][(("state", n["state"]),)] += 1
        exp["slurm_mem_real"][scalar] += n["real"] * 1e6
        exp["slurm_mem_free"][scalar] += n["free"] * 1e6
        exp["slurm_mem_alloc"][scalar] += n["amem"] * 1e6
        exp["slurm_mem_real_bytes"][scalar] += n["real"] * 2**20
        exp["slurm_mem_free_bytes"][scalar] += n["free"] * 2**20
        exp["slurm_mem_alloc_bytes"][scalar] += n["amem"] * 2**20
    positive = ["slurm_partition_total_cpus", "slurm_partition_real_mem", "slurm_partition_free_mem", "slurm_partition_alloc_mem",
                "slurm_partition_alloc_cpus", "slurm_partition_node_count", "slurm_partition_idle_cpus",
                "slurm_partition_weight", "slurm_partition_cpu_load"]
    return drop_nonpositive(exp, positive)


def drop_nonpositive(exp, families):
    for fam in families:
        exp[fam] = {k: v for k, v in exp[fam].items() if v > 0}
    return exp


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \S+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_text(text, ignore):
    got = defaultdict(dict)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError(f"unparsable metrics line {line!r}")
        labels = tuple(sorted((k, v) for k, v in LABEL.findall(m.group(2) or "") if k not in ignore))
        got[m.group(1)][labels] = float(m.group(3))
    return got


def query_api(base, match, ignore):
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": match})
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)
    got = defaultdict(dict)
    for item in data["data"]["result"]:
        metric = dict(item["metric"])
        name = metric.pop("__name__")
        labels = tuple(sorted((k, v) for k, v in metric.items() if k not in ignore))
        got[name][labels] = float(item["value"][1])
    return got


def without_empty(series):
    """An empty label value is an absent label (remote-write drops it; text keeps it)."""
    return {tuple(kv for kv in key if kv[1] != ""): v for key, v in series.items()}


def compare(exp, got, families):
    problems = []
    for fam in families:
        e, g = without_empty(exp.get(fam, {})), without_empty(got.get(fam, {}))
        for key in sorted(set(e) | set(g)):
            ev, gv = e.get(key), g.get(key)
            if ev is None or gv is None or not math.isclose(ev, gv, rel_tol=1e-9, abs_tol=1e-9):
                problems.append(f"{fam}{dict(key)}: expected {ev}, got {gv}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--squeue", help="squeue output file")
    ap.add_argument("--sinfo", help="sinfo output file")
    ap.add_argument("--metrics", help="slurmpush text output ('-' = stdin)")
    ap.add_argument("--prometheus", help="query API base URL")
    ap.add_argument("--match", default='{__name__=~"slurm_.+"}')
    ap.add_argument("--ignore-label", action="append", default=["cluster", "job", "instance"])
    a = ap.parse_args()
    exp = {}
    if a.squeue:
        exp.update(expected_jobs(open(a.squeue).read().splitlines()))
    if a.sinfo:
        exp.update(expected_nodes(open(a.sinfo).read().splitlines()))
    ignore = set(a.ignore_label)
    if a.metrics:
        got = parse_text(sys.stdin.read() if a.metrics == "-" else open(a.metrics).read(), ignore)
    else:
        got = query_api(a.prometheus, a.match, ignore)
    problems = compare(exp, got, sorted(exp))
    for p in problems:
        print("MISMATCH", p)
    nseries = sum(len(v) for v in exp.values())
    print(f"check_counts: {len(exp)} families, {nseries} series compared, {len(problems)} mismatches")
    return 1 if problems or not nseries else 0


if __name__ == "__main__":
    sys.exit(main())
