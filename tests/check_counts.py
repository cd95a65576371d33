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


def squeue_fields(line):
    """The jobs collector's columns: the nine of older captures, or twelve (with SubmitTime, StartTime and
    EndTime before the reason, which takes the rest of the line)."""
    cells = line.split("|")
    if len(cells) >= 12 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", cells[8]):
        return cells[:8] + ["|".join(cells[11:])]
    return line.split("|", 8)


def expected_jobs(lines):
    exp = defaultdict(lambda: defaultdict(float))
    for line in lines:
        if not line.strip():
            continue
        jobid, user, account, partition, state, cpus, minmem, tres, reason = squeue_fields(line)
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


# ---- Slurm's own family names (its /metrics/jobs, /nodes, /partitions, /scheduler), from the same output
JOB_STATE_NAMES = {"BOOT_FAIL": "bootfail", "CANCELLED": "cancelled", "COMPLETED": "completed", "COMPLETING": "completing",
                   "CONFIGURING": "configuring", "DEADLINE": "deadline", "FAILED": "failed", "NODE_FAIL": "node_failed",
                   "OUT_OF_MEMORY": "outofmemory", "PENDING": "pending", "POWER_UP_NODE": "powerup_node",
                   "PREEMPTED": "preempted", "REQUEUED": "requeued", "RESIZING": "resizing", "REVOKED": "revoked",
                   "RUNNING": "running", "SIGNALING": "signaling", "STAGE_OUT": "stageout", "SUSPENDED": "suspended",
                   "TIMEOUT": "timeout"}
FINISHED = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"}
JOB_EXTRAS = ("cpus_alloc", "memory_alloc", "gpus_alloc", "hold", "finished")


def expected_native_jobs(lines, users_accts=False):
    exp = defaultdict(lambda: defaultdict(float))

    def touch(prefix, key):  # a scope's series exist, at 0, once one job has it
        exp[prefix][key] += 0
        for name in list(JOB_STATE_NAMES.values()) + list(JOB_EXTRAS):
            exp[f"{prefix}_{name}"][key] += 0

    touch("slurm_jobs", ())
    for line in lines:
        if line.strip():
            _, user, account, _, state, _, _, tres, _ = squeue_fields(line)
            if state == "RUNNING":
                gres = {}
                for kv in tres.split(","):
                    if kv.startswith("gres/") and "=" in kv:
                        name, count = kv[5:].split("=", 1)
                        gres[name] = float(count)
                for name, count in gres.items():
                    base, _, typ = name.partition(":")
                    if not typ and any(n.startswith(base + ":") for n in gres):
                        continue  # the untyped total of typed entries
                    exp["slurm_user_jobs_gres_alloc"][(("gres", base), ("type", typ), ("username", user))] += count
                    exp["slurm_account_jobs_gres_alloc"][(("account", account), ("gres", base), ("type", typ))] += count
    for line in lines:
        if not line.strip():
            continue
        jobid, user, account, partition, state, cpus, minmem, tres, reason = squeue_fields(line)
        scopes = [("slurm_jobs", ()), ("slurm_partition_jobs", (("partition", partition),))]
        if users_accts:
            scopes += [("slurm_user_jobs", (("username", user),)), ("slurm_account_jobs", (("account", account),))]
        tr = dict(kv.split("=", 1) for kv in tres.split(",") if "=" in kv)
        for prefix, key in scopes:
            touch(prefix, key)
            if not (prefix == "slurm_partition_jobs" and state in FINISHED):
                exp[prefix][key] += 1
            if state in JOB_STATE_NAMES:
                exp[f"{prefix}_{JOB_STATE_NAMES[state]}"][key] += 1
            if state == "PENDING" and reason in ("JobHeldUser", "JobHeldAdmin"):
                exp[f"{prefix}_hold"][key] += 1
            if state in FINISHED:
                exp[f"{prefix}_finished"][key] += 1
            if state == "RUNNING":
                exp[f"{prefix}_cpus_alloc"][key] += float(cpus)
                exp[f"{prefix}_memory_alloc"][key] += memory(tr["mem"])[1] / 2**20 if "mem" in tr else 0
                exp[f"{prefix}_gpus_alloc"][key] += float(tr.get("gres/gpu", 0))
    return exp


# sinfo long state word -> (base, flag); base None: from the CPUs (all allocated: alloc, some: mixed, none: idle)
NODE_WORDS = {"allocated": ("alloc", None), "mixed": ("mixed", None), "idle": ("idle", None), "down": ("down", None),
              "future": ("future", None), "unknown": ("unknown", None), "drained": ("idle", "drained"),
              "draining": (None, "draining"), "completing": (None, "completing"), "fail": ("idle", "fail"),
              "failing": (None, "fail"), "inval": (None, "invalid_reg"), "maint": (None, "maint"),
              "reserved": (None, "resv"), "planned": ("idle", "planned"), "reboot_requested": (None, "reboot_req"),
              "reboot_issued": (None, "reboot_issued"), "powered_down": ("idle", "powered_down"),
              "powering_up": (None, "powering_up"), "powering_down": (None, "powering_down"),
              "power_down": (None, "power_down"), "power_up": (None, "power_up")}
NODE_SUFFIX = {"*": "noresp", "~": "powered_down", "#": "powering_up", "%": "powering_down", "!": "power_down",
               "@": "reboot_req", "^": "reboot_issued", "$": "maint", "-": "planned"}
CONDITIONS = ["alloc", "mixed", "idle", "down", "future", "unknown", "completing", "drained", "draining", "fail", "invalid_reg",
              "maint", "noresp", "planned", "power_down", "power_up", "powered_down", "powering_up", "reboot_issued",
              "reboot_req", "resv", "powering_down"]
PARTITION_NAME = {"completing": "cg", "noresp": "no_resp", "reboot_req": "reboot_requested"}


def node_conditions(state, alloc, total):
    word = state.split("&")[0]
    out = set()
    while word and word[-1] in NODE_SUFFIX:
        out.add(NODE_SUFFIX[word[-1]])
        word = word[:-1]
    word = word.rstrip("+")
    base, flag = NODE_WORDS.get(word, (None, None))
    if base is None:
        base = "alloc" if total > 0 and alloc >= total else "mixed" if alloc > 0 else "idle"
    out.add(base)
    if flag:
        out.add(flag)
    return out


def expected_native_nodes(lines):
    nodes = {}
    for line in lines:
        if not line.strip():
            continue
        name, part, state, cpustate, load, mem, free, amem, weight = line.split("|")
        a, _, _, t = (float(x) for x in cpustate.split("/"))
        n = nodes.setdefault(name, dict(state=state, a=a, t=t, mem=float(mem), free=num(free), amem=num(amem), parts=[]))
        if part.rstrip("*") not in n["parts"]:
            n["parts"].append(part.rstrip("*"))
    exp = defaultdict(lambda: defaultdict(float))
    for c in CONDITIONS[:-1]:
        exp[f"slurm_nodes_{c}"][()] += 0
    exp["slurm_nodes"][()] = len(nodes)
    exp["slurm_jobs_nodes_alloc"][()] = sum(1 for n in nodes.values() if n["a"] > 0)
    parts = set()
    for name, n in nodes.items():
        k = (("node", name),)
        exp["slurm_node_cpus"][k] = n["t"]
        exp["slurm_node_cpus_alloc"][k] = n["a"]
        exp["slurm_node_cpus_idle"][k] = n["t"] - n["a"]
        exp["slurm_node_memory_bytes"][k] = n["mem"] * 2**20
        exp["slurm_node_memory_alloc_bytes"][k] = n["amem"] * 2**20
        exp["slurm_node_memory_free_bytes"][k] = n["free"] * 2**20
        conds = node_conditions(n["state"], n["a"], n["t"])
        for c in conds - {"powering_down"}:
            exp[f"slurm_nodes_{c}"][()] += 1
        for p in n["parts"]:
            parts.add(p)
            pk = (("partition", p),)
            for c in CONDITIONS:
                exp[f"slurm_partition_nodes_{PARTITION_NAME.get(c, c)}"][pk] += 1 if c in conds else 0
            exp["slurm_partition_nodes"][pk] += 1
            exp["slurm_partition_cpus"][pk] += n["t"]
            exp["slurm_partition_nodes_cpus_alloc"][pk] += n["a"]
            exp["slurm_partition_nodes_cpus_idle"][pk] += n["t"] - n["a"]
            exp["slurm_partition_nodes_mem_alloc"][pk] += n["amem"]
            exp["slurm_partition_nodes_mem_free"][pk] += n["free"]
            exp["slurm_partition_nodes_mem_tot"][pk] += n["mem"]
    exp["slurm_partitions"][()] = len(parts)
    return exp


# sdiag text: (section, label) -> Slurm's name; the section is the heading the line follows
SDIAG_NATIVE = {
    ("main", "Server thread count"): "slurm_server_thread_cnt", ("main", "Agent queue size"): "slurm_agent_queue_size",
    ("main", "Agent count"): "slurm_agent_cnt", ("main", "Agent thread count"): "slurm_agent_thread_cnt",
    ("main", "DBD Agent queue size"): "slurm_slurmdbd_queue_size", ("main", "Jobs submitted"): "slurm_sdiag_jobs_submitted",
    ("main", "Jobs started"): "slurm_sdiag_jobs_started", ("main", "Jobs completed"): "slurm_sdiag_jobs_completed",
    ("main", "Jobs canceled"): "slurm_sdiag_jobs_canceled", ("main", "Jobs failed"): "slurm_sdiag_jobs_failed",
    ("main", "Jobs pending"): "slurm_sdiag_jobs_pending", ("main", "Jobs running"): "slurm_sdiag_jobs_running",
    ("main", "Last cycle"): "slurm_schedule_cycle_last", ("main", "Max cycle"): "slurm_schedule_cycle_max",
    ("main", "Total cycles"): "slurm_schedule_cycle_cnt", ("main", "Mean cycle"): "slurm_sched_mean_cycle",
    ("main", "Mean depth cycle"): "slurm_sched_mean_depth_cycle", ("main", "Last queue length"): "slurm_schedule_queue_len",
    ("main", "End of job queue"): "slurm_sched_exit_end", ("main", "Hit default_queue_depth"): "slurm_sched_exit_max_depth",
    ("main", "Hit sched_max_job_start"): "slurm_sched_exit_max_job_start", ("main", "Blocked on licenses"): "slurm_sched_exit_lic",
    ("main", "Hit max_rpc_cnt"): "slurm_sched_exit_rpc_cnt", ("main", "Timeout (max_sched_time)"): "slurm_sched_exit_timeout",
    ("bf", "Total backfilled jobs (since last slurm start)"): "slurm_backfilled_jobs",
    ("bf", "Total backfilled jobs (since last stats cycle start)"): "slurm_last_backfilled_jobs",
    ("bf", "Total backfilled heterogeneous job components"): "slurm_backfilled_het_jobs",
    ("bf", "Total cycles"): "slurm_bf_cycle_cnt", ("bf", "Last cycle"): "slurm_bf_cycle_last",
    ("bf", "Max cycle"): "slurm_bf_cycle_max", ("bf", "Mean cycle"): "slurm_bf_mean_cycle",
    ("bf", "Last depth cycle"): "slurm_bf_last_depth", ("bf", "Last depth cycle (try sched)"): "slurm_bf_last_depth_try",
    ("bf", "Depth Mean"): "slurm_bf_depth_mean", ("bf", "Depth Mean (try depth)"): "slurm_bf_try_depth_mean",
    ("bf", "Last queue length"): "slurm_bf_queue_len", ("bf", "Queue length mean"): "slurm_bf_queue_len_mean",
    ("bf", "Last table size"): "slurm_bf_table_size", ("bf", "Mean table size"): "slurm_bf_mean_table_sz",
    ("bf", "End of job queue"): "slurm_bf_exit_end", ("bf", "Hit bf_max_job_start"): "slurm_bf_exit_max_job_start",
    ("bf", "Hit bf_max_job_test"): "slurm_bf_exit_max_job_test", ("bf", "System state changed"): "slurm_bf_exit_state_changed",
    ("bf", "Hit table size limit (bf_node_space_size)"): "slurm_bf_exit_table_limit",
    ("bf", "Timeout (bf_max_time)"): "slurm_bf_exit_timeout",
}
SDIAG_EPOCHS = {("main", "sdiag output at"): "slurm_sched_stats_timestamp", ("main", "Data since"): "slurm_last_proc_req_start",
                ("main", "Job states ts"): "slurm_sdiag_job_states_ts", ("bf", "Last cycle when"): "slurm_bf_when_last_cycle"}
SDIAG_SUMS = {"slurm_schedule_cycle_tot": ("slurm_sched_mean_cycle", "slurm_schedule_cycle_cnt"),
              "slurm_schedule_cycle_depth": ("slurm_sched_mean_depth_cycle", "slurm_schedule_cycle_cnt"),
              "slurm_bf_cycle_tot": ("slurm_bf_mean_cycle", "slurm_bf_cycle_cnt"),
              "slurm_bf_depth_tot": ("slurm_bf_depth_mean", "slurm_bf_cycle_cnt"),
              "slurm_bf_depth_try_tot": ("slurm_bf_try_depth_mean", "slurm_bf_cycle_cnt"),
              "slurm_bf_queue_len_tot": ("slurm_bf_queue_len_mean", "slurm_bf_cycle_cnt"),
              "slurm_bf_table_size_tot": ("slurm_bf_mean_table_sz", "slurm_bf_cycle_cnt")}


def expected_native_sdiag(text):
    exp = defaultdict(lambda: defaultdict(float))
    section = "main"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Backfilling stats"):
            section = "bf"
        elif line.startswith("Remote Procedure Call") or line.startswith("Pending RPC"):
            section = "rpc"
        m = re.fullmatch(r"Latency for \d+ calls to gettimeofday\(\): (\d+) microseconds", line)
        if m:
            exp["slurm_sdiag_latency"][()] = float(m.group(1))
        m = re.fullmatch(r"(.+?):?\s+\S.*\((\d+)\)", line)
        for (sec, label), fam in SDIAG_EPOCHS.items():
            if sec == section and line.startswith(label) and m:
                exp[fam][()] = float(m.group(2))
        m = re.fullmatch(r"(.+?):\s*(-?\d+)(\s.*)?", line)  # "End of job queue:13": no space once the number has two digits
        if m and (section, m.group(1)) in SDIAG_NATIVE:
            exp[SDIAG_NATIVE[(section, m.group(1))]][()] = float(m.group(2))
    for fam, (mean, count) in SDIAG_SUMS.items():
        if () in exp.get(mean, {}) and () in exp.get(count, {}):
            exp[fam][()] = exp[mean][()] * exp[count][()]
    return exp


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
    # the monotonic counters, on a first read (no saved state): sdiag's own values
    for event in ("submitted", "started", "completed", "canceled", "failed"):
        if num(main, f"Jobs {event}:") is not None:
            exp["slurm_scheduler_jobs_total"][(("event", event),)] = num(main, f"Jobs {event}:")
    for fam, sec in (("slurm_scheduler_cycles_total", main), ("slurm_scheduler_backfill_cycles_total", bf)):
        if num(sec, "Total cycles:") is not None:
            exp[fam][()] = num(sec, "Total cycles:")
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


def expected_controller(text):
    exp = defaultdict(lambda: defaultdict(float))
    for role, host, status in re.findall(r"^Slurmctld\((\w+)\) at (\S+) is (UP|DOWN)$", text, re.M):
        exp["slurm_controller_up"][(("controller", host), ("role", "backup" if role.startswith("backup") else role))] = \
            1.0 if status == "UP" else 0.0
    return exp


def expand_hostlist(text):
    """Slurm host lists: 'c[1-3,7],rack[1-2]-n[01-02]' -> names (ranges keep the lower bound's width)."""
    names = []
    for item in re.findall(r"(?:[^,\[]|\[[^\]]*\])+", text):
        parts = [[item]]
        m = re.match(r"([^\[]*)\[([^\]]*)\](.*)", item)
        if m:
            pre, ranges, rest = m.groups()
            heads = []
            for r in ranges.split(","):
                lo, _, hi = r.partition("-")
                for v in range(int(lo), int(hi or lo) + 1):
                    heads.append(pre + str(v).zfill(len(lo)))
            names += [h + t for h in heads for t in (expand_hostlist(rest) if "[" in rest else [rest])]
        else:
            names.append(item)
    return names


def expected_reservations(lines):
    import time
    exp = defaultdict(lambda: defaultdict(float))
    for line in lines:
        if "ReservationName=" not in line:
            continue
        w = {k: ("" if v == "(null)" else v) for k, v in (x.split("=", 1) for x in line.split() if "=" in x)}
        r = w["ReservationName"]
        exp["slurm_reservation_info"][tuple(sorted({"reservation": r, "state": w.get("State", ""),
                                                     "partition": w.get("PartitionName", ""), "flags": w.get("Flags", ""),
                                                     "users": w.get("Users", ""),
                                                     "accounts": w.get("Accounts", "")}.items()))] = 1.0
        for key, fam in (("StartTime", "slurm_reservation_start_time_seconds"), ("EndTime", "slurm_reservation_end_time_seconds")):
            try:
                exp[fam][(("reservation", r),)] = time.mktime(time.strptime(w.get(key, ""), "%Y-%m-%dT%H:%M:%S"))
            except ValueError:
                pass
        for key, fam in (("NodeCnt", "slurm_reservation_nodes"), ("CoreCnt", "slurm_reservation_cores")):
            if w.get(key):
                exp[fam][(("reservation", r),)] = float(w[key])
        for node in expand_hostlist(w.get("Nodes", "")):
            exp["slurm_reservation_node_info"][(("node", node), ("reservation", r))] = 1.0
    return exp


def expected_reservation_states(exp):
    """Each reserved node counted under its base state, as node-detail read it."""
    state = {dict(key)["node"]: dict(key)["state"] for key in exp.get("slurm_node_state", {})}
    out = defaultdict(lambda: defaultdict(float))
    for key in exp.get("slurm_reservation_node_info", {}):
        k = dict(key)
        if k["node"] in state:
            out["slurm_reservation_nodes_state"][(("reservation", k["reservation"]), ("state", state[k["node"]]))] += 1
    return out


def expected_job_gpus(lines):
    """scontrol show job -d -o: per running job, each node group's GRES=gpu…(IDX:list) -> one series per index."""
    exp = defaultdict(lambda: defaultdict(float))
    for line in lines:
        if not line.startswith("JobId=") or " JobState=RUNNING " not in line + " ":
            continue
        w = dict(re.findall(r"(?:^| )(\w+)=(\S*)", line))
        user = w.get("UserId", "").split("(")[0]
        for nodes, gres in re.findall(r" Nodes=(\S+)(?:(?! Nodes=).)*? GRES=(\S*)", line):
            for entry in re.findall(r"(?:[^,(]|\([^)]*\))+", gres):
                m = re.fullmatch(r"gpu(?::[^:(]*)*\(IDX:([\d,-]+)\)", entry)
                if not m:
                    continue
                for part in m.group(1).split(","):
                    lo, _, hi = part.partition("-")
                    for i in range(int(lo), int(hi or lo) + 1):
                        for node in expand_hostlist(nodes):
                            exp["slurm_job_gpu_info"][(("account", w.get("Account", "")), ("gpu_index", str(i)),
                                                       ("jobid", w["JobId"]), ("node", node),
                                                       ("partition", w.get("Partition", "")), ("username", user))] = 1.0
    return exp


def gres_entries(text):
    """'gpu:a100:2(S:0-1),mps:1K' -> [(gpu, a100, 2), (mps, '', 1024)]"""
    if text in ("", "(null)", "N/A"):
        return []
    out = []
    for entry in re.split(r",(?![^()]*\))", text):
        entry = entry.split("(")[0]
        parts = entry.split(":")
        count = parts[-1]
        scale = 1024 ** ("KMGT".index(count[-1].upper()) + 1) if count[-1].upper() in "KMGT" else 1
        count = float(count.rstrip("KMGTkmgt")) * scale
        out.append((parts[0], ":".join(parts[1:-1]), count))
    return out


def expected_gres(lines):
    exp = defaultdict(lambda: defaultdict(float))
    seen = set()
    for line in lines:
        if not line.strip():
            continue
        node, part, gres, used = line.split("|")
        part = part.rstrip("*")
        for text, node_fam, part_fam in ((gres, "slurm_node_gres", "slurm_partition_gres"),
                                         (used, "slurm_node_gres_alloc", "slurm_partition_gres_alloc")):
            for name, typ, count in gres_entries(text):
                if node not in seen:
                    exp[node_fam][(("gres", name), ("node", node), ("type", typ))] += count
                exp[part_fam][(("gres", name), ("partition", part), ("type", typ))] += count
        seen.add(node)
    return exp


def expected_node_detail(lines):
    import time
    exp = defaultdict(lambda: defaultdict(float))
    for line in lines:
        if not line.startswith("NodeName="):
            continue
        words, _, reason = line.partition(" Reason=")
        w = dict(re.findall(r"(?:^| )(\w+)=(\S*)", words))
        w = {k: "" if v == "(null)" else v for k, v in w.items()}
        node = w["NodeName"]
        base, *flags = w["State"].lower().split("+")
        exp["slurm_node_state"][(("node", node), ("state", base))] = 1.0
        for f in flags:
            exp["slurm_node_state_flag"][(("flag", f), ("node", node))] = 1.0
        if w.get("CPULoad") not in (None, "", "N/A"):
            exp["slurm_node_cpu_load"][(("node", node),)] = float(w["CPULoad"])
        for p in filter(None, w.get("Partitions", "").split(",")):
            exp["slurm_node_partition_info"][(("node", node), ("partition", p))] = 1.0
        exp["slurm_node_features_info"][(("active", w.get("ActiveFeatures", "")), ("available", w.get("AvailableFeatures", "")),
                                         ("node", node))] = 1.0
        m = re.fullmatch(r"(.*?)\s*\[(.*)@(.*)\]", reason)
        if reason and reason != "(null)":
            text, user = (m.group(1), m.group(2)) if m else (reason, "")
            exp["slurm_node_reason_info"][(("node", node), ("reason", text), ("user", user))] = 1.0
            if m:
                exp["slurm_node_reason_timestamp_seconds"][(("node", node),)] = time.mktime(
                    time.strptime(m.group(3), "%Y-%m-%dT%H:%M:%S"))
        # a first run (no saved state): an unavailable node is so since its reason's time, else since now
        # (NOW: the moment of the run, filled in by main from the samples)
        if base in ("down", "fail") or {"drain", "fail", "not_responding"} & set(flags):
            since = exp["slurm_node_reason_timestamp_seconds"].get((("node", node),))
            exp["slurm_node_unavailable_since_timestamp_seconds"][(("node", node),)] = since if since else NOW
    return exp


NOW = float("-inf")  # "the run's own time": see fill_now


def fill_now(exp, got, stamp):
    """NOW is the samples' timestamp (--dry-run text carries it); read from a receiver, any time in the
    last hour is taken (what the receiver holds is the value itself)."""
    import time
    for fam, series in exp.items():
        for key, v in series.items():
            if v != NOW:
                continue
            g = got.get(fam, {}).get(key)
            if stamp is not None:
                series[key] = stamp
            elif g is not None and time.time() - 3600 <= g <= time.time() + 60:
                series[key] = g


def expected_queue(lines, got, stamp=None):
    """The queue families. Waits are measured against the moment slurmpush's output was complete: the
    samples' own timestamp where the output carries one (--dry-run text), else (a receiver's query) it is
    read back from a partition's wait sum (sum = count x now - sum of the submit times). Every quantile,
    sum and count is then computed here from the raw times."""
    import time

    def when(text):
        try:
            return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None

    exp = defaultdict(lambda: defaultdict(float))
    submits, starts = defaultdict(list), defaultdict(list)
    for line in lines:
        if not line.strip():
            continue
        _, partitions, reason, submit, start = line.split("|")
        reason = re.split(r"[,:]", reason)[0]
        for p in filter(None, partitions.split(",")):
            exp["slurm_partition_jobs_pending_reason"][(("partition", p), ("reason", reason))] += 1
            if reason in ("JobHeldUser", "JobHeldAdmin"):
                continue
            submits[p].append(when(submit))
            if when(start) is not None:
                starts[p].append(when(start))
    nows = [(got.get("slurm_partition_jobs_pending_wait_seconds_sum", {}).get((("partition", p),), 0) + sum(v)) / len(v)
            for p, v in submits.items() if v]
    now = stamp if stamp is not None else nows[0] if nows else time.time()
    for p in set(submits) | set(starts):
        for fam, values in (("slurm_partition_jobs_pending_wait_seconds", [now - t for t in submits[p]]),
                            ("slurm_partition_jobs_start_delay_seconds", [t - now for t in starts[p]])):
            values.sort()
            exp[fam + "_sum"][(("partition", p),)] = sum(values)
            exp[fam + "_count"][(("partition", p),)] = len(values)
            for q in ("0.5", "0.9", "1"):
                if values:
                    rank = max(1, math.ceil(float(q) * len(values)))
                    exp[fam][(("partition", p), ("quantile", q))] = values[rank - 1]
    return exp


FAIRSHARE = {"FairShare": "", "RawShares": "_raw_shares", "NormShares": "_norm_shares", "RawUsage": "_raw_usage",
             "NormUsage": "_norm_usage", "EffectvUsage": "_effective_usage", "LevelFS": "_level_fs"}


def expected_fairshare(lines, users=False):
    exp = defaultdict(lambda: defaultdict(float))
    rows = [line.split("|") for line in lines if line.strip()]
    head = [h.strip() for h in rows[0]]
    seen = set()
    for row in rows[1:]:
        cell = {h: v.strip() for h, v in zip(head, row)}
        account, user = cell["Account"], cell["User"]
        if (account, user) in seen or (user and not users):
            continue
        seen.add((account, user))
        if not cell.get("FairShare") and cell.get("LevelFS") not in ("", "inf", None):
            cell["FairShare"] = cell["LevelFS"]
        for column, suffix in FAIRSHARE.items():
            v = cell.get(column, "")
            if v in ("", "inf", "N/A"):
                continue
            if user:
                exp["slurm_user_fairshare" + suffix][(("account", account), ("username", user))] = float(v)
            else:
                exp["slurm_account_fairshare" + suffix][(("account", account),)] = float(v)
    return exp


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
            tol = 1e-3 if "_seconds" in fam else 1e-9  # waits: against a "now" read back in milliseconds
            if ev is None or gv is None or not math.isclose(ev, gv, rel_tol=1e-9, abs_tol=tol):
                problems.append(f"{fam}{dict(key)}: expected {ev}, got {gv}")
    return problems


# fixture stem of a collector's output -> the option above that counts it
COUNTERS = {"squeue": "squeue", "sinfo": "sinfo", "lic": "licenses", "sdiag": "sdiag", "sacctmgr": "sacctmgr",
            "config": "config", "ping": "ping", "sshare": "sshare", "reservations": "reservations",
            "nodes-detail": "nodes_detail",
            "queue": "queue", "gres": "gres", "jobs-detail": "jobs_detail"}
SELF_METRIC = re.compile(r"_(scrape_duration|scrape_error|collect_error)$|^slurm_controller_ping_seconds$")  # timings


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
    ap.add_argument("--ping", help="scontrol ping output file")
    ap.add_argument("--sshare", help="sshare -a -l -P output file")
    ap.add_argument("--reservations", help="scontrol show reservation -o output file")
    ap.add_argument("--nodes-detail", help="scontrol show nodes -o output file")
    ap.add_argument("--gres", help="sinfo -N NodeList|Partition|Gres|GresUsed output file")
    ap.add_argument("--jobs-detail", help="scontrol show job -d -o output file")
    ap.add_argument("--queue", help="squeue -t PD (the queue collector's columns) output file")
    ap.add_argument("--fairshare-users", action="store_true", help="slurmpush ran with --collector.fairshare.users")
    ap.add_argument("--users-accts", action="store_true", help="slurmpush ran with --collector.jobs.users-accts")
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
        exp.update(expected_jobs(open(a.squeue, encoding="utf-8", errors="replace").read().splitlines()))
        exp.update(expected_native_jobs(open(a.squeue, encoding="utf-8", errors="replace").read().splitlines(), a.users_accts))
    if a.sinfo:
        exp.update(expected_nodes(open(a.sinfo, encoding="utf-8", errors="replace").read().splitlines()))
        exp.update(expected_native_nodes(open(a.sinfo, encoding="utf-8", errors="replace").read().splitlines()))
    if a.licenses:
        exp.update(expected_licenses(open(a.licenses, encoding="utf-8", errors="replace").read().splitlines()))
    if a.sdiag:
        exp.update(expected_sdiag(open(a.sdiag, encoding="utf-8", errors="replace").read()))
        exp.update(expected_native_sdiag(open(a.sdiag, encoding="utf-8", errors="replace").read()))
    if a.sacctmgr:
        exp.update(expected_limits(open(a.sacctmgr, encoding="utf-8", errors="replace").read().splitlines()))
    if a.config:
        exp.update(expected_info(open(a.config, encoding="utf-8", errors="replace").read()))
    if a.ping:
        exp.update(expected_controller(open(a.ping, encoding="utf-8", errors="replace").read()))
    if a.gres:
        exp.update(expected_gres(open(a.gres, encoding="utf-8", errors="replace").read().splitlines()))
    if a.nodes_detail:
        exp.update(expected_node_detail(open(a.nodes_detail, encoding="utf-8", errors="replace").read().splitlines()))
    if a.reservations:
        exp.update(expected_reservations(open(a.reservations, encoding="utf-8", errors="replace").read().splitlines()))
    if a.jobs_detail:
        exp.update(expected_job_gpus(open(a.jobs_detail, encoding="utf-8", errors="replace").read().splitlines()))
    if a.reservations and a.nodes_detail:
        exp.update(expected_reservation_states(exp))
    if a.sshare:
        exp.update(expected_fairshare(open(a.sshare, encoding="utf-8", errors="replace").read().splitlines(), a.fairshare_users))
    ignore = set(a.ignore_label)
    if a.metrics:
        text = sys.stdin.buffer.read().decode("utf-8", "replace") if a.metrics == "-" else \
            open(a.metrics, encoding="utf-8", errors="replace").read()
        got = parse_text(text, ignore)
        m = re.search(r"^slurm_partition_jobs_pending_wait_seconds_count\{.*\} \S+ (\d+)$", text, re.M)
        stamp = int(m.group(1)) / 1000 if m else None
    else:
        got = query_api(a.prometheus, a.match, ignore)
    if a.queue:
        exp.update(expected_queue(open(a.queue, encoding="utf-8", errors="replace").read().splitlines(), got,
                                  stamp if a.metrics else None))
    m = re.search(r"^slurm_node_state\{.*\} \S+ (\d+)$", text, re.M) if a.metrics else None
    fill_now(exp, got, int(m.group(1)) / 1000 if m else None)
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
