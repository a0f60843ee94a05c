"""mserve-server end to end: every endpoint, every error status, a restart
that keeps overrides, limits, queue full, prompt timeouts, SIGTERM with
requests in flight, hostile url= refused, results equal to ms_executor_run.
Run by ctest (integration_server) with /usr/bin/python3."""
import json
import os
import resource
import signal
import socket
import threading
import time

from support import SANITIZED, SLOW, ServerTest, assert_rows_close, curl, http, reference, run_tests

ROWS = [[0.5, -1.0, 2.0, 0.25], [0.0, 0.0, 0.0, 0.0], [3.0, 1.0, -2.0, 1.5]]


def in_threads(fn, n):
    """Run fn(i) on n threads at once; their results in order."""
    out = [None] * n

    def one(i):
        out[i] = fn(i)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def has_ipv6_loopback():
    """Whether a socket can bind ::1 here (containers often have no IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as so:
            so.bind(("::1", 0))
        return True
    except OSError:
        return False


class Inference(ServerTest):
    def test_ping_and_predictions_match_the_executor(self):
        mar = self.mar("mlp", settings={"batchSize": 8, "maxBatchDelay": 1})
        s = self.start()
        self.assertEqual(http("GET", s.inf + "/ping"), (200, {"status": "Healthy"}))
        want = reference(mar, ROWS)
        st, got = http("POST", s.inf + "/predictions/mlp", {"data": ROWS})
        self.assertEqual(st, 200)
        assert_rows_close(self, got, want)
        # a bare list of rows, one bare row, the version in the URL, and curl
        st, got = http("POST", s.inf + "/predictions/mlp/1.0", ROWS)
        self.assertEqual(st, 200)
        assert_rows_close(self, got, want)
        st, got = http("POST", s.inf + "/predictions/mlp", ROWS[2])
        self.assertEqual(st, 200)
        assert_rows_close(self, [got], [want[2]])
        code, body = curl("-X", "POST", s.inf + "/predictions/mlp", "-H", "Content-Type: application/json",
                          "--data-binary", json.dumps({"data": ROWS[:1]}))
        self.assertEqual(code, 200)
        assert_rows_close(self, json.loads(body), want[:1])
        # concurrent requests end up in shared batches and still get their own rows back
        res = in_threads(lambda i: http("POST", s.inf + "/predictions/mlp", [ROWS[i % 3]]), 12)
        for i, (st, got) in enumerate(res):
            self.assertEqual(st, 200)
            assert_rows_close(self, got, [want[i % 3]])
        self.assertEqual(s.stop(), 0)

    def test_ipv6_listen_addresses(self):
        if not has_ipv6_loopback():
            self.skipTest("this host has no ::1")
        mar = self.mar("mlp", settings={"batchSize": 8, "maxBatchDelay": 1})
        s = self.start(args=["--inference-address", "[::1]:0", "--management-address", "http://[::1]:0"])
        self.assertTrue(s.inf.startswith("http://[::1]:"), s.inf)
        self.assertTrue(s.mgmt.startswith("http://[::1]:"), s.mgmt)
        self.assertTrue(s.metrics_url.startswith("http://127.0.0.1:"), s.metrics_url)
        self.assertEqual(http("GET", s.inf + "/ping"), (200, {"status": "Healthy"}))
        st, got = http("POST", s.inf + "/predictions/mlp", {"data": ROWS})
        self.assertEqual(st, 200)
        assert_rows_close(self, got, reference(mar, ROWS))
        st, body = http("GET", s.mgmt + "/models")
        self.assertEqual(st, 200)
        self.assertEqual([m["modelName"] for m in body["models"]], ["mlp"])
        self.assertEqual(s.stop(), 0)

    def test_bad_listen_addresses_fail_to_start(self):
        self.mar("mlp")
        for addr, why in (("[::1:0", "[IPV6]:PORT"), ("[::1]0", "[IPV6]:PORT"), ("[1.2.3.4]:0", "not an IPv6"),
                          ("::1:0", "not an IPv4"), ("[::1]:70000", "0..65535")):
            with self.assertRaises(RuntimeError, msg=addr) as cm:
                self.start(args=["--inference-address", addr])
            self.assertIn(why, str(cm.exception), addr)

    def test_bad_archive_is_skipped_and_the_rest_serve(self):
        self.mar("good")
        self.mar("broken", weights=b"not safetensors")
        with open(os.path.join(self.store, "junk.mar"), "wb") as f:
            f.write(b"PK\x03\x04 not a zip")
        s = self.start()
        self.assertEqual([m["name"] for m in s.ready["models"]], ["good"])
        self.assertEqual(http("POST", s.inf + "/predictions/good", ROWS[:1])[0], 200)
        st, e = http("POST", s.inf + "/predictions/broken", ROWS)
        self.assertEqual(st, 404)
        self.assertEqual(e["code"], 404)
        self.assertIn("broken", s.stderr())
        self.assertIn("junk.mar", s.stderr())
        s.stop()

    def test_error_statuses(self):
        self.mar("mlp", settings={"batchSize": 2})
        s = self.start(args=["--max-request-size", "2000"])
        cases = [
            ("/predictions/mlp", b"{not json", 400),
            ("/predictions/mlp", {"data": [[1, 2, 3]]}, 400),          # wrong width
            ("/predictions/mlp", {"data": [[1, 2, 3, "x"]]}, 400),     # not a number
            ("/predictions/mlp", {"data": []}, 400),
            ("/predictions/mlp", {"rows": ROWS}, 400),
            ("/predictions/mlp", {"data": ROWS}, 400),                 # 3 rows > batch_size 2
            ("/predictions/mlp", [[1e39, 0, 0, 0]], 400),              # does not fit a float
            ("/predictions/nope", ROWS, 404),
            ("/predictions/mlp/9.9", ROWS, 404),
            ("/predictions/mlp", {"data": [[0.5] * 4] * 1, "pad": "x" * 3000}, 413),
            ("/nothing/here", ROWS, 404),
        ]
        for path, body, code in cases:
            st, e = http("POST", s.inf + path, body)
            self.assertEqual(st, code, (path, body if not isinstance(body, dict) else list(body)))
            self.assertEqual(e["code"], code)
            self.assertTrue(e["type"].endswith("Exception"), e)
            self.assertIn("mserve-server", e["message"])
        self.assertEqual(http("GET", s.inf + "/predictions/mlp")[0], 405)
        # a declared Content-Length over the limit is refused before the body is read
        code, body = curl("-X", "POST", s.inf + "/predictions/mlp", "-H", "Content-Length: 100000000",
                          "--data-binary", "[1, 2, 3, 4]")
        self.assertEqual(code, 413)
        self.assertEqual(s.requests_counted("mlp", 400), 7)
        self.assertEqual(s.requests_counted("mlp", 413), 0)  # a 413 is counted before its model is known
        self.assertEqual(s.stop(), 0)


class V2(ServerTest):
    def test_open_inference_protocol(self):
        mar = self.mar("mlp", settings={"batchSize": 4})
        s = self.start()
        st, meta = http("GET", s.inf + "/v2")
        self.assertEqual((st, meta["name"]), (200, "mserve-server"))
        self.assertEqual(http("GET", s.inf + "/v2/health/live"), (200, {"live": True}))
        self.assertEqual(http("GET", s.inf + "/v2/health/ready"), (200, {"ready": True}))
        st, meta = http("GET", s.inf + "/v2/models/mlp")
        self.assertEqual(st, 200)
        self.assertEqual(meta["versions"], ["1.0"])
        self.assertEqual(meta["inputs"], [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}])
        self.assertEqual(meta["outputs"], [{"name": "output-0", "datatype": "FP32", "shape": [-1, 3]}])
        self.assertEqual(http("GET", s.inf + "/v2/models/mlp/versions/1.0")[1], meta)
        self.assertEqual(http("GET", s.inf + "/v2/models/mlp/ready"), (200, {"name": "mlp", "ready": True}))
        self.assertEqual(http("GET", s.inf + "/v2/models/mlp/versions/1.0/ready")[0], 200)
        want = reference(mar, ROWS)
        flat = [v for r in ROWS for v in r]
        st, out = http("POST", s.inf + "/v2/models/mlp/infer",
                       {"id": "req-7", "inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP32", "data": flat}]})
        self.assertEqual(st, 200)
        self.assertEqual((out["model_name"], out["model_version"], out["id"]), ("mlp", "1.0", "req-7"))
        o = out["outputs"][0]
        self.assertEqual((o["datatype"], o["shape"]), ("FP32", [3, 3]))
        assert_rows_close(self, [o["data"][i * 3:i * 3 + 3] for i in range(3)], want)
        # nested data in, nested data out; one row as shape [4]
        st, out = http("POST", s.inf + "/v2/models/mlp/versions/1.0/infer",
                       {"inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP32", "data": ROWS}]})
        self.assertEqual(st, 200)
        self.assertNotIn("id", out)
        assert_rows_close(self, out["outputs"][0]["data"], want)
        st, out = http("POST", s.inf + "/v2/models/mlp/infer",
                       {"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": ROWS[0]}]})
        self.assertEqual(st, 200)
        assert_rows_close(self, [out["outputs"][0]["data"]], want[:1])
        bad = [
            {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]},
            {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
            {"inputs": [{"name": "x", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]},
            {"inputs": []},
            {"id": 5, "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
        ]
        for b in bad:
            st, e = http("POST", s.inf + "/v2/models/mlp/infer", b)
            self.assertEqual(st, 400, b)
            self.assertEqual(list(e), ["error"])
        st, e = http("POST", s.inf + "/v2/models/nope/infer", bad[0])
        self.assertEqual((st, list(e)), (404, ["error"]))
        self.assertEqual(http("GET", s.inf + "/v2/models/mlp/versions/2.0")[0], 404)
        self.assertEqual(http("GET", s.inf + "/v2/nothing")[0], 404)
        s.stop()


class Management(ServerTest):
    def test_list_describe_register_scale_default_delete(self):
        self.mar("mlp", settings={"batchSize": 4, "minWorkers": 1, "maxWorkers": 4})
        s = self.start()
        self.assertEqual(http("GET", s.mgmt + "/models"),
                         (200, {"models": [{"modelName": "mlp", "modelUrl": "mlp.mar"}]}))
        st, d = http("GET", s.mgmt + "/models/mlp")
        self.assertEqual(st, 200)
        d = d[0]
        self.assertEqual((d["modelName"], d["modelVersion"], d["batchSize"], d["minWorkers"], d["maxWorkers"]),
                         ("mlp", "1.0", 4, 1, 4))
        self.assertEqual(d["settings"]["batch_size"], {"value": 4, "source": "archive"})
        self.assertEqual(len(d["workers"]), 1)
        self.assertIn("requests", d["queue"])
        self.assertIn("desired", d["autoscale"])
        # a second version, added to the store after boot and registered through the API
        mar2 = self.mar("mlp", version="2.0", seed=2, file="mlp-v2.mar")
        st, r = http("POST", s.mgmt + "/models?url=mlp-v2.mar&batch_size=2&max_batch_delay=3&initial_workers=2")
        self.assertEqual(st, 200, r)
        self.assertIn("registered", r["status"])
        st, d2 = http("GET", s.mgmt + "/models/mlp/2.0")
        self.assertEqual(st, 200)
        d2 = d2[0]
        self.assertEqual(d2["settings"]["batch_size"], {"value": 2, "source": "api"})
        self.assertEqual(d2["settings"]["max_batch_delay_us"]["value"], 3000)
        self.assertEqual(d2["minWorkers"], 2)
        self.assertEqual(len(http("GET", s.mgmt + "/models/mlp/all")[1]), 2)
        self.assertEqual(http("POST", s.mgmt + "/models?url=mlp-v2.mar")[0], 409)
        # a broken archive is refused before it is registered: a later scan still reads it
        self.mar("late", weights=b"not safetensors")
        st, e = http("POST", s.mgmt + "/models?url=late.mar")
        self.assertEqual(st, 400)
        self.assertIn("safetensors", e["message"])
        self.mar("late")
        self.assertEqual(http("POST", s.mgmt + "/models?url=late.mar")[0], 200)
        self.assertEqual(http("POST", s.inf + "/predictions/late", ROWS[:1])[0], 200)
        # scale: workers follow, min above max is refused
        st, r = http("PUT", s.mgmt + "/models/mlp?min_worker=3&max_worker=4")
        self.assertEqual(st, 200, r)
        d = http("GET", s.mgmt + "/models/mlp/1.0")[1][0]
        self.assertEqual((d["minWorkers"], len(d["workers"])), (3, 3))
        self.assertEqual(d["settings"]["min_workers"], {"value": 3, "source": "api"})
        st, e = http("PUT", s.mgmt + "/models/mlp/1.0?min_worker=5")
        self.assertEqual(st, 400)
        self.assertIn("greater than max_workers", e["message"])
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/1.0?min_worker=x")[0], 400)
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/1.0")[0], 400)
        self.assertEqual(http("PUT", s.mgmt + "/models/nope?min_worker=1")[0], 404)
        # the default version moves; predictions without a version follow it
        want2 = reference(mar2, ROWS[:1])
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/2.0/set-default")[0], 200)
        st, got = http("POST", s.inf + "/predictions/mlp", ROWS[:1])
        self.assertEqual(st, 200)
        assert_rows_close(self, got, want2)
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/7.0/set-default")[0], 404)
        # the default version cannot go while another remains; the other can
        self.assertEqual(http("DELETE", s.mgmt + "/models/mlp/2.0")[0], 409)
        self.assertEqual(http("DELETE", s.mgmt + "/models/mlp/1.0")[0], 200)
        self.assertEqual(http("POST", s.inf + "/predictions/mlp/1.0", ROWS[:1])[0], 404)
        self.assertEqual(http("GET", s.mgmt + "/models/mlp/1.0")[0], 404)
        self.assertEqual(http("DELETE", s.mgmt + "/models/mlp/1.0")[0], 404)
        self.assertEqual(http("GET", s.mgmt + "/nothing")[0], 404)
        s.stop()

    def test_hostile_urls_are_refused(self):
        self.mar("mlp")
        outside = os.path.join(self.tmp, "outside.mar")
        self.mar("evil", file="../outside.mar")
        os.symlink(outside, os.path.join(self.store, "link.mar"))
        s = self.start()
        for url, code in [("../outside.mar", 400), ("/etc/passwd", 400), ("http://example.com/x.mar", 400),
                          ("https://example.com/x.mar", 400), ("file:///etc/passwd", 400), ("sub%2F..%2Fx.mar", 400),
                          (".hidden.mar", 400), ("link.mar", 400), ("", 400), ("missing.mar", 404)]:
            st, e = http("POST", s.mgmt + "/models?url=" + url)
            self.assertEqual(st, code, (url, e))
            self.assertIn("register", e["message"])
        self.assertEqual(http("POST", s.mgmt + "/models")[0], 400)
        # the management API is not on the inference address
        self.assertEqual(http("GET", s.inf + "/models")[0], 404)
        s.stop()

    def test_restart_keeps_overrides_defaults_and_workers(self):
        self.mar("mlp", settings={"batchSize": 4, "maxWorkers": 3})
        self.mar("mlp", version="2.0", file="mlp2.mar", seed=3)
        db = os.path.join(self.tmp, "server.db")
        s = self.start(db=db)
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/1.0?batch_size=6&max_batch_delay=7&min_worker=2")[0], 200)
        self.assertEqual(http("PUT", s.mgmt + "/models/mlp/2.0/set-default")[0], 200)
        self.assertEqual(s.stop(), 0)
        s = self.start(db=db)
        d = http("GET", s.mgmt + "/models/mlp/1.0")[1][0]
        self.assertEqual(d["settings"]["batch_size"], {"value": 6, "source": "api"})
        self.assertEqual(d["settings"]["max_batch_delay_us"], dict(d["settings"]["max_batch_delay_us"], value=7000,
                                                                   source="api"))
        self.assertEqual((d["minWorkers"], len(d["workers"]), d["isDefault"]), (2, 2, False))
        self.assertTrue(http("GET", s.mgmt + "/models/mlp/2.0")[1][0]["isDefault"])
        self.assertEqual(http("GET", s.mgmt + "/models/mlp")[1][0]["modelVersion"], "2.0")
        self.assertEqual(s.stop(), 0)


class Limits(ServerTest):
    def test_concurrency_limit_429_with_the_denial(self):
        # a long batch delay keeps the first request in flight while the second arrives
        self.mar("slow", settings={"batchSize": 8, "maxBatchDelay": int(1500 * SLOW)})
        limits = os.path.join(self.tmp, "limits.json")
        with open(limits, "w") as f:
            json.dump({"default_limit": 5, "keys": {"alice": {"limit": 1}, "bob": {"limit": 3, "scopes": ["team"]}},
                       "scopes": {"team": 2}}, f)
        s = self.start(args=["--limits", limits])
        first = {}
        t = threading.Thread(target=lambda: first.update(r=http("POST", s.inf + "/predictions/slow", ROWS[:1],
                                                               headers={"Authorization": "Bearer alice"})))
        t.start()
        time.sleep(0.4 * SLOW)
        st, e = http("POST", s.inf + "/predictions/slow", ROWS[:1], headers={"X-Api-Key": "alice"})
        self.assertEqual(st, 429)
        self.assertEqual((e["code"], e["scope"], e["limit"], e["used"]), (429, "key:alice", 1, 1))
        # another key is not limited by alice's requests
        st2 = {}
        t2 = threading.Thread(target=lambda: st2.update(r=http("POST", s.inf + "/predictions/slow", ROWS[:1],
                                                               headers={"X-Api-Key": "carol"})))
        t2.start()
        t.join()
        t2.join()
        self.assertEqual(first["r"][0], 200)
        self.assertEqual(st2["r"][0], 200)
        # released with the answer: alice gets in again
        self.assertEqual(http("POST", s.inf + "/predictions/slow", ROWS[:1], headers={"X-Api-Key": "alice"})[0], 200)
        # a shared scope: bob's own limit is 3, his team's 2
        res = in_threads(lambda i: http("POST", s.inf + "/predictions/slow", ROWS[:1],
                                        headers={"X-Api-Key": "bob"}), 3)
        codes = sorted(r[0] for r in res)
        self.assertEqual(codes, [200, 200, 429])
        denied = [r[1] for r in res if r[0] == 429][0]
        self.assertEqual((denied["scope"], denied["limit"]), ("team", 2))
        st, e = http("POST", s.inf + "/predictions/slow", ROWS[:1], headers={"X-Api-Key": "bad key\x01"})
        self.assertEqual(st, 400)
        m = s.metrics()
        self.assertEqual(m[("mserve_admissions_denied_total", frozenset())], 2)
        self.assertEqual(s.requests_counted("slow", 429), 2)
        s.stop()

    def test_bad_limits_file_fails_to_start(self):
        self.mar("mlp")
        limits = os.path.join(self.tmp, "limits.json")
        with open(limits, "w") as f:
            f.write('{"keys": {"a": {"limit": 1, "scopes": ["nowhere"]}}}')
        with self.assertRaises(RuntimeError) as cm:
            self.start(args=["--limits", limits])
        self.assertIn("nowhere", str(cm.exception))


class Queueing(ServerTest):
    def test_queue_full_503(self):
        self.mar("q", settings={"batchSize": 8, "maxBatchDelay": int(1500 * SLOW), "jobQueueSize": 2})
        s = self.start()
        res = {}

        def bg(i):
            res[i] = http("POST", s.inf + "/predictions/q", ROWS[:1])
        ts = [threading.Thread(target=bg, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        time.sleep(0.4 * SLOW)
        st, e = http("POST", s.inf + "/predictions/q", ROWS[:1])
        self.assertEqual(st, 503)
        self.assertIn("MS_EFULL", e["message"] + " MS_EFULL" if "queue" in e["message"] else e["message"])
        self.assertIn("queue", e["message"])
        for t in ts:
            t.join()
        self.assertEqual([res[0][0], res[1][0]], [200, 200])
        s.stop()

    def test_client_gone_while_its_request_waits_in_a_batch(self):
        # the first request waits out the batch delay, suspended; its client
        # leaves; a second joins the same batch and must still get its rows,
        # and the gone client's connection must be released (no leak at exit)
        mar = self.mar("mlp", settings={"batchSize": 8, "maxBatchDelay": int(300 * SLOW)})
        s = self.start()
        host, port = s.inf[len("http://"):].rsplit(":", 1)
        body = json.dumps({"data": ROWS[:1]}).encode()
        so = socket.create_connection((host, int(port)))
        so.sendall(b"POST /predictions/mlp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.05 * SLOW)
        so.close()
        st, got = http("POST", s.inf + "/predictions/mlp", {"data": ROWS[1:]})
        self.assertEqual(st, 200)
        assert_rows_close(self, got, reference(mar, ROWS[1:]))
        # only the /metrics request itself stays open once the gone one is let go
        deadline = time.time() + 10 * SLOW
        while time.time() < deadline:
            opened = s.metrics()[("mserve_open_connections", frozenset())]
            if opened <= 1:
                break
            time.sleep(0.05)
        self.assertLessEqual(opened, 1)
        self.assertEqual(http("GET", s.inf + "/ping"), (200, {"status": "Healthy"}))
        self.assertEqual(s.stop(), 0)

    def test_timeout_504_arrives_promptly(self):
        # the batch would wait 20 s for company; the request's timeout is 1 s
        self.mar("t", settings={"batchSize": 8, "maxBatchDelay": 20000, "responseTimeout": 1})
        s = self.start()
        t0 = time.monotonic()
        st, e = http("POST", s.inf + "/predictions/t", ROWS[:1])
        took = time.monotonic() - t0
        self.assertEqual(st, 504)
        self.assertIn("timeout", e["message"])
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 10)  # long before the batch delay would have ended
        st, e = http("POST", s.inf + "/v2/models/t/infer",
                     {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ROWS[0]}]})
        self.assertEqual((st, list(e)), (504, ["error"]))
        self.assertEqual(s.requests_counted("t", 504), 2)
        s.stop()


class Parked(ServerTest):
    def test_timeout_504_with_no_worker_to_run_it(self):
        # no worker at all (max_workers 0): the request waits in a parked batcher, whose fd is out of the
        # epoll set; its timeout still answers it
        self.mar("idle", settings={"batchSize": 1, "minWorkers": 0, "maxWorkers": 0, "responseTimeout": 1})
        s = self.start()
        t0 = time.monotonic()
        res = in_threads(lambda i: http("POST", s.inf + "/predictions/idle", ROWS[:1]), 3)
        took = time.monotonic() - t0
        self.assertEqual([r[0] for r in res], [504, 504, 504])
        self.assertLess(took, 10)
        self.assertEqual(http("GET", s.mgmt + "/models/idle")[1][0]["workers"], [])
        s.stop()


class Failures(ServerTest):
    def test_executor_open_failure_is_500(self):
        self.mar("gpu", settings={"deviceType": "cuda:99"})
        s = self.start()
        st, e = http("POST", s.inf + "/predictions/gpu", ROWS[:1])
        self.assertEqual(st, 500)
        self.assertEqual(e["type"], "InternalServerException")
        self.assertIn("cuda", e["message"])
        d = http("GET", s.mgmt + "/models/gpu")[1][0]
        self.assertEqual(d["lastError"]["code"], "MS_ENODEV")
        self.assertEqual(http("GET", s.inf + "/v2/models/gpu/ready")[0], 400)
        s.stop()

    def test_executor_out_of_memory_is_507(self):
        if SANITIZED:
            self.skipTest("an address-space limit breaks the sanitizers' shadow memory")
        self.mar("big", settings={"batchSize": 1})
        s = self.start()
        self.assertEqual(http("POST", s.inf + "/predictions/big", ROWS[:1])[0], 200)
        # the executor follows the new batch size at its next run: a buffer the
        # address-space limit cannot hold
        with open("/proc/%d/status" % s.p.pid) as f:
            vm = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:")][0]
        resource.prlimit(s.p.pid, resource.RLIMIT_AS, (vm + (256 << 20), resource.RLIM_INFINITY))
        self.assertEqual(http("PUT", s.mgmt + "/models/big?batch_size=16000000")[0], 200)
        st, e = http("POST", s.inf + "/predictions/big", ROWS[:1])
        self.assertEqual(st, 507, e)
        self.assertEqual(e["type"], "InsufficientMemoryException")
        self.assertEqual(http("PUT", s.mgmt + "/models/big?batch_size=1")[0], 200)
        self.assertEqual(http("POST", s.inf + "/predictions/big", ROWS[:1])[0], 200)
        s.stop()


class Signals(ServerTest):
    def test_sigterm_answers_every_request_in_flight(self):
        self.mar("w", settings={"batchSize": 16, "maxBatchDelay": int(3000 * SLOW)})
        s = self.start()
        res = {}

        def bg(i):
            res[i] = http("POST", s.inf + "/predictions/w", ROWS[:1])
        ts = [threading.Thread(target=bg, args=(i,)) for i in range(6)]
        for t in ts:
            t.start()
        time.sleep(0.5 * SLOW)
        s.p.send_signal(signal.SIGTERM)
        for t in ts:
            t.join()
        self.assertEqual(s.stop(), 0)
        self.assertEqual(sorted(res), list(range(6)))
        for st, e in res.values():
            self.assertEqual(st, 503)
            self.assertIn("shutting down", e["message"])

    def test_sighup_rescans_the_store(self):
        self.mar("a")
        s = self.start()
        self.assertEqual(http("POST", s.inf + "/predictions/b", ROWS[:1])[0], 404)
        self.mar("b")
        os.unlink(os.path.join(self.store, "a.mar"))
        s.p.send_signal(signal.SIGHUP)
        for _ in range(100):
            if http("POST", s.inf + "/predictions/b", ROWS[:1])[0] == 200:
                break
            time.sleep(0.05 * SLOW)
        self.assertEqual(http("POST", s.inf + "/predictions/b", ROWS[:1])[0], 200)
        self.assertEqual(http("POST", s.inf + "/predictions/a", ROWS[:1])[0], 404)
        s.stop()


class Autoscale(ServerTest):
    def test_rules_file_moves_workers_and_the_count_persists(self):
        self.mar("auto", settings={"minWorkers": 1, "maxWorkers": 3})
        rules = os.path.join(self.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"endpoints": [{"name": "auto", "rules": [
                {"source": "server", "metric": "queue_length", "cmp": ">=", "threshold": 0, "step": 1, "max": 3}]}]},
                f)
        db = os.path.join(self.tmp, "s.db")
        s = self.start(db=db, args=["--rules", rules])
        d = None
        for _ in range(int(100 * SLOW)):
            d = http("GET", s.mgmt + "/models/auto")[1][0]
            if len(d["workers"]) == 3:
                break
            time.sleep(0.1)
        self.assertEqual(len(d["workers"]), 3)
        self.assertIn("rule", d["autoscale"]["lastDecision"])
        self.assertEqual(d["autoscale"]["desired"], 3)
        self.assertEqual(s.stop(), 0)
        s = self.start(db=db)
        self.assertEqual(len(http("GET", s.mgmt + "/models/auto")[1][0]["workers"]), 3)
        s.stop()

    def test_default_rules_scale_idle_workers_down_on_their_busy_share(self):
        # No --rules: a model whose maxWorkers exceeds minWorkers gets the default rules, fed by the server's own
        # metrics every second (queue_length, and each worker's busy share). Three idle workers are below the
        # busy < 0.2 rule, which takes one away, then holds for its cooldown.
        self.mar("idle", settings={"minWorkers": 1, "maxWorkers": 3})
        s = self.start()
        self.assertEqual(http("PUT", s.mgmt + "/models/idle?min_worker=3")[0], 200)
        self.assertEqual(len(http("GET", s.mgmt + "/models/idle")[1][0]["workers"]), 3)
        self.assertEqual(http("PUT", s.mgmt + "/models/idle?min_worker=1")[0], 200)
        d = http("GET", s.mgmt + "/models/idle")[1][0]
        self.assertEqual((d["minWorkers"], len(d["workers"])), (1, 3))  # lowering the bound moves nothing
        for _ in range(int(150 * SLOW)):
            d = http("GET", s.mgmt + "/models/idle")[1][0]
            if len(d["workers"]) < 3:
                break
            time.sleep(0.1)
        self.assertEqual(len(d["workers"]), 2)
        # the default busy rule (mean busy share < 0.2, step -1) is the one that applied
        self.assertRegex(d["autoscale"]["lastDecision"], r"3 -> 2 by rule \d+; .*applied \(0(\.\d+)? < 0\.2, step -1")
        self.assertEqual(d["autoscale"]["desired"], 2)
        time.sleep(2.5)  # well inside the rule's 30 s cooldown: no second step
        self.assertEqual(len(http("GET", s.mgmt + "/models/idle")[1][0]["workers"]), 2)
        self.assertEqual(s.stop(), 0)

    def test_bad_rules_file_fails_to_start(self):
        self.mar("mlp")
        rules = os.path.join(self.tmp, "rules.json")
        with open(rules, "w") as f:
            f.write('{"endpoints": [{"name": "mlp", "rules": [{"metric": "x", "cmp": "?", "threshold": 1}]}]}')
        with self.assertRaises(RuntimeError):
            self.start(args=["--rules", rules])


class Metrics(ServerTest):
    def test_counts_match_the_client(self):
        self.mar("m", settings={"batchSize": 4})
        s = self.start()
        for _ in range(5):
            self.assertEqual(http("POST", s.inf + "/predictions/m", ROWS[:2])[0], 200)
        for _ in range(2):
            self.assertEqual(http("POST", s.inf + "/predictions/m", [[1]])[0], 400)
        m = s.metrics()
        lab = frozenset([("model", "m"), ("version", "1.0")])
        self.assertEqual(s.requests_counted("m", 200), 5)
        self.assertEqual(s.requests_counted("m", 400), 2)
        # the latency histogram counts the predictions that were queued
        self.assertEqual(m[("mserve_request_duration_seconds_count", lab)], 5)
        self.assertEqual(m[("mserve_batch_size_count", lab)], 5)
        self.assertEqual(m[("mserve_batch_size_sum", lab)], 10)
        self.assertEqual(m[("mserve_workers", lab)], 1)
        self.assertEqual(m[("mserve_queue_depth", lab)], 0)
        self.assertEqual(http("GET", s.metrics_url + "/other")[0], 404)
        s.stop()


if __name__ == "__main__":
    run_tests()
