#!/usr/bin/env python3
"""trace_test.py SLURMPUSH FIXTURES — the trace endpoint as wrappers and attackers see it, on 127.0.0.1:
the seed wrapper's own body is accepted; a table of bad requests each gets its status; entries expire;
the table is bounded; bearer tokens; concurrent posters (bounded) leave the table consistent; garbage and
stalled connections never stop /metrics. Prints one line per check and 'N passed, N failed'."""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import check, fixture_args, free_port, summary

BIN, FIX = sys.argv[1], sys.argv[2]


def defaults(lab):
    """The fixture's arguments but its jobs and nodes commands (given below as the seed's flags)."""
    return [a for a in fixture_args(BIN, lab) if "jobs.command" not in a and "nodes.command" not in a]


def start(*extra):
    port = free_port()
    lab = f"{FIX}/lab-22.05"
    p = subprocess.Popen([BIN, f"--web.listen-address=127.0.0.1:{port}", "--slurm.poll-limit=1", "-trace.enabled",
                          f"--slurm.squeue-cli=cat {lab}/squeue.txt", f"--slurm.sinfo-cli=cat {lab}/sinfo.txt", *defaults(lab), *extra],
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            request(port, "GET", "/-/healthy")
            return p, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("slurmpush did not start")


def request(port, method, path, body=None, headers=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


JSON = {"Content-Type": "application/json"}
GOOD = {"job_id": 3, "pid": 4242, "cpus": 55.5, "threads": 3, "mem": 104857600, "read_bytes": 2048, "write_bytes": 4096,
        "username": "alice", "hostname": "node0"}


def body(**changes):
    b = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            b.pop(k)
        else:
            b[k] = v
    return json.dumps(b)


def raw(port, data, timeout=3):
    """Sends data as it is; returns the status line's code (0: the connection ended without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        try:
            head = c.recv(64)
        except OSError:
            return 0
    parts = head.split(b" ")
    return int(parts[1]) if head.startswith(b"HTTP/1.") and len(parts) > 1 and parts[1].isdigit() else 0


def metric(port, line_start):
    text = request(port, "GET", "/metrics")[1].decode()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def hostile_http():
    """Strict HTTP, and connections that idle or trickle cannot lock a scrape out."""
    p, port = start("--web.request-timeout=2")
    try:
        good = json.dumps(GOOD).encode()
        head = b"POST /trace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        code = raw(port, head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(good), len(good) + 5) + good)
        check("two different Content-Length headers: 400", code == 400, code)
        # (a NUL inside a header value: libmicrohttpd 0.9.75 ends the value there, so no check can see it; README)
        code = raw(port, b"GET /metrics HTTP/1.1\r\nX-No-Host: 1\r\n\r\n")
        check("HTTP/1.1 without Host: 400", code == 400, code)
        code = raw(port, b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n")
        check("a space before a header's colon: 400", code == 400, code)
        code = raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xff" * 40 + b"\r\n\r\n")
        check("a TLS hello on the plain port is answered at once (400) or closed", code in (0, 400), code)
        # 40 idle connections from this address (all users of a login node share one)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        t0 = time.monotonic()
        status, _ = request(port, "GET", "/metrics", timeout=2)
        took = time.monotonic() - t0
        check(f"/metrics answers beside 40 idle connections ({took * 1000:.0f} ms)", status == 200 and took < 1, status)
        # 130 connections that trickle a header byte at a time: more than the listener keeps
        slow = []
        for _ in range(130):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"G")
            slow.append(c)
        worst = 0
        for step in range(3):
            for c in slow:
                try:
                    c.send(b"E")
                except OSError:
                    pass
            t0 = time.monotonic()
            status, _ = request(port, "GET", "/metrics", timeout=2)
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.5)
        check(f"/metrics answers beside 130 trickling connections (worst {worst * 1000:.0f} ms)", status == 200 and worst < 1)
        time.sleep(2.5)
        ended = 0
        for c in slow + idle:
            c.settimeout(0.2)
            try:
                ended += c.recv(16) == b""
            except ConnectionResetError:
                ended += 1
            except OSError:
                pass
            c.close()
        check(f"connections without a whole request in 2 s are closed ({ended} of 170)", ended == 170, ended)
        deadline = metric(port, 'slurmpush_listener_connections_closed_total{reason="deadline"}')
        evicted = metric(port, 'slurmpush_listener_connections_closed_total{reason="evicted"}')
        check(f"and counted (deadline {deadline}, evicted {evicted})",
              deadline is not None and evicted is not None and deadline + evicted >= 170 and evicted > 0)
        check("the daemon is still running", p.poll() is None)
    finally:
        p.terminate()
        p.wait()


def token_rotation():
    """The trace token file is re-read when it changes; SIGHUP re-reads it too and does not stop the agent."""
    d = tempfile.mkdtemp()
    path = os.path.join(d, "token")
    with open(path, "w") as f:
        f.write("first-token\n")
    p, port = start(f"--trace.token-file={path}")
    try:
        auth = lambda t: dict(JSON, Authorization=f"Bearer {t}")
        check("token file: the first token works", request(port, "POST", "/trace", body(), auth("first-token"))[0] == 202)
        time.sleep(0.02)
        with open(path + ".new", "w") as f:
            f.write("second-token\n")
        os.rename(path + ".new", path)
        check("a rotated token works without a restart", request(port, "POST", "/trace", body(), auth("second-token"))[0] == 202)
        check("and the old one no longer", request(port, "POST", "/trace", body(), auth("first-token"))[0] == 401)
        os.kill(p.pid, 1)
        time.sleep(0.3)
        check("SIGHUP: the agent keeps running", p.poll() is None and request(port, "GET", "/-/healthy")[0] == 200)
        with open(path, "w") as f:
            f.write("")
        check("an emptied token file keeps the last good token",
              request(port, "POST", "/trace", body(), auth("second-token"))[0] == 202)
    finally:
        p.terminate()
        p.wait()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


def main():
    p, port = start("--trace.rate=1", "--trace.max-jobs=50", "--trace.max-body=4096")
    try:
        seed_body = open(f"{FIX}/seed/trace_info_body.json", "rb").read()
        status, _ = request(port, "POST", "/trace", seed_body, JSON)
        check("the seed wrapper's body is accepted (202)", status == 202, status)
        bad = [
            ("bad JSON", "{not json", JSON, 400),
            ("empty body", "", JSON, 400),
            ("JSON array", "[1,2]", JSON, 400),
            ("two objects", body() + body(), JSON, 400),
            ("job_id 0", body(job_id=0), JSON, 400),
            ("job_id negative", body(job_id=-5), JSON, 400),
            ("job_id float", body(job_id=10.0), JSON, 400),
            ("job_id string", body(job_id="10"), JSON, 400),
            ("job_id too large", body(job_id=2**62), JSON, 400),
            ("job_id beyond any integer", '{"job_id": 1e300, "pid": 1}', JSON, 400),
            ("job_id huge integer", body(job_id=2**80), JSON, 400),
            ("job_id missing", body(job_id=...), JSON, 400),
            ("hostname missing", body(hostname=...), JSON, 400),
            ("username missing", body(username=...), JSON, 400),
            ("cpus missing", body(cpus=...), JSON, 400),
            ("cpus string", body(cpus="lots"), JSON, 400),
            ("mem negative", body(mem=-1), JSON, 400),
            ("threads null", body(threads=None), JSON, 400),
            ("hostname empty", body(hostname=""), JSON, 400),
            ("hostname number", body(hostname=7), JSON, 400),
            ("hostname with newline", body(hostname="a\nb"), JSON, 400),
            ("username too long", body(username="u" * 300), JSON, 400),
            ("pid float", body(pid=1.5), JSON, 400),
            ("a trailing comma (not JSON)", body()[:-1] + ",}", JSON, 400),
            ("a comment (not JSON)", "/* hi */" + body(), JSON, 400),
            ("username not UTF-8 (Latin-1 bytes)", body(username="PLACEHOLDER").encode().replace(b"PLACEHOLDER", b"caf\xe9"), JSON, 400),
            ("no content type", body(), {}, 415),
            ("form content type", body(), {"Content-Type": "application/x-www-form-urlencoded"}, 415),
            ("text content type", body(), {"Content-Type": "text/plain"}, 415),
            ("oversize body", body(username="u" * 200) + " " * 5000, JSON, 413),
        ]
        for name, data, headers, want in bad:
            status, reply = request(port, "POST", "/trace", data, headers)
            check(f"{name}: {want}", status == want and (want == 202 or reply.strip()), f"got {status} {reply[:80]!r}")
        for method in ("PUT", "DELETE", "PATCH"):
            status, _ = request(port, method, "/trace", body(), JSON)
            check(f"{method} /trace: 405", status == 405, status)
        status, _ = request(port, "POST", "/trace", body(), JSON)
        check("a good body: 202", status == 202, status)
        status, listing = request(port, "GET", "/trace")
        entries = json.loads(listing)
        check("GET /trace lists the live entries as JSON", status == 200 and {e["job_id"] for e in entries} == {3, 10},
              listing[:200])
        time.sleep(2.5)
        status, metrics = request(port, "GET", "/metrics")
        text = metrics.decode()
        check("traces expire after --trace.rate", json.loads(request(port, "GET", "/trace")[1]) == [])
        check("request counters count every outcome",
              f'slurmpush_trace_requests_total{{code="400"}} {sum(w == 400 for *_, w in bad)}' in text
              and 'slurmpush_trace_requests_total{code="415"} 3' in text
              and 'slurmpush_trace_requests_total{code="413"} 1' in text and 'slurmpush_trace_requests_total{code="405"} 3' in text,
              [l for l in text.splitlines() if "trace_requests" in l])

        # bounded table: 50 (job, host) entries, the 51st distinct one is refused, updates still work
        statuses = [request(port, "POST", "/trace", body(job_id=100 + i, hostname=f"n{i}"), JSON)[0] for i in range(50)]
        check("50 distinct traces fit", statuses == [202] * 50, statuses[-3:])
        status, _ = request(port, "POST", "/trace", body(job_id=999, hostname="over"), JSON)
        check("the 51st distinct trace: 429", status == 429, status)
        status, _ = request(port, "POST", "/trace", body(job_id=100, hostname="n0"), JSON)
        check("an update of a present trace still works when full", status == 202, status)
        time.sleep(1.2)

        # concurrent posters (8 threads x 100 posts over 10 jobs x 4 hosts), bounded
        def poster(t):
            for i in range(100):
                request(port, "POST", "/trace", body(job_id=200 + i % 10, hostname=f"h{t % 4}", cpus=float(t)), JSON)

        threads = [threading.Thread(target=poster, args=(t,)) for t in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        listing = json.loads(request(port, "GET", "/trace")[1])
        keys = sorted((e["job_id"], e["hostname"]) for e in listing if e["job_id"] >= 200)
        check(f"800 concurrent posts in {time.monotonic() - t0:.2f}s: exactly 40 consistent entries",
              keys == sorted((200 + j, f"h{h}") for j in range(10) for h in range(4)), len(keys))

        # hostile connections: garbage, a stalled upload, then /metrics still answers at once
        s1 = socket.create_connection(("127.0.0.1", port))
        s1.sendall(b"\x00\xff garbage \r\n\r\n")
        s2 = socket.create_connection(("127.0.0.1", port))
        s2.sendall(b"POST /trace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"job")
        t0 = time.monotonic()
        status, _ = request(port, "GET", "/metrics")
        check("/metrics answers while a client stalls mid-upload", status == 200 and time.monotonic() - t0 < 0.5)
        s1.close()
        s2.close()
        check("the daemon is still running", p.poll() is None)
    finally:
        p.terminate()
        p.wait()
    hostile_http()
    token_rotation()

    # bearer token read from a file
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("s3cret-token\n")
    p, port = start(f"--trace.token-file={f.name}")
    try:
        status, _ = request(port, "POST", "/trace", body(), JSON)
        check("token set: no Authorization: 401", status == 401, status)
        status, _ = request(port, "POST", "/trace", body(), dict(JSON, Authorization="Bearer wrong"))
        check("token set: wrong token: 401", status == 401, status)
        status, _ = request(port, "POST", "/trace", body(), dict(JSON, Authorization="Bearer s3cret-token"))
        check("token set: right token: 202", status == 202, status)
        metrics = request(port, "GET", "/metrics")[1].decode()
        check("the token is nowhere in /metrics", "s3cret" not in metrics)
    finally:
        p.terminate()
        p.wait()
        os.unlink(f.name)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
