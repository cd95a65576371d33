#!/usr/bin/env python3
"""json_shapes.py SRC_DIR OUT_DIR — rewrite Slurm 22.05's `squeue --json` / `sinfo --json` (openapi v0.0.38)
into the data_parser shapes of Slurm 23.02+ (v0.0.41 style): job_state arrays, {set, infinite, number}
numbers, and `sinfo -N --json`'s per node-and-partition "sinfo" entries. The lab runs 22.05 only, so this
is how the newer shapes are tested on the very same cluster state (the result is a fixture, not real output)."""
import json
import sys


def num(v):
    if v is None:
        return {"set": False, "infinite": False, "number": 0}
    if v >= 4294967294:
        return {"set": False, "infinite": True, "number": 0}
    return {"set": True, "infinite": False, "number": v}


def meta():
    return {"plugin": {"type": "", "name": "", "data_parser": "data_parser/v0.0.41", "accounting_storage": ""},
            "Slurm": {"version": {"major": "24", "micro": "5", "minor": "05"}, "release": "24.05.5"}}


def jobs(src):
    out = []
    for j in src["jobs"]:
        out.append({
            "account": j["account"], "job_id": j["job_id"], "user_name": j["user_name"], "partition": j["partition"],
            "job_state": [j["job_state"]], "cpus": num(j["cpus"]), "memory_per_node": num(j.get("memory_per_node")),
            "memory_per_cpu": num(j.get("memory_per_cpu")), "state_reason": j["state_reason"],
            "state_description": j["state_description"], "tres_alloc_str": j["tres_alloc_str"],
            "tres_req_str": j["tres_req_str"], "features": j["features"],
        })
    return {"meta": meta(), "jobs": out, "warnings": [], "errors": []}


def nodes(src):
    out = []
    for n in src["nodes"]:
        state = [n["state"].upper()] + list(n.get("state_flags") or [])
        for p in n["partitions"]:
            free = n["free_memory"]
            out.append({
                "node": {"state": state},
                "nodes": {"allocated": 0, "idle": 0, "other": 0, "total": 1, "hostnames": [n["hostname"]], "nodes": [n["name"]]},
                "cpus": {"allocated": n["alloc_cpus"], "idle": n["idle_cpus"],
                         "other": max(n["cpus"] - n["alloc_cpus"] - n["idle_cpus"], 0), "total": n["cpus"],
                         "load": {"minimum": n["cpu_load"], "maximum": n["cpu_load"]}},
                "memory": {"minimum": n["real_memory"], "maximum": n["real_memory"], "allocated": n["alloc_memory"],
                           "free": {"minimum": num(free if free >= 0 else None), "maximum": num(free if free >= 0 else None)}},
                "weight": {"minimum": n["weight"], "maximum": n["weight"]},
                "partition": {"name": p},
            })
    return {"meta": meta(), "sinfo": out, "warnings": [], "errors": []}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    for name, conv in (("squeue.json", jobs), ("sinfo.json", nodes)):
        with open(f"{src}/{name}") as f:
            data = conv(json.load(f))
        with open(f"{dst}/{name}", "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
