#!/usr/bin/env python3
"""native_test.py SLURMPUSH FIXTURES — the native collector against a stand-in slurmctld on
127.0.0.1 that serves Slurm 26.05's real endpoint bodies (fixtures/slurm-26.05.5/metrics-*.txt):
every series slurmpush outputs equals the body's, parsed here independently; the token reaches
the server in either header and never the command line; a 500, a 404, a refused connection, a
hung server (timeout), garbage and an oversized body each fail the run with a reason and a
counter, and leave no series. Prints one line per check and 'N passed, N failed'."""
import http.server
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

BIN, FIX = sys.argv[1], sys.argv[2]
BODIES = {f"/metrics/{n}": open(f"{FIX}/slurm-26.05.5/metrics-{n}.txt", "rb").read()
          for n in ("jobs", "nodes", "partitions", "scheduler", "jobs-users-accts")}
results = []
seen_headers = []
mode = {"kind": "ok"}


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok else f" ({detail})"), flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        seen_headers.append(dict(self.headers))
        kind = mode["kind"]
        if kind == "hang":
            threading.Event().wait(3)
            return
        body = {"garbage": b"this is not\x00 metrics {\n", "big": b"x" * 4096 + b"\n"}.get(kind, BODIES.get(self.path))
        status = {"500": 500}.get(kind, 200 if body is not None else 404)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        if status == 200:
            self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
URL = f"http://127.0.0.1:{server.server_address[1]}"


def only(*names):
    """--collector.X=false for every collector but these (fixture_args.sh): later collectors change nothing here."""
    out = subprocess.run(["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_args.sh"), BIN, "-",
                          "only", *names], capture_output=True, text=True, check=True).stdout
    return out.split()


def run(*extra):
    p = subprocess.run([BIN, "--dry-run", *only("native"),
                        "--collector.native", f"--collector.native.url={URL}", *extra],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def series(text, prefix="slurm_"):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1).startswith(prefix):
            out[(m.group(1), tuple(sorted(LABEL.findall(m.group(3) or ""))))] = float(m.group(4))
    return out


def expected(paths):
    exp = {}
    for p in paths:
        exp.update(series(BODIES[p].decode()))
    return exp


# every series of the four default endpoints, as Slurm printed them (slurm_info etc. are off)
rc, out, err = run()
got = {k: v for k, v in series(out).items() if k[0] != "slurmpush_native_scrape_error"}
exp = expected(["/metrics/jobs", "/metrics/nodes", "/metrics/partitions", "/metrics/scheduler"])
check("exit 0", rc == 0, err[-300:])
check(f"every series of the 4 default endpoints, value for value ({len(exp)} series)", got == exp,
      f"missing {sorted(set(exp) - set(got))[:3]} extra {sorted(set(got) - set(exp))[:3]}")
check("HELP kept", "# HELP slurm_nodes_alloc Number of nodes in Allocated state" in out)
check("self-metrics name the collector", 'slurmpush_collector_success{collector="native"} 1' in out)
rc, out, err = run("--collector.native.paths=/metrics/jobs-users-accts")
check("the jobs-users-accts endpoint when asked for", series(out) == expected(["/metrics/jobs-users-accts"]))
rc, out, _ = run("--collector.jobs", f"--collector.jobs.command=cat {FIX}/synthetic-small/squeue.txt")  # another cluster: its counts differ
both = series(out)
check("with native on, the jobs collector leaves Slurm's names to it (no series twice)",
      both.get(("slurm_jobs", ())) == 17 and ("slurm_jobs_hold", ()) in both
      and ("slurm_jobs_cpus_alloc", ()) in both and "slurm_user_state_total" in {k[0] for k in both}
      and out.count("# TYPE slurm_jobs gauge") == 1, out[:300])
rc, out, _ = run("--label", "cluster=c1")
check("--label pairs added", all('cluster="c1"' in l for l in out.splitlines() if l.startswith("slurm_")))

with tempfile.NamedTemporaryFile("w", delete=False) as t:
    t.write("s3cr3t-jwt\n")
seen_headers.clear()
rc, out, err = run(f"--collector.native.token-file={t.name}")
check("token sent as X-SLURM-USER-TOKEN", all(h.get("X-SLURM-USER-TOKEN") == "s3cr3t-jwt" for h in seen_headers) and seen_headers)
seen_headers.clear()
run(f"--collector.native.token-file={t.name}", "--collector.native.token-header=bearer")
check("token sent as Authorization: Bearer", seen_headers and all(h.get("Authorization") == "Bearer s3cr3t-jwt" for h in seen_headers))
check("the token is never logged", "s3cr3t" not in err)
os.unlink(t.name)
rc, out, err = run("--collector.native.token-file=/nonexistent/token")
check("an unreadable token file fails the run, named", rc == 1 and "token file" in err)


def failing(name, *extra, want):
    rc, out, err = run(*extra)
    check(f"{name}: exit 1, a reason logged, no Slurm series, error counted",
          rc == 1 and re.search(want, err) and not series(out) and "slurmpush_native_scrape_error 1" in out, err[-300:])


mode["kind"] = "500"
failing("HTTP 500", want="HTTP status 500")
mode["kind"] = "ok"
failing("HTTP 404 (a wrong path)", "--collector.native.paths=/metrics/jobs,/metrics/nope", want="HTTP status 404")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
rc, out, err = run(f"--collector.native.url=http://127.0.0.1:{closed}")
check("refused connection: exit 1, reason logged", rc == 1 and "HTTP request failed" in err, err[-200:])
mode["kind"] = "hang"
failing("a server that never answers (timeout 1 s)", "--collector.native.timeout=1", want="timed out")
mode["kind"] = "garbage"
failing("garbage body", want="unexpected output at line 1")
mode["kind"] = "big"
failing("a body over --slurm.cli-max-output", "--slurm.cli-max-output=1000", want="larger than the cap")
mode["kind"] = "ok"
server.shutdown()
print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
