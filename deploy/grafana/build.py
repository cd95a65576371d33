#!/usr/bin/env python3
"""build.py [--check] — writes the Grafana dashboards (deploy/grafana/*.json) from the short panel
lists below, so that every dashboard has the same variables, datasource and layout rules. With
--check it writes nothing and fails when a committed dashboard differs from what it would write.

Every query names only families slurmpush emits (tests/dashboards_test.py runs each one, with the
variables filled in, against a Prometheus fed by slurmpush from the lab cluster). Which collectors
a dashboard needs is in its description; the recording rules (deploy/prometheus/) must be loaded
where a query names a `cluster:`/`partition:` series.
"""
import json
import os
import sys

C = 'cluster="$cluster"'


def var_query(name, label, query, all_=False, label_text=None):
    v = {"name": name, "label": label_text or name, "type": "query",
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "definition": f"label_values({query}, {label})",
         "query": {"query": f"label_values({query}, {label})", "refId": f"{name}-values"},
         "refresh": 2, "sort": 1, "hide": 0, "multi": all_, "includeAll": all_, "current": {}, "options": [],
         "regex": "", "skipUrlSync": False}
    if all_:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return v


def variables(extra):
    return [{"name": "datasource", "label": "data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [], "skipUrlSync": False},
            var_query("cluster", "cluster", "slurm_cpus_total")] + extra


def target(expr, legend="", ref="A", instant=False):
    t = {"datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": expr, "legendFormat": legend,
         "refId": ref, "range": not instant, "instant": instant}
    if instant:
        t["format"] = "table"
    return t


class Board:
    """Panels laid out left to right in rows of 24 columns."""

    def __init__(self, uid, title, description, extra_vars=()):
        self.uid, self.title, self.description = uid, title, description
        self.vars = variables(list(extra_vars))
        self.panels, self.x, self.y, self.row_h = [], 0, 0, 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "id": len(self.panels) + 1})
        self.y += 1

    def panel(self, kind, title, targets, unit="short", w=12, h=8, description="", **options):
        p = {"id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
             "datasource": {"type": "prometheus", "uid": "${datasource}"}, "gridPos": self._place(w, h),
             "targets": [target(*t) if isinstance(t, tuple) else target(t) for t in targets],
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": options}
        for i, t in enumerate(p["targets"]):
            t["refId"] = chr(ord("A") + i)
        self.panels.append(p)

    def stat(self, title, expr, unit="short", w=4, h=4, description=""):
        self.panel("stat", title, [expr], unit, w, h, description, reduceOptions={"calcs": ["lastNotNull"]},
                   colorMode="value", graphMode="area")

    def graph(self, title, targets, unit="short", w=12, h=8, description="", stack=False):
        self.panel("timeseries", title, targets, unit, w, h, description, legend={"displayMode": "table",
                                                                              "placement": "right"})
        if stack:
            self.panels[-1]["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal"}, "fillOpacity": 20}

    def table(self, title, expr, w=12, h=8, description=""):
        self.panel("table", title, [(expr, "", "A", True)], "short", w, h, description, showHeader=True)
        self.panels[-1]["transformations"] = [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]

    def json(self):
        return {"uid": self.uid, "title": self.title, "description": self.description, "tags": ["slurm", "slurmpush"],
                "schemaVersion": 38, "version": 1, "editable": True, "graphTooltip": 1, "refresh": "1m",
                "time": {"from": "now-6h", "to": "now"}, "timepicker": {}, "timezone": "",
                "annotations": {"list": []}, "links": [{"title": "slurmpush", "type": "dashboards", "tags": ["slurmpush"],
                                                         "asDropdown": True}],
                "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                              "pluginId": "prometheus"}],
                "templating": {"list": self.vars}, "panels": self.panels}


def overview():
    b = Board("slurmpush-overview", "Slurm / Overview",
              "The cluster at a glance and slurmpush's own delivery. Collectors: jobs, nodes, node-detail, gres, queue, "
              "diags, controller (on by default but diags and queue); recording rules: slurmpush-recording.")
    b.row("Capacity")
    b.stat("CPUs", f"sum(slurm_cpus_total{{{C}}})")
    b.stat("CPUs allocated", f"cluster:slurm_cpus_alloc:ratio{{{C}}}", "percentunit")
    b.stat("Memory", f"sum(slurm_mem_real_bytes{{{C}}})", "bytes")
    b.stat("Memory allocated", f"cluster:slurm_mem_alloc:ratio{{{C}}}", "percentunit")
    b.stat("GPUs", f"cluster:slurm_gpus:sum{{{C}}}")
    b.stat("GPUs allocated", f"cluster:slurm_gpus_alloc:sum{{{C}}}")
    b.graph("CPUs", [(f"sum(slurm_cpus_alloc{{{C}}})", "allocated"), (f"sum(slurm_cpus_idle{{{C}}})", "idle"),
                     (f"sum(slurm_cpus_total{{{C}}})", "total")])
    b.graph("Memory", [(f"sum(slurm_mem_alloc_bytes{{{C}}})", "allocated"), (f"sum(slurm_mem_real_bytes{{{C}}})", "total")],
            "bytes")
    b.row("Nodes")
    b.graph("Nodes by base state", [(f"cluster_state:slurm_nodes:count{{{C}}}", "{{state}}")], stack=True)
    b.graph("Nodes by flag", [(f"sum by (flag) (slurm_node_state_flag{{{C}}})", "{{flag}}")])
    b.table("Unavailable nodes (down, fail, drain, not responding) and why",
            f"max by (node, reason, user) (slurm_node_reason_info{{{C}}})", w=24)
    b.row("Jobs")
    b.graph("Jobs by state", [(f"sum by (state) (slurm_partition_job_state_total{{{C}}})", "{{state}}")], stack=True)
    b.graph("Pending jobs by reason", [(f"sum by (reason) (slurm_partition_jobs_pending_reason{{{C}}})", "{{reason}}")])
    b.graph("Pending wait (longest, per partition)",
            [(f'slurm_partition_jobs_pending_wait_seconds{{{C},quantile="1"}}', "{{partition}}")], "s")
    b.graph("GPUs allocated to running jobs", [(f"slurm_jobs_gpus_alloc{{{C}}}", "GPUs")])
    b.row("Scheduler and controller")
    b.graph("Controllers up", [(f"slurm_controller_up{{{C}}}", "{{controller}} ({{role}})")])
    b.graph("Scheduling cycle (last)", [(f"slurm_schedule_cycle_last{{{C}}}", "main"),
                                        (f"slurm_bf_cycle_last{{{C}}}", "backfill")], "µs")
    b.graph("slurmctld threads and queues", [(f"slurm_server_thread_cnt{{{C}}}", "server threads"),
                                             (f"slurm_agent_queue_size{{{C}}}", "agent queue")])
    b.graph("scontrol ping", [(f"slurm_controller_ping_seconds{{{C}}}", "ping")], "s")
    b.row("slurmpush delivery")
    b.graph("Queue depth (requests)", [(f"sum by (endpoint) (slurmpush_sender_queue_requests{{{C}}})", "{{endpoint}}")],
            w=8)
    b.graph("Retries", [(f"sum by (endpoint) (rate(slurmpush_sender_retries_total{{{C}}}[$__rate_interval]))",
                         "{{endpoint}}")], "ops", w=8)
    b.graph("Samples rejected or evicted",
            [(f'sum by (endpoint, result) (rate(slurmpush_sender_samples_total{{{C},result=~"rejected|evicted"}}'
              f'[$__rate_interval]))', "{{endpoint}} {{result}}")], "ops", w=8)
    b.graph("Spool", [(f"sum by (endpoint) (slurmpush_sender_spool_bytes{{{C}}})", "{{endpoint}}")], "bytes", w=8)
    b.graph("Last successful push (age)",
            [(f"time() - max by (endpoint) (slurmpush_sender_last_success_timestamp_seconds{{{C}}})", "{{endpoint}}")],
            "s", w=8)
    b.graph("Collectors failing", [(f"1 - slurmpush_collector_success{{{C}}}", "{{collector}}")], w=8)
    return b


def partition():
    P = C + ',partition=~"$partition"'
    b = Board("slurmpush-partition", "Slurm / Partitions",
              "Per partition: capacity, nodes, jobs, waits, GPUs. Collectors: nodes, jobs, queue, gres, node-detail.",
              [var_query("partition", "partition", f"slurm_partition_cpus{{{C}}}", all_=True)])
    b.graph("CPUs allocated", [(f"slurm_partition_nodes_cpus_alloc{{{P}}}", "{{partition}}")])
    b.graph("CPUs idle", [(f"slurm_partition_nodes_cpus_idle{{{P}}}", "{{partition}}")])
    b.graph("CPU load", [(f"slurm_partition_cpu_load{{{P}}}", "{{partition}}")])
    b.graph("Memory allocated", [(f"slurm_partition_alloc_mem_bytes{{{P}}}", "{{partition}}")], "bytes")
    b.graph("Nodes idle / allocated / mixed", [(f"slurm_partition_nodes_idle{{{P}}}", "{{partition}} idle"),
                                               (f"slurm_partition_nodes_alloc{{{P}}}", "{{partition}} allocated"),
                                               (f"slurm_partition_nodes_mixed{{{P}}}", "{{partition}} mixed")])
    b.graph("Usable nodes", [(f"partition:slurm_nodes_usable:count{{{P}}}", "{{partition}}")],
            description="nodes neither down, failed, drained nor unresponsive (recording rule)")
    b.graph("Jobs running", [(f"slurm_partition_jobs_running{{{P}}}", "{{partition}}")])
    b.graph("Jobs pending", [(f"slurm_partition_jobs_pending{{{P}}}", "{{partition}}")])
    b.graph("Pending by reason", [(f"sum by (partition, reason) (slurm_partition_jobs_pending_reason{{{P}}})",
                                   "{{partition}} {{reason}}")])
    b.graph("Pending wait (median, 90th, longest)",
            [(f"slurm_partition_jobs_pending_wait_seconds{{{P}}}", "{{partition}} q{{quantile}}")], "s")
    b.graph("Mean pending wait",
            [(f"slurm_partition_jobs_pending_wait_seconds_sum{{{P}}} / slurm_partition_jobs_pending_wait_seconds_count{{{P}}}",
              "{{partition}}")], "s")
    b.graph("GPUs configured / allocated", [(f'slurm_partition_gres{{{P},gres="gpu"}}', "{{partition}} {{type}}"),
                                            (f'slurm_partition_gres_alloc{{{P},gres="gpu"}}', "{{partition}} {{type}} alloc")])
    return b


def users():
    U, A = C + ',username=~"$user"', C + ',account=~"$account"'
    b = Board("slurmpush-users", "Slurm / Users and accounts",
              "Jobs, CPUs, memory, GPUs and fair share per user and account. Collectors: jobs, fairshare "
              "(with --collector.fairshare.users for the per-user share).",
              [var_query("user", "username", f"slurm_user_state_total{{{C}}}", all_=True),
               var_query("account", "account", f"slurm_account_job_state_total{{{C}}}", all_=True)])
    b.graph("Jobs per user", [(f"sum by (username, state) (slurm_user_state_total{{{U}}})", "{{username}} {{state}}")])
    b.graph("CPUs per user", [(f"sum by (username) (slurm_user_cpu_alloc{{{U}}})", "{{username}}")])
    b.graph("Memory per user", [(f"sum by (username) (slurm_user_mem_alloc_bytes{{{U}}})", "{{username}}")], "bytes")
    b.graph("GPUs per user", [(f'sum by (username, type) (slurm_user_jobs_gres_alloc{{{U},gres="gpu"}})',
                               "{{username}} {{type}}")])
    b.graph("Jobs per account", [(f"sum by (account, state) (slurm_account_job_state_total{{{A}}})",
                                  "{{account}} {{state}}")])
    b.graph("CPUs per account", [(f"sum by (account) (slurm_account_job_state_cpu_alloc{{{A}}})", "{{account}}")])
    b.graph("GPUs per account", [(f'sum by (account, type) (slurm_account_jobs_gres_alloc{{{A},gres="gpu"}})',
                                  "{{account}} {{type}}")])
    b.graph("Fair share per account", [(f"slurm_account_fairshare{{{A}}}", "{{account}}")])
    b.graph("Usage per account (normalized)", [(f"slurm_account_fairshare_norm_usage{{{A}}}", "{{account}}")],
            "percentunit")
    b.graph("Fair share per user", [(f"slurm_user_fairshare{{{U}}}", "{{account}} / {{username}}")])
    return b


def node():
    N = C + ',node="$node"'
    b = Board("slurmpush-node", "Slurm / Node",
              "One node's state, load, CPUs and memory, and the cluster's nodes with flags, reasons and GPUs. "
              "Collectors: node-detail, nodes, gres, reservations.",
              [var_query("node", "node", f"slurm_node_state{{{C}}}")])
    b.table("State", f"slurm_node_state{{{N}}}", w=6, h=5)
    b.table("Partitions", f"slurm_node_partition_info{{{N}}}", w=6, h=5)
    b.table("Features", f"slurm_node_features_info{{{N}}}", w=12, h=5)
    b.graph("CPU load", [(f"slurm_node_cpu_load{{{N}}}", "load")])
    b.graph("CPUs", [(f"slurm_node_cpus{{{N}}}", "total"), (f"slurm_node_cpus_alloc{{{N}}}", "allocated")])
    b.graph("Memory", [(f"slurm_node_memory_bytes{{{N}}}", "total"), (f"slurm_node_memory_alloc_bytes{{{N}}}", "allocated"),
                       (f"slurm_node_memory_free_bytes{{{N}}}", "free")], "bytes")
    b.row("All nodes")
    b.table("Nodes with flags", f"slurm_node_state_flag{{{C}}}")
    b.table("Nodes with a reason", f"slurm_node_reason_info{{{C}}}")
    b.graph("Reason set (age)", [(f"time() - slurm_node_reason_timestamp_seconds{{{C}}}", "{{node}}")], "s")
    b.table("GRES by node", f"slurm_node_gres{{{C}}}")
    b.table("GRES allocated by node", f"slurm_node_gres_alloc{{{C}}}")
    b.table("Reserved nodes", f"slurm_reservation_node_info{{{C}}}")
    return b


def scheduler():
    b = Board("slurmpush-scheduler", "Slurm / Scheduler",
              "slurmctld's scheduler (sdiag), RPCs, licenses and reservations. Collectors: diags, controller, licenses, "
              "reservations (off by default: switch them on).")
    b.graph("Jobs since the last sdiag reset", [(f"slurm_scheduler_jobs{{{C}}}", "{{event}}")])
    b.graph("Main scheduler cycle", [(f"slurm_schedule_cycle_last{{{C}}}", "last"), (f"slurm_schedule_cycle_max{{{C}}}", "max"),
                                     (f"slurm_sched_mean_cycle{{{C}}}", "mean")], "µs")
    b.graph("Backfill cycle", [(f"slurm_bf_cycle_last{{{C}}}", "last"), (f"slurm_bf_cycle_max{{{C}}}", "max")], "µs")
    b.graph("Backfill depth and jobs", [(f"slurm_bf_last_depth{{{C}}}", "depth"),
                                        (f"slurm_backfilled_jobs{{{C}}}", "backfilled since reset")])
    b.graph("Threads and queues", [(f"slurm_server_thread_cnt{{{C}}}", "server threads"),
                                   (f"slurm_agent_queue_size{{{C}}}", "agent queue"),
                                   (f"slurm_schedule_queue_len{{{C}}}", "schedule queue")])
    b.graph("RPCs by type (top 10)",
            [(f"topk(10, rate(slurm_rpc_msg_type_count{{{C}}}[$__rate_interval]))", "{{type}}")], "ops")
    b.graph("RPCs by user", [(f"rate(slurm_rpc_user_count{{{C}}}[$__rate_interval])", "{{user}}")], "ops")
    b.graph("Controllers", [(f"slurm_controller_up{{{C}}}", "{{controller}} ({{role}})"),
                            (f"slurm_controller_ping_seconds{{{C}}}", "ping seconds")])
    # used = total - free: slurm_lic_used and slurm_lic_free have no series at 0 (the seed's rule)
    b.graph("Licenses", [(f"slurm_lic_total{{{C}}}", "{{name}} total"),
                         (f"slurm_lic_total{{{C}}} - (slurm_lic_free{{{C}}} or slurm_lic_total{{{C}}} * 0)", "{{name}} used")])
    b.table("Reservations", f"slurm_reservation_info{{{C}}}")
    b.graph("Reservation nodes by state", [(f"slurm_reservation_nodes_state{{{C}}}", "{{reservation}} {{state}}")])
    return b


def job_trace():
    J = C + ',jobid="$jobid"'
    b = Board("slurmpush-job-trace", "Slurm / Job trace",
              "What a traced job's processes use (slurmpush-trace, --trace.enabled) against what Slurm allocated to it.",
              [var_query("jobid", "jobid", f"slurm_proc_cpu_usage{{{C}}}", label_text="job")])
    b.graph("CPU: used vs allocated", [(f"slurm_proc_cpu_usage{{{J}}}", "used (% of one CPU)"),
                                       (f"slurm_job_cpu_alloc{{{J}}} * 100", "allocated (% of one CPU)")], "percent")
    b.graph("Memory: used vs allocated", [(f"slurm_proc_mem_usage{{{J}}}", "used"),
                                          (f"slurm_job_mem_alloc{{{J}}}", "allocated")], "bytes")
    b.graph("Threads and processes", [(f"slurm_proc_threadcount{{{J}}}", "threads"), (f"slurm_proc_pid{{{J}}}", "pid")])
    b.graph("I/O", [(f"rate(slurm_proc_read_bytes{{{J}}}[$__rate_interval])", "read"),
                    (f"rate(slurm_proc_write_bytes{{{J}}}[$__rate_interval])", "write")], "Bps")
    return b


BOARDS = {"overview": overview, "partition": partition, "users": users, "node": node, "scheduler": scheduler,
          "job-trace": job_trace}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    check = "--check" in sys.argv[1:]
    stale = []
    for name, make in BOARDS.items():
        path = os.path.join(here, f"slurmpush-{name}.json")
        text = json.dumps(make().json(), indent=2, ensure_ascii=False) + "\n"
        if check:
            if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
                stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    for p in stale:
        print(f"{os.path.basename(p)} differs from build.py's: run deploy/grafana/build.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
