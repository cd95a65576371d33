#!/usr/bin/env python3
"""dashboards_test.py PROMETHEUS_URL CLUSTER DASHBOARD.json... — every query of every panel returns data.

As Grafana would: each dashboard's variables are resolved in order from their own label_values()
queries against the Prometheus (`cluster` is pinned to CLUSTER; a variable that includes "All" takes
it, the regex .*; any other takes its first value), then each panel target's expression, with the
variables and Grafana's interval macros filled in, is run as an instant query. A query without a
series is a failure: a panel on a family slurmpush does not emit, or on a label it does not set.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

MACROS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m"}


def query(base, expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def fill(text, values):
    for k, v in MACROS.items():
        text = text.replace(k, v)
    for name in sorted(values, key=len, reverse=True):  # $user before $u
        text = text.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return text


def label_values(base, definition, values):
    m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)", definition.strip())
    if not m:
        raise ValueError(f"not a label_values() query: {definition}")
    selector, label = fill(m.group(1), values), m.group(2)
    return sorted({s["metric"].get(label, "") for s in query(base, f"group by ({label}) ({selector})")} - {""})


def resolve_variables(base, board, cluster):
    values, problems = {}, []
    for v in board["templating"]["list"]:
        if v["type"] == "datasource":
            continue
        found = label_values(base, v["definition"], values)
        if not found:
            problems.append(f"variable {v['name']}: {v['definition']} has no values")
            values[v["name"]] = "none"
        elif v["name"] == "cluster":
            if cluster not in found:
                problems.append(f"variable cluster: {cluster} not among {found}")
            values["cluster"] = cluster
        else:
            values[v["name"]] = v.get("allValue", ".*") if v.get("includeAll") else found[0]
    return values, problems


def main():
    base, cluster, paths = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3:]
    fails = checked = 0
    for path in paths:
        board = json.load(open(path, encoding="utf-8"))
        name = board["title"]
        bad = []
        if board.get("schemaVersion", 0) < 36:
            bad.append("schemaVersion < 36")
        ds = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
        if not ds or ds[0]["name"] != "datasource":
            bad.append("no ${datasource} variable")
        values, problems = resolve_variables(base, board, cluster)
        bad += problems
        for p in board["panels"]:
            if p["type"] == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                bad.append(f"panel {p['title']!r}: datasource is not ${{datasource}}")
            for t in p["targets"]:
                expr = fill(t["expr"], values)
                checked += 1
                try:
                    n = len(query(base, expr))
                except Exception as e:  # a query Prometheus refuses is a broken panel too
                    bad.append(f"panel {p['title']!r}: {expr}: {e}")
                    continue
                if not n:
                    bad.append(f"panel {p['title']!r}: no data for {expr}")
        for b in bad:
            print(f"FAIL - {name}: {b}")
        if not bad:
            print(f"ok   - {name}: every query has data ({', '.join(f'{k}={v}' for k, v in values.items())})")
        fails += len(bad)
    print(f"dashboards: {checked} queries, {fails} problems")
    return 1 if fails or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
