"""mserve-server soak: 64 concurrent keep-alive clients for 30 s
(MSERVE_SOAK_SECONDS), bounded well under a minute. Every answer is a 200,
/metrics counts what the clients counted, no connection is left open once
they close, and the resident set does not grow after warm-up."""
import http.client
import json
import os
import threading
import time
from urllib.parse import urlparse

from support import SANITIZED, SLOW, ServerTest, http as call, run_tests

CLIENTS = 64
SECONDS = float(os.environ.get("MSERVE_SOAK_SECONDS", "30"))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]


class Soak(ServerTest):
    def test_64_clients(self):
        self.mar("soak", sizes=(16, 32, 4), settings={"batchSize": 16, "maxBatchDelay": 2, "minWorkers": 2,
                                                       "maxWorkers": 2, "jobQueueSize": 1000})
        s = self.start()
        u = urlparse(s.inf)
        body = json.dumps({"data": [[0.25] * 16]})
        stop = time.monotonic() + SECONDS
        counts = [dict() for _ in range(CLIENTS)]
        errors = []

        def client(i):
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=30 * SLOW)
            try:
                while time.monotonic() < stop:
                    c.request("POST", "/predictions/soak", body, {"Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    counts[i][r.status] = counts[i].get(r.status, 0) + 1
                    if r.status != 200 and len(errors) < 5:
                        errors.append((r.status, data[:200]))
            except Exception as e:  # a dropped connection is a failure of the test
                errors.append(repr(e))
            finally:
                c.close()
        ts = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in ts:
            t.start()
        time.sleep(SECONDS / 3)
        rss_warm = rss_kib(s.p.pid)
        for t in ts:
            t.join()
        rss_end = rss_kib(s.p.pid)
        self.assertEqual(errors, [])
        total = {}
        for c in counts:
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        self.assertEqual(list(total), [200])
        self.assertGreater(total[200], CLIENTS)
        # the server's counts are the clients' counts
        self.assertEqual(s.requests_counted("soak", 200), total[200])
        m = s.metrics()
        lab = frozenset([("model", "soak"), ("version", "1.0")])
        self.assertEqual(m[("mserve_request_duration_seconds_count", lab)], total[200])
        self.assertEqual(m[("mserve_batch_size_sum", lab)], total[200])
        # every client closed its connection: none is left open (the metrics scrape's own is on another API
        # but counts too, so wait for exactly that one)
        for _ in range(100):
            if s.metrics()[("mserve_open_connections", frozenset())] <= 1:
                break
            time.sleep(0.05)
        self.assertLessEqual(s.metrics()[("mserve_open_connections", frozenset())], 1)
        # memory: steady after warm-up (no per-request leak: tens of thousands of requests would show).
        # Under ASan freed memory sits in its quarantine (256 MB) and the RSS grows until that fills:
        # there LeakSanitizer's check at exit (the exit status below) is the leak test.
        if not SANITIZED:
            self.assertLess(rss_end, rss_warm * 1.25 + 4096, (rss_warm, rss_end, total))
        print("soak: %d requests in %.0f s (%.0f/s), RSS %d -> %d KiB" % (total[200], SECONDS, total[200] / SECONDS,
                                                                        rss_warm, rss_end))
        self.assertEqual(call("GET", s.inf + "/ping")[0], 200)
        self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    run_tests()
