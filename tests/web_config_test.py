#!/usr/bin/env python3
"""web_config_test.py SLURMPUSH FIXTURES — --web.config.file as node_exporter's users write it, on 127.0.0.1:
TLS (certificates made here with openssl: a CA, a server certificate, client certificates good, expired and
from another CA), basic auth with bcrypt hashes, response headers, for /metrics and /trace alike; TLS 1.3 only;
a re-read on SIGHUP (a new certificate, new users; a broken file keeps what runs); start-up errors; the
refusals counted. Prints one line per check and 'N passed, N failed'."""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

from harness import check, fixture_args, free_port, summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt hashes for the test's users (Python 3.11: deprecated, still there)
BIN, FIX = sys.argv[1], sys.argv[2]
LAB = f"{FIX}/lab-22.05"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(d):
    """A CA; the server's certificate (127.0.0.1) and two clients' from it; one expired; one from another CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", *ec, "-days", "2", "-subj", f"/CN={ca}", "-keyout", f"{d}/{ca}.key", "-out", f"{d}/{ca}.pem")
    for name, ca, days, san in (("server", "ca", "2", "IP:127.0.0.1"), ("server2", "ca", "2", "IP:127.0.0.1"),
                                ("client", "ca", "2", None), ("expired", "ca", "-1", None), ("stranger", "otherca", "2", None)):
        openssl("req", *ec, "-subj", f"/CN={name}", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr")
        ext = f"{d}/{name}.ext"
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n" if san else "extendedKeyUsage=clientAuth\n")
        openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{ca}.pem", "-CAkey", f"{d}/{ca}.key", "-CAcreateserial",
                "-days", days, "-extfile", ext, "-out", f"{d}/{name}.pem")


def defaults():
    return fixture_args(BIN, LAB)


class Agent:
    def __init__(self, config, log):
        self.port = free_port()
        self.log = log
        self.p = subprocess.Popen([BIN, f"--web.listen-address=127.0.0.1:{self.port}", "--slurm.poll-limit=1", "--trace.enabled",
                                   f"--web.config.file={config}", *defaults()], stderr=open(log, "w"))

    def wait_log(self, text, seconds=5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if text in open(self.log).read():
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=20)


def context(d, ca="ca.pem", cert=None, max_tls=None):
    ctx = ssl.create_default_context(cafile=f"{d}/{ca}")
    if cert:
        ctx.load_cert_chain(f"{d}/{cert}.pem", f"{d}/{cert}.key")
    if max_tls:
        ctx.maximum_version = max_tls
    return ctx


def request(port, ctx, path="/metrics", user=None, password=None, method="GET", body=None, headers=None):
    """(status, headers, body) over TLS with ctx (None: plain HTTP); (None, error) when no answer came."""
    h = dict(headers or {})
    if user is not None:
        h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        c = (http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5) if ctx
             else http.client.HTTPConnection("127.0.0.1", port, timeout=5))
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.headers, data
    except (OSError, http.client.HTTPException) as e:
        return None, None, str(e).encode()


def wait_up(agent, ctx, **auth):
    for _ in range(100):
        status, _, _ = request(agent.port, ctx, "/-/ready", **auth)
        if status == 200:
            return True
        time.sleep(0.05)
    return False


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def metric(body, name, label):
    for line in body.decode().splitlines():
        if line.startswith(f'{name}{{reason="{label}"}} '):
            return float(line.split()[-1])
    return None


def main():
    d = tempfile.mkdtemp(prefix="slurmpush-webcfg-")
    make_certificates(d)
    alice = crypt.crypt("alice-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    carol = crypt.crypt("carol-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    cfg = f"{d}/web.yml"

    # ---- start-up errors: one clear line, exit 2
    for text, says in (("tls_server_config:\n  cert_file: server.pem\n", "cert_file without key_file"),
                       ("tls_server_config:\n  cert_file: nothere.pem\n  key_file: server.key\n", "cannot read"),
                       ("basic_auth_users:\n  alice: plain\n", "not a bcrypt hash"),
                       ("tls_srever_config: {}\n", "unknown key")):
        write(cfg, text)
        port = free_port()
        p = subprocess.run([BIN, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={cfg}", *defaults()],
                           capture_output=True, text=True, timeout=20)
        check(f"a bad web config is a start-up error: {says}", p.returncode == 2 and says in p.stderr and cfg in p.stderr,
              f"exit {p.returncode}: {p.stderr.strip()[-300:]}")

    # ---- TLS and basic auth, /metrics and /trace alike
    write(cfg, "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
               "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n"
               f"basic_auth_users:\n  alice: {alice}\n")
    a = Agent(cfg, f"{d}/a.log")
    tls = context(d)
    check("TLS + basic auth: up", wait_up(a, tls, user="alice", password="alice-pw"))
    status, headers, body = request(a.port, tls, user="alice", password="alice-pw")
    check("the right password: 200 with the fixture's cpus (10)", status == 200 and b"\nslurm_cpus_total 10\n" in b"\n" + body)
    check("the configured header is on the response", headers and headers.get("Strict-Transport-Security") == "max-age=31536000")
    refusals = 0
    for what, auth in (("no password", {}), ("a wrong password", {"user": "alice", "password": "nope"}),
                       ("an unknown user", {"user": "mallory", "password": "alice-pw"}),
                       ("an empty password", {"user": "alice", "password": ""})):
        status, headers, _ = request(a.port, tls, **auth)
        refusals += 1
        check(f"{what}: 401 with a Basic challenge", status == 401 and "Basic" in (headers or {}).get("WWW-Authenticate", ""),
              f"{status}")
    for path in ("/-/healthy", "/trace", "/"):
        status, _, _ = request(a.port, tls, path)
        refusals += 1
        check(f"{path} is protected too: 401", status == 401, f"{status}")
    post = {"job_id": 3, "pid": 4242, "cpus": 55.5, "threads": 3, "mem": 104857600, "read_bytes": 2048, "write_bytes": 4096,
            "username": "alice", "io_wait": 0.5, "hostname": "c1"}
    status, _, _ = request(a.port, tls, "/trace", method="POST", body=json.dumps(post),
                           headers={"Content-Type": "application/json"})
    refusals += 1
    check("a trace post without the password: 401", status == 401, f"{status}")
    status, _, _ = request(a.port, tls, "/trace", user="alice", password="alice-pw", method="POST", body=json.dumps(post),
                           headers={"Content-Type": "application/json"})
    check("a trace post with it: 202", status == 202, f"{status}")
    status, _, err = request(a.port, None, user="alice", password="alice-pw")
    check("plain HTTP to the TLS listener gets no answer", status is None, f"{status}")
    status, _, err = request(a.port, context(d, ca="otherca.pem"), user="alice", password="alice-pw")
    check("a client that trusts another CA refuses the server", status is None and b"CERTIFICATE_VERIFY_FAILED" in err, err[:120])
    time.sleep(1.5)  # a cycle: /metrics carries the counters
    _, _, body = request(a.port, tls, user="alice", password="alice-pw")
    counted = metric(body, "slurmpush_listener_refused_total", "password")
    check(f"the refusals are counted ({counted} of {refusals})", counted == refusals)

    # ---- SIGHUP: a new certificate and new users at once; then a broken file keeps what runs
    write(cfg, "tls_server_config:\n  cert_file: server2.pem\n  key_file: server2.key\n"
               f"basic_auth_users:\n  carol: {carol}\n")
    a.p.send_signal(signal.SIGHUP)
    check("SIGHUP: re-read and logged", a.wait_log("TLS settings changed"))
    status, _, _ = request(a.port, tls, user="carol", password="carol-pw")
    cert = ssl.get_server_certificate(("127.0.0.1", a.port))
    check("SIGHUP: the new user gets in, with the new certificate",
          status == 200 and cert.strip() == open(f"{d}/server2.pem").read().strip(), f"{status}")
    status, _, _ = request(a.port, tls, user="alice", password="alice-pw")
    check("SIGHUP: the old user is refused", status == 401, f"{status}")
    write(cfg, "tls_server_config:\n  cert_file: server.pem\n")
    a.p.send_signal(signal.SIGHUP)
    check("SIGHUP with a broken file: logged", a.wait_log("keeping the running one"))
    status, _, _ = request(a.port, tls, user="carol", password="carol-pw")
    check("SIGHUP with a broken file: the running configuration stays", status == 200, f"{status}")
    a.stop()
    check("TLS agent: clean stop", a.p.returncode == 0, f"exit {a.p.returncode}")

    # ---- client certificates (RequireAndVerifyClientCert), TLS 1.3 only
    write(cfg, "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n"
               "  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS13\n")
    b = Agent(cfg, f"{d}/b.log")
    good = context(d, cert="client")
    check("client certificates: up", wait_up(b, good))
    status, _, body = request(b.port, good)
    check("a client certificate from the CA: 200", status == 200 and b"slurm_cpus_total" in body, f"{status}")
    for what, ctx in (("no client certificate", context(d)), ("an expired one", context(d, cert="expired")),
                      ("one from another CA", context(d, cert="stranger"))):
        status, _, err = request(b.port, ctx)
        check(f"{what}: refused (403)", status == 403, f"{status} {err[:100]}")
    status, _, err = request(b.port, context(d, cert="client", max_tls=ssl.TLSVersion.TLSv1_2))
    check("min_version TLS13: a TLS 1.2 client gets no answer", status is None, f"{status}")
    time.sleep(1.5)
    _, _, body = request(b.port, good)
    counted = metric(body, "slurmpush_listener_refused_total", "client_certificate")
    check(f"client certificate refusals are counted ({counted} of 3)", counted == 3)
    b.stop()
    subprocess.run(["rm", "-rf", d])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
