"""The Python side of bench-bindings: the loops of bindings_c.c through the mserve package.

usage: bindings_py.py DB SECONDS   (mserve importable, MSERVE_LIBRARY set)
"""
import json
import sys
import time

import mserve

POOL = 1024


def tracker_rate(db, seconds):
    with mserve.Store(db) as store, store.tracker() as t:
        ids = ["s%d" % i for i in range(POOL)]
        scopes = ("keypair:AK1", "user:alice")
        lease = mserve.SEC(60)
        admit, release = t.admit, t.release
        i = pairs = 0
        start = end = 0.0
        while True:
            if i == 2000:
                start = time.monotonic()
            if i > 2000 and (i & 63) == 0:
                end = time.monotonic()
                if end - start >= seconds:
                    break
            sid = ids[i % POOL]
            admit(sid, scopes, lease_us=lease)
            release(sid)
            if i >= 2000:
                pairs += 1
            i += 1
        return pairs / (end - start)


def batcher_rate(seconds):
    with mserve.Batcher() as b:
        submit, poll = b.submit, b.poll
        i = reqs = 0
        start = end = 0.0
        while True:
            if i == 20000:
                start = time.monotonic()
            if i > 20000 and (i & 1023) == 0:
                end = time.monotonic()
                if end - start >= seconds:
                    break
            submit(i)
            x = poll()
            if x is None or len(x.requests) != 1:
                raise SystemExit("bindings_py: poll gave no batch of one")
            if i >= 20000:
                reqs += 1
            i += 1
        return reqs / (end - start)


def main():
    db, seconds = sys.argv[1], float(sys.argv[2])
    print(json.dumps({"lang": "python", "tracker_pairs_per_s": round(tracker_rate(db, seconds), 1),
                      "batcher_reqs_per_s": round(batcher_rate(seconds), 1)}))


if __name__ == "__main__":
    main()
