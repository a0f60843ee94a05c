"""Tracker: limits, admit/release/renew, denials, ticks across threads, reconcile, 8 threads."""
import threading
import time
import unittest

from support import TempDirTest, mserve

T0 = 1_700_000_000_000_000  # a fixed Unix-epoch time in µs


class TrackerTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.store = mserve.Store(self.path("t.db"))
        self.t = self.store.tracker()

    def tearDown(self):
        self.store.close()
        super().tearDown()

    def test_admit_until_the_limit_then_a_limit_error_with_the_denial(self):
        self.t.set_limit("keypair:AK1", 2)
        self.assertEqual(self.t.get_limit("keypair:AK1"), 2)
        self.assertIsNone(self.t.get_limit("user:nobody"))
        self.t.admit("s1", ["keypair:AK1", "user:alice"], now_us=T0)
        self.t.admit("s2", ("keypair:AK1",), now_us=T0)
        self.t.admit("s2", ("keypair:AK1",), now_us=T0)  # a retry counts once
        with self.assertRaises(mserve.LimitError) as cm:
            self.t.admit("s3", ["user:bob", "keypair:AK1"], now_us=T0)
        e = cm.exception
        self.assertEqual((e.scope, e.limit, e.used), ("keypair:AK1", 2, 2))
        self.assertEqual(e.status, mserve.ELIMIT)
        self.assertIn("s3", e.message)
        self.assertEqual(self.t.used("keypair:AK1", now_us=T0), 2)
        self.assertEqual(self.t.used("user:bob", now_us=T0), 0)
        self.assertTrue(self.t.release("s1", now_us=T0))
        self.assertFalse(self.t.release("s1", now_us=T0))
        self.t.admit("s3", ["user:bob", "keypair:AK1"], now_us=T0)

    def test_classes_are_limited_apart(self):
        self.t.set_limit("user:a", 0, mserve.CLASS_SYSTEM)
        self.t.admit("c1", "user:a", now_us=T0)
        with self.assertRaises(mserve.LimitError):
            self.t.admit("y1", "user:a", cls=mserve.SessionClass.SYSTEM, now_us=T0)
        self.t.set_limit("user:a", None, mserve.CLASS_SYSTEM)
        self.t.admit("y1", "user:a", cls=mserve.SessionClass.SYSTEM, now_us=T0)
        self.assertEqual(self.t.used("user:a", mserve.CLASS_SYSTEM, now_us=T0), 1)

    def test_conflicting_readmission(self):
        self.t.admit("s1", "user:a", now_us=T0)
        with self.assertRaises(mserve.ConflictError):
            self.t.admit("s1", "user:b", now_us=T0)

    def test_leases_held_renew_next_expiry_purge(self):
        self.assertIsNone(self.t.next_expiry())
        self.t.admit("s1", "user:a", lease_us=mserve.SEC(10), now_us=T0)
        held = self.t.held("s1", now_us=T0)
        self.assertEqual(held, mserve.Held(mserve.CLASS_COMPUTE, T0 + mserve.SEC(10)))
        self.assertEqual(self.t.next_expiry(), T0 + mserve.SEC(10))
        self.t.renew("s1", mserve.SEC(20), now_us=T0)
        self.assertEqual(self.t.next_expiry(), T0 + mserve.SEC(20))
        self.assertIsNone(self.t.held("s1", now_us=T0 + mserve.SEC(20)))
        with self.assertRaises(mserve.NotFoundError):
            self.t.renew("s1", mserve.SEC(1), now_us=T0 + mserve.SEC(21))
        self.assertEqual(self.t.purge(now_us=T0 + mserve.SEC(21)), 1)
        self.assertIsNone(self.t.next_expiry())

    def test_defaults_now_to_the_realtime_clock(self):
        self.t.admit("s1", "user:a", lease_us=mserve.SEC(60))
        h = self.t.held("s1")
        self.assertLessEqual(abs(h.expires_us - mserve.SEC(60) - mserve.realtime_us()), mserve.SEC(5))

    def test_tick_admits_see_each_other_and_commit_at_once(self):
        self.t.set_limit("user:a", 2)
        with self.t.begin() as tick:
            tick.admit("s1", "user:a", now_us=T0)
            tick.admit("s2", "user:a", now_us=T0)
            with self.assertRaises(mserve.LimitError) as cm:
                tick.admit("s3", "user:a", now_us=T0)
            self.assertEqual(cm.exception.used, 2)
            self.assertTrue(tick.release("s2", now_us=T0))
        self.assertTrue(tick.closed)
        self.assertEqual(self.t.used("user:a", now_us=T0), 1)

    def test_tick_rolls_back_on_an_exception(self):
        with self.assertRaises(RuntimeError):
            with self.t.begin() as tick:
                tick.admit("s1", "user:a", now_us=T0)
                raise RuntimeError("predicate failed")
        self.assertEqual(self.t.used("user:a", now_us=T0), 0)
        with self.assertRaises(mserve.ClosedError):
            tick.admit("s2", "user:a", now_us=T0)

    def test_tick_moves_between_threads(self):
        tick = self.t.begin()
        done = []

        def step(i):
            tick.admit("s%d" % i, "user:a", now_us=T0)
            done.append(i)

        for i in range(4):  # each admit on a new thread, one after the other
            th = threading.Thread(target=step, args=(i,))
            th.start()
            th.join()
        committer = threading.Thread(target=tick.commit)
        committer.start()
        committer.join()
        self.assertEqual(done, [0, 1, 2, 3])
        self.assertEqual(self.t.used("user:a", now_us=T0), 4)

    def test_the_thread_in_a_tick_gets_busy_from_other_calls(self):
        tick = self.t.begin()
        tick.admit("s1", "user:a", now_us=T0)
        with self.assertRaises(mserve.BusyError):
            self.t.used("user:a", now_us=T0)
        tick.rollback()
        self.assertEqual(self.t.used("user:a", now_us=T0), 0)

    def test_closing_the_tracker_rolls_back_its_open_tick(self):
        tick = self.t.begin()
        tick.admit("s1", "user:a", now_us=T0)
        self.t.close()
        self.assertTrue(tick.closed)
        with self.store.tracker() as t2:
            self.assertEqual(t2.used("user:a", now_us=T0), 0)

    def test_reconcile_replaces_the_sets(self):
        self.t.admit("s1", "user:a", now_us=T0)
        self.t.admit("s2", "user:a", now_us=T0)
        with self.t.reconcile() as r:
            r.add("s2", "user:a")
            r.add("s9", ["user:a", "user:b"])
        self.assertEqual(self.t.used("user:a", now_us=T0), 2)
        self.assertEqual(self.t.used("user:b", now_us=T0), 1)
        r = self.t.reconcile("user:b")
        r.add("s9", ["user:b"])
        self.assertEqual(r.commit(now_us=T0), (0, 0))
        r2 = self.t.reconcile()
        r2.add("x", "user:z")
        r2.rollback()
        self.assertEqual(self.t.used("user:z", now_us=T0), 0)

    def test_eight_threads_never_over_admit(self):
        self.t.set_limit("user:shared", 10)
        admitted, denied, errors = [], [], []
        barrier = threading.Barrier(8)

        def work(i):
            barrier.wait()
            for k in range(25):
                sid = "w%d-%d" % (i, k)
                try:
                    self.t.admit(sid, ["user:shared", "user:w%d" % i], now_us=T0)
                    admitted.append(sid)
                except mserve.LimitError as e:
                    if e.limit != 10 or e.used != 10 or e.scope != "user:shared":
                        errors.append((e.scope, e.limit, e.used))
                    denied.append(sid)
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(admitted), 10)
        self.assertEqual(len(denied), 190)
        self.assertEqual(self.t.used("user:shared", now_us=T0), 10)

    def _hammer(self, calls, n_threads=4):
        """n_threads threads making calls(i) until a ClosedError; (threads, successes, unexpected)."""
        ok, unexpected, started = [0] * n_threads, [], threading.Barrier(n_threads + 1)

        def run(k):
            started.wait()
            i = 0
            while True:
                try:
                    calls(k, i)
                    ok[k] += 1
                except (mserve.LimitError, mserve.BusyError):
                    pass
                except mserve.ClosedError:
                    return
                except BaseException as e:  # noqa: BLE001 - reported by the test
                    unexpected.append(e)
                    return
                i += 1

        threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        started.wait()
        for _ in range(3000):  # until each is well into its loop (or stopped)
            if all(n >= 20 or not t.is_alive() for n, t in zip(ok, threads)):
                break
            time.sleep(0.01)
        return threads, ok, unexpected

    def test_closing_the_store_while_threads_use_its_tracker(self):
        def calls(k, i):
            sid = "s%d-%d" % (k, i)
            self.t.admit(sid, ["user:%d" % k], now_us=T0)
            self.t.used("user:%d" % k, now_us=T0)
            self.t.release(sid, now_us=T0)

        threads, _, unexpected = self._hammer(calls)
        self.store.close()  # while they are inside admit, used and release
        for t in threads:
            t.join(30)
        self.assertEqual([t for t in threads if t.is_alive()], [])
        self.assertEqual(unexpected, [])
        self.assertTrue(self.t.closed and self.store.closed)
        with self.assertRaises(mserve.ClosedError):
            self.t.admit("late", ["user:x"])
        with self.assertRaises(mserve.ClosedError):
            self.store.tracker()

    def test_commit_waits_for_the_ticks_calls_in_flight(self):
        self.t.set_limit("keypair:R", 10**6)
        tick = self.t.begin()
        threads, ok, unexpected = self._hammer(
            lambda k, i: tick.admit("r%d-%d" % (k, i), ["keypair:R"], now_us=T0))
        tick.commit()  # while they are inside tick.admit
        for t in threads:
            t.join(30)
        self.assertEqual(unexpected, [])
        self.assertTrue(tick.closed)
        # every admit that returned is committed, none after the commit is
        self.assertEqual(self.t.used("keypair:R", now_us=T0), sum(ok))


if __name__ == "__main__":
    unittest.main()
