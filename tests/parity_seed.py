#!/usr/bin/env python3
"""parity_seed.py OURS SEED [--skip FAMILY=REASON ...] — slurmpush against what the seed exporter v1.7.0
printed for the same input: every series of every slurm_* family the seed printed must be in slurmpush's
output with the same value, and slurmpush must add no series to those families, except the families a
--skip names with the documented seed bug (README) that slurmpush does not copy."""
import argparse
import math
import re
import sys

ALWAYS_SKIPPED = {
    "slurm_node_scrape_duration": "a wall time",
    "slurm_job_scrape_duration": "a wall time",
    "slurm_diag_scrape_duration": "a wall time",
    "slurm_limit_scrape_duration": "a wall time",
}
RENAMED = {"job_scrape_errors": "slurm_job_scrape_error"}  # B1

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \S+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def load(path, ignore=("cluster",)):
    out = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        labels = tuple(sorted((k, v) for k, v in LABEL.findall(m.group(2) or "") if k not in ignore))
        out.setdefault(m.group(1), {})[labels] = float(m.group(3))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("seed")
    ap.add_argument("--skip", action="append", default=[], help="FAMILY=REASON")
    ap.add_argument("--only", help="regular expression: compare only these families")
    a = ap.parse_args()
    skipped = dict(ALWAYS_SKIPPED, **dict(s.split("=", 1) for s in a.skip))
    ours, seed = load(a.ours), load(a.seed)
    problems, compared = [], 0
    for fam in sorted(seed):
        if not fam.startswith("slurm_") or fam in skipped or (a.only and not re.search(a.only, fam)):
            continue
        s, o = seed[fam], ours.get(fam, {})
        for key in sorted(set(s) | set(o)):
            compared += 1
            sv, ov = s.get(key), o.get(key)
            if sv is None or ov is None or not math.isclose(sv, ov, rel_tol=1e-12):
                problems.append(f"{fam}{dict(key)}: seed {sv}, slurmpush {ov}")
    for old, new in RENAMED.items():
        if old in seed and new not in ours:
            problems.append(f"{new} (the seed's {old}) missing")
    for p in problems:
        print("DIFF", p)
    print(f"parity_seed: {compared} series compared, {len(problems)} differences; skipped as documented: "
          + "; ".join(f"{k} ({v})" for k, v in sorted(skipped.items())))
    return 1 if problems or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
