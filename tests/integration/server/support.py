"""Helpers of the mserve-server integration tests: a model store of
generated MLP archives, the server started on free loopback ports (port 0:
it prints the ports it got), HTTP through urllib and curl, and the
reference outputs of ms_executor_run (the server_ref helper).

Environment (set by tests/integration/server.cmake):
  MSERVE_SERVER       the mserve-server binary
  MSERVE_SERVER_REF   the reference runner (ms_executor_run on a model folder)
  MSERVE_SANITIZED    1 in sanitizer builds (tests that limit memory skip)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_archive  # noqa: E402

SERVER = os.environ.get("MSERVE_SERVER", "")
REF = os.environ.get("MSERVE_SERVER_REF", "")
SANITIZED = os.environ.get("MSERVE_SANITIZED", "") == "1"
# sanitizer builds run several times slower: every wait scales with this
SLOW = 4.0 if SANITIZED else 1.0


class Server:
    """One mserve-server process on free loopback ports."""

    def __init__(self, store, db=None, args=(), env=None):
        self.store = store
        cmd = [SERVER, "--model-store", store, "--json",
               "--inference-address", "127.0.0.1:0", "--management-address", "127.0.0.1:0",
               "--metrics-address", "127.0.0.1:0"]
        if db:
            cmd += ["--db", db]
        cmd += list(args)
        self.errpath = tempfile.mktemp(prefix="mserve-server-stderr-")
        self.err = open(self.errpath, "w+")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, env=e, text=True)
        line = self.p.stdout.readline()
        if not line:
            self.p.wait(30)
            raise RuntimeError("mserve-server did not start (exit %s): %s" % (self.p.returncode, self.stderr()))
        self.ready = json.loads(line)
        if not self.ready["ok"]:
            self.p.wait(30)
            raise RuntimeError("mserve-server did not start (exit %s): %s" % (self.p.returncode, self.ready))
        self.inf = self.ready["inference"]
        self.mgmt = self.ready["management"]
        self.metrics_url = self.ready["metrics"]

    def stderr(self):
        self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise
        self.p.stdout.close()
        self.err.close()
        os.unlink(self.errpath)
        return rc

    def metrics(self):
        """{(name, frozenset(labels)): value} of /metrics."""
        st, text = http("GET", self.metrics_url + "/metrics", raw=True)
        assert st == 200
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, value = line.rsplit(" ", 1)
            if "{" in name_labels:
                name, rest = name_labels.split("{", 1)
                labels = []
                for part in rest.rstrip("}").split(","):
                    k, v = part.split("=", 1)
                    labels.append((k, json.loads(v)))
                out[(name, frozenset(labels))] = float(value)
            else:
                out[(name_labels, frozenset())] = float(value)
        return out

    def requests_counted(self, model, code, version="1.0"):
        return self.metrics().get(("mserve_requests_total", frozenset(
            [("model", model), ("version", version), ("code", str(code))])), 0.0)


def http(method, url, body=None, headers=None, raw=False, timeout=60):
    """(status, parsed JSON or text) of one request; never raises for an HTTP status."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout * SLOW) as r:
            st, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        st, text = e.code, e.read().decode()
    if raw:
        return st, text
    try:
        return st, json.loads(text)
    except ValueError:
        return st, text


def curl(*args):
    """(HTTP status, body) from curl."""
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def reference(mar_path, rows):
    """ms_executor_run's outputs for `rows` on the model of a .mar (extracted here)."""
    d = tempfile.mkdtemp(prefix="mserve-ref-")
    try:
        with zipfile.ZipFile(mar_path) as z:
            z.extractall(d)
        out = subprocess.run([REF, d], input=json.dumps(rows), capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("server_ref failed: " + out.stderr)
        return json.loads(out.stdout)
    finally:
        shutil.rmtree(d)


def assert_rows_close(test, got, want):
    """Every output within 1e-5 of its row's largest |output| (the executor's
    own tolerance: a batch of one row and a batch of many take different
    BLAS kernels)."""
    test.assertEqual(len(got), len(want))
    for g, w in zip(got, want):
        test.assertEqual(len(g), len(w))
        scale = max(1e-30, max(abs(v) for v in w))
        for a, b in zip(g, w):
            test.assertLessEqual(abs(a - b), 1e-5 * scale, (g, w))


class ServerTest(unittest.TestCase):
    """A scratch folder with a model store; servers started by a test are stopped after it."""

    def setUp(self):
        if not SERVER or not os.path.exists(SERVER):
            self.skipTest("MSERVE_SERVER is not set")
        self.tmp = tempfile.mkdtemp(prefix="mserve-server-test-")
        self.store = os.path.join(self.tmp, "store")
        os.mkdir(self.store)
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mar(self, name, sizes=(4, 8, 3), **kw):
        return mlp_archive.write_mlp_mar(os.path.join(self.store, kw.pop("file", name + ".mar")), name, list(sizes),
                                         **kw)

    def start(self, **kw):
        s = Server(self.store, **kw)
        self.servers.append(s)
        return s


def run_tests():
    r = unittest.main(exit=False, verbosity=2).result
    if r.testsRun and len(r.skipped) == r.testsRun:
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
