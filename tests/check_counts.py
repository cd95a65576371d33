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


def expected_licenses(lines):
    exp = defaultdict(lambda: defaultdict(float))
    keys = {"Total": "slurm_lic_total", "Used": "slurm_lic_used", "Free": "slurm_lic_free", "Reserved": "slurm_lic_reserved",
            "LastConsumed": "slurm_lic_last_consumed", "LastDeficit": "slurm_lic_last_deficit"}
    for line in lines:
        words = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "LicenseName" not in words:
            continue
        for k, fam in keys.items():
            exp[fam][(("name", words["LicenseName"]),)] += float(words.get(k, 0))
    return drop_nonpositive(exp, list(keys.values()))


def expected_sdiag(text):
    exp = defaultdict(lambda: defaultdict(float))
    main, _, rest = text.partition("Backfilling stats")
    bf, _, rpcs = rest.partition("Remote Procedure Call statistics by message type")
    by_type, _, by_user = rpcs.partition("Remote Procedure Call statistics by user")
    by_user = by_user.split("Pending RPC statistics")[0]

    def num(section, label):
        m = re.search(r"^\s*" + re.escape(label) + r"\s*(\d+)", section, re.M)
        return float(m.group(1)) if m else None

    for fam, sec, label in (("slurm_daemon_thread_count", main, "Server thread count:"),
                            ("slurm_dbd_agent_queue_size", main, "DBD Agent queue size:"),
                            ("slurm_backfill_job_count", bf, "Total backfilled jobs (since last slurm start):"),
                            ("slurm_backfill_cycle_counter", bf, "Total cycles:"),
                            ("slurm_backfill_last_depth", bf, "Last depth cycle:"),
                            ("slurm_backfill_last_depth_try_sched", bf, "Last depth cycle (try sched):")):
        v = num(sec, label)
        if v is not None:
            exp[fam][()] = v
    exp["slurm_backfill_cycle_count"][()] = (num(bf, "Total cycles:") or 0) * (num(bf, "Mean cycle:") or 0)
    if num(main, "Agent queue size:") is not None:
        exp["slurm_scheduler_agent_queue_size"][()] = num(main, "Agent queue size:")
    for event in ("submitted", "started", "completed", "canceled", "failed", "pending", "running"):
        if num(main, f"Jobs {event}:") is not None:
            exp["slurm_scheduler_jobs"][(("event", event),)] = num(main, f"Jobs {event}:")
    for fam, sec in (("slurm_scheduler_main_cycle_microseconds", main), ("slurm_scheduler_backfill_cycle_microseconds", bf)):
        for stat in ("last", "max", "mean"):
            if num(sec, f"{stat.capitalize()} cycle:") is not None:
                exp[fam][(("stat", stat),)] = num(sec, f"{stat.capitalize()} cycle:")
    rpc = re.compile(r"^\s*(\S+)\s+\(\s*\d+\)\s+count:(\d+)\s+ave_time:(\d+)\s+total_time:(\d+)", re.M)
    for name, c, a, t in rpc.findall(by_type):
        exp["slurm_rpc_msg_type_count"][(("type", name),)] = float(c)
        exp["slurm_rpc_msg_type_avg_time"][(("type", name),)] = float(a)
        exp["slurm_rpc_msg_type_total_time"][(("type", name),)] = float(t)
    for name, c, a, t in rpc.findall(by_user):
        exp["slurm_rpc_user_count"][(("user", name),)] = float(c)
        exp["slurm_rpc_user_total_time"][(("user", name),)] = float(t)
    return drop_nonpositive(exp, ["slurm_rpc_msg_type_count", "slurm_rpc_msg_type_avg_time", "slurm_rpc_msg_type_total_time",
                                  "slurm_rpc_user_count", "slurm_rpc_user_total_time"])


def expected_info(text):
    conf = dict(re.findall(r"^(\w+)\s*=\s*(.*?)\s*$", text, re.M))
    return {"slurm_info": {(("cluster_name", conf.get("ClusterName", "")), ("version", conf["SLURM_VERSION"])): 1.0}}


def expected_limits(lines):
    exp = defaultdict(lambda: defaultdict(float))
    seen = set()
    for line in lines:
        if not line.strip():
            continue
        user, account, cpu, mem, jobs, submit = line.split("|")
        if user or account in seen:
            continue
        seen.add(account)
        key = (("account", account),)
        exp["slurm_account_cpu_limit"][key] = float(cpu or 0)
        exp["slurm_account_mem_limit"][key] = float(mem or 0) * 1e6
        exp["slurm_account_job_alloc_limit"][key] = float(jobs or 0)
        exp["slurm_account_job_limit"][key] = float(submit or 0)
    return drop_nonpositive(exp, ["slurm_account_cpu_limit", "slurm_account_mem_limit", "slurm_account_job_alloc_limit",
                                  "slurm_account_job_limit"])


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


# fixture stem of a collector's output -> the option above that counts it
COUNTERS = {"squeue": "squeue", "sinfo": "sinfo", "lic": "licenses", "sdiag": "sdiag", "sacctmgr": "sacctmgr",
            "config": "config"}
SELF_METRIC = re.compile(r"_(scrape_duration|scrape_error|collect_error)$")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--squeue", help="squeue output file")
    ap.add_argument("--sinfo", help="sinfo output file")
    ap.add_argument("--licenses", help="scontrol show lic -o output file")
    ap.add_argument("--sdiag", help="sdiag output file")
    ap.add_argument("--sacctmgr", help="sacctmgr output file (the seed's format)")
    ap.add_argument("--input", action="append", default=[], metavar="STEM=FILE",
                    help="a collector's output by its fixture stem (slurmpush --list-collectors): " + ", ".join(COUNTERS))
    ap.add_argument("--config", help="scontrol show config output file")
    ap.add_argument("--metrics", help="slurmpush text output ('-' = stdin)")
    ap.add_argument("--prometheus", help="query API base URL")
    ap.add_argument("--match", default='{__name__=~"slurm_.+"}')
    ap.add_argument("--ignore-label", action="append", default=["cluster", "job", "instance"])
    a = ap.parse_args()
    for item in a.input:
        stem, _, path = item.partition("=")
        if stem not in COUNTERS:
            ap.error(f"no independent count for collector output {stem!r}: add one to check_counts.py")
        setattr(a, COUNTERS[stem], path)
    exp = {}
    if a.squeue:
        exp.update(expected_jobs(open(a.squeue).read().splitlines()))
    if a.sinfo:
        exp.update(expected_nodes(open(a.sinfo).read().splitlines()))
    if a.licenses:
        exp.update(expected_licenses(open(a.licenses).read().splitlines()))
    if a.sdiag:
        exp.update(expected_sdiag(open(a.sdiag).read()))
    if a.sacctmgr:
        exp.update(expected_limits(open(a.sacctmgr).read().splitlines()))
    if a.config:
        exp.update(expected_info(open(a.config).read()))
    ignore = set(a.ignore_label)
    if a.metrics:
        got = parse_text(sys.stdin.read() if a.metrics == "-" else open(a.metrics).read(), ignore)
    else:
        got = query_api(a.prometheus, a.match, ignore)
    problems = compare(exp, got, sorted(exp))
    # a family slurmpush emits that nothing here counts is a family no test checks
    unchecked = sorted(f for f in got if f.startswith("slurm_") and f not in exp and not SELF_METRIC.search(f))
    problems += [f"{f}: emitted but not counted by check_counts.py" for f in unchecked]
    for p in problems:
        print("MISMATCH", p)
    nseries = sum(len(v) for v in exp.values())
    print(f"check_counts: {len(exp)} families, {nseries} series compared, {len(problems)} mismatches")
    return 1 if problems or not nseries else 0


if __name__ == "__main__":
    sys.exit(main())
