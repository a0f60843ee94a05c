#!/usr/bin/env python3
"""A scheduling loop over the tracker: each tick admits pending jobs in one transaction.

Jobs are gangs of sessions that must start together under per-user and
per-project limits. In a tick, a job whose sessions do not all fit is undone
inside the tick (its admitted sessions released); at the end of the tick a
cluster-wide predicate (enough free GPUs for everything the tick admitted) is
checked, and a tick that fails it is rolled back whole, leaving no trace. A
committed tick makes its admissions durable with one commit.

    python3 scheduler.py [DATABASE]     (default: a temporary file)
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import mserve  # noqa: E402

# (job, user, project, sessions, GPUs per session)
JOBS = [("train-a", "alice", "vision", 2, 2), ("train-b", "bob", "vision", 3, 1),
        ("eval-c", "alice", "nlp", 1, 1), ("huge-d", "carol", "nlp", 2, 4),
        ("train-e", "alice", "vision", 2, 1), ("eval-f", "bob", "nlp", 1, 1)]
GPUS = 8  # the cluster's capacity: the predicate a tick must pass


def scopes(user, project):
    return ["user:" + user, "project:" + project]


def run_tick(tracker, pending, gpus_free, now_us):
    """Admit what fits of `pending` in one tick; returns (started jobs, GPUs they take)."""
    started, gpus = [], 0
    with tracker.begin() as tick:  # commits at the end of the block, rolls back on an exception
        for job, user, project, n, per in pending:
            sessions = ["%s/%d" % (job, k) for k in range(n)]
            admitted = []
            try:
                for sid in sessions:
                    tick.admit(sid, scopes(user, project), lease_us=mserve.SEC(3600), now_us=now_us)
                    admitted.append(sid)
            except mserve.LimitError as denial:
                for sid in admitted:  # the gang does not fit: undo its part of the tick
                    tick.release(sid, now_us=now_us)
                print("  %-8s waits: %s is full (%d of %d)" % (job, denial.scope, denial.used, denial.limit))
                continue
            started.append(job)
            gpus += n * per
        if gpus > gpus_free:
            print("  tick needs %d GPUs, %d free: rolled back" % (gpus, gpus_free))
            tick.rollback()
            return [], 0
    return started, gpus


def fitting(pending, gpus_free):
    """The pending jobs, in order, whose GPUs fit together in what is free."""
    out, total = [], 0
    for job in pending:
        if total + job[3] * job[4] <= gpus_free:
            out.append(job)
            total += job[3] * job[4]
    return out


def main():
    db = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "scheduler.db")
    now = 1_700_000_000_000_000
    with mserve.Store(db) as store, store.tracker() as tracker:
        tracker.set_limit("user:alice", 3)
        tracker.set_limit("user:bob", 3)
        tracker.set_limit("project:vision", 5)
        tracker.set_limit("project:nlp", 3)
        pending, gpus_free, tick_no = list(JOBS), GPUS, 0
        while pending:
            tick_no += 1
            # The first tick optimistically tries every job; later ones only what the free GPUs can take.
            batch = pending if tick_no == 1 else fitting(pending, gpus_free)
            if not batch:
                break
            print("tick %d: %d of %d pending jobs, %d GPUs free" % (tick_no, len(batch), len(pending), gpus_free))
            started, gpus = run_tick(tracker, batch, gpus_free, now)
            gpus_free -= gpus
            pending = [j for j in pending if j[0] not in started]
            print("  started: %s" % (", ".join(started) or "nothing"))
            if not started and tick_no > 1:
                break  # what is left waits for sessions to end
        used = {s: tracker.used(s, now_us=now) for s in ("user:alice", "user:bob", "project:vision", "project:nlp")}
        print("held: " + ", ".join("%s=%d" % kv for kv in used.items()))
        # What the tracker holds is exactly what was started: nothing of the rolled-back tick remains.
        expected = {}
        for job, user, project, n, per in JOBS:
            if job not in [p[0] for p in pending]:
                for s in scopes(user, project):
                    expected[s] = expected.get(s, 0) + n
        assert used == {s: expected.get(s, 0) for s in used}, (used, expected)
        assert GPUS - gpus_free == sum(n * per for job, _, _, n, per in JOBS if job not in [p[0] for p in pending])
    return 0


if __name__ == "__main__":
    sys.exit(main())
