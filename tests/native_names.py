#!/usr/bin/env python3
"""native_names.py SLURMPUSH FIXTURES README — Slurm's own family names computed from the CLI, against
Slurm's own endpoint. Two real Slurm 26.05 captures (fixtures/slurm-26.05.5 and its states/, the CLI
output and the endpoint bodies of the same cluster a moment apart) are replayed through slurmpush
(jobs with --collector.jobs.users-accts, nodes, diags). For every series Slurm's endpoint serves:
slurmpush has it with the same labels and value, unless the README's differences table says
otherwise (left out: absent; bytes: Slurm's MB × 2^20; closest: present). Every family of Slurm's is
either computed or listed, and slurmpush has no series under Slurm's names that Slurm lacks.
The scheduler families are compared by name only here: sdiag text and the endpoint were read a
moment apart (a backfill cycle ran between); their values are checked against the sdiag text by
check_counts.py. With --live the same comparison runs on a live lab's output (tests/integration/modern.sh)."""
import os
import re
import subprocess
import sys

BIN, FIX, README = sys.argv[1:4]  # or: --live FIX README OURS BODIES_DIR
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok else f" ({detail})"), flush=True)


def parse(text):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out[(m.group(1), tuple(sorted(LABEL.findall(m.group(2) or ""))))] = float(m.group(3))
    return out


def differences():
    text = open(README).read()
    block = text.split("<!-- native-differences:begin -->")[1].split("<!-- native-differences:end -->")[0]
    kinds = {}
    for row in block.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) >= 2:
            for fam in re.findall(r"`([a-z_:]+)`", cells[0]):
                kinds[fam] = cells[1]
    return kinds


def compare(label, ours_text, bodies, kinds):
    """Checks slurmpush's text output against Slurm's endpoint bodies (endpoint name -> text)."""
    ours, theirs, scheduler = parse(ours_text), {}, set()
    for ep, text in bodies.items():
        body = parse(text)
        theirs.update(body)
        if ep == "scheduler":
            scheduler |= {k[0] for k in body}
    families = {k[0] for k in theirs}
    missing, wrong, extra = [], [], []
    for key, value in theirs.items():
        fam, kind = key[0], kinds.get(key[0], "")
        if kind == "left out":
            if key in ours:
                extra.append(f"{fam} is listed as left out but present")
            continue
        if key not in ours:
            missing.append(f"{fam}{dict(key[1])}")
            continue
        if fam in scheduler or kind == "closest":
            continue
        want = value * 2**20 if kind == "bytes" else value
        if abs(ours[key] - want) > 1e-9 * max(1, abs(want)):
            wrong.append(f"{fam}{dict(key[1])}: Slurm {value}, slurmpush {ours[key]}")
    extra += [f"{k[0]}{dict(k[1])}" for k in ours if k[0] in families and k not in theirs]
    n = sum(1 for k in theirs if kinds.get(k[0]) != "left out")
    check(f"{label}: every series of Slurm's endpoint is there ({n} of {len(theirs)}; the rest listed as left out)",
          not missing, missing[:5])
    check(f"{label}: same values, series by series (bytes where the name says bytes)", not wrong, wrong[:5])
    check(f"{label}: no series under Slurm's names that Slurm does not have", not extra, extra[:5])
    listed_unknown = [f for f in kinds if f not in families]
    check(f"{label}: every family the README lists is one of Slurm's", not listed_unknown, listed_unknown[:5])
    uncomputed = sorted(f for f in families if f not in {k[0] for k in ours} and kinds.get(f) != "left out")
    check(f"{label}: every family of Slurm's is computed or listed ({len(families)} families)", not uncomputed, uncomputed[:5])


ENDPOINTS = ("jobs", "nodes", "partitions", "scheduler", "jobs-users-accts")
kinds = differences()
check("the README lists differences", len(kinds) > 20, len(kinds))
if BIN == "--live":  # native_names.py --live FIX README OURS BODIES_DIR: a lab's output and its endpoint bodies
    ours_file, bodies_dir = sys.argv[4:6]
    compare("live", open(ours_file).read(), {ep: open(f"{bodies_dir}/metrics-{ep}.txt").read() for ep in ENDPOINTS}, kinds)
else:
    for capture, cli in (("slurm-26.05.5", "lab-26.05"), ("slurm-26.05.5/states", "lab-26.05-states")):
        only = subprocess.run(["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_args.sh"), BIN, "-",
                               "only", "jobs", "nodes", "diags"], capture_output=True, text=True, check=True).stdout.split()
        run = subprocess.run([BIN, "--dry-run", *only, "--collector.diags", "--collector.jobs.users-accts",
                              f"--collector.jobs.command=cat {FIX}/{cli}/squeue.txt",
                              f"--collector.nodes.command=cat {FIX}/{cli}/sinfo.txt",
                              f"--collector.diags.command=cat {FIX}/{cli}/sdiag.txt"],
                             capture_output=True, text=True, timeout=60)
        check(f"{capture}: slurmpush ran", run.returncode == 0, run.stderr[-300:])
        compare(capture, run.stdout, {ep: open(f"{FIX}/{capture}/metrics-{ep}.txt").read() for ep in ENDPOINTS}, kinds)
print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
