"""Batcher: cuts by size and delay, deadlines, fd, cancel, full, shutdown, configure, threads."""
import select
import threading
import unittest

from support import TempDirTest, mserve, write_mar

OK, TIMEDOUT, CANCELED = mserve.Status.OK, mserve.Status.ETIMEDOUT, mserve.Status.ECANCELED


class BatcherTest(TempDirTest):
    def test_a_full_batch_is_due_at_once_a_partial_one_after_the_delay(self):
        with mserve.Batcher(max_batch=4, max_delay_us=1000) as b:
            for i in range(6):
                b.submit(i, now_us=100)
            batch = b.poll(now_us=100)
            self.assertEqual((batch.status, [r.id for r in batch.requests], batch.items), (OK, [0, 1, 2, 3], 4))
            self.assertEqual(batch.formed_us, 100)
            self.assertEqual(batch.requests[0], mserve.Request(0, 1, 100))
            self.assertIsNone(b.poll(now_us=200))
            self.assertEqual(b.next_deadline(), 1100)
            self.assertEqual(b.stats(now_us=600), mserve.Stats(2, 2, 500))
            self.assertEqual([r.id for r in b.poll(now_us=1100).requests], [4, 5])
            self.assertIsNone(b.next_deadline())

    def test_fd_is_readable_while_a_batch_is_due(self):
        with mserve.Batcher(max_batch=2, max_delay_us=mserve.SEC(10)) as b:
            fd = b.fileno()
            b.submit(1, now_us=1)
            self.assertEqual(select.select([fd], [], [], 0)[0], [])
            b.submit(2, now_us=2)
            self.assertEqual(select.select([b], [], [], 0)[0], [b])
            b.poll(now_us=3)
            self.assertEqual(select.select([fd], [], [], 0)[0], [])

    def test_errors_cancel_timeouts_and_shutdown(self):
        with mserve.Batcher(max_batch=2, max_delay_us=mserve.SEC(1), max_queue=2) as b:
            b.set_queue_policy(action=mserve.TimeoutAction.REJECT, default_timeout_us=50)
            b.submit(1, now_us=0)
            with self.assertRaises(mserve.ExistsError):
                b.submit(1, now_us=0)
            with self.assertRaises(mserve.InvalidError):
                b.submit(9, items=3, now_us=0)
            b.submit(2, items=1, now_us=10)
            with self.assertRaises(mserve.FullError) as cm:
                b.submit(3, now_us=10)
            self.assertIn("2", cm.exception.message)
            b.cancel(2)
            with self.assertRaises(mserve.NotFoundError):
                b.cancel(77)
            self.assertEqual([(x.status, [r.id for r in x.requests]) for x in (b.poll(now_us=55), b.poll(now_us=55))],
                             [(TIMEDOUT, [1]), (CANCELED, [2])])
            b.submit(4, now_us=70)
            b.shutdown()
            with self.assertRaises(mserve.ClosedError):
                b.submit(5, now_us=80)
            self.assertEqual(b.poll(now_us=80).status, CANCELED)
            with self.assertRaises(mserve.ClosedError):
                b.poll(now_us=80)
        with self.assertRaises(mserve.ClosedError):
            b.submit(6)

    def test_priorities_preferred_sizes_and_configure_from_a_model(self):
        with mserve.Store(":memory:") as store, store.registry() as reg:
            m = reg.register(write_mar(self.path("m.mar"), "m", config="batchSize: 3\nmaxBatchDelay: 5\n"))
            b = mserve.Batcher(model=m)
            b.set_priority_levels(2, default_level=2)
            b.set_preferred_sizes([2])
            b.submit(1, now_us=0)
            b.submit(2, priority=1, now_us=0)
            self.assertEqual([r.id for r in b.poll(now_us=0).requests], [2, 1])
            b.set_preferred_sizes([])
            b.submit(3, now_us=1)
            self.assertIsNone(b.poll(now_us=1))
            self.assertEqual(b.next_deadline(), 5001)
            b.set_max_batch(1)
            b.set_max_delay(0)
            self.assertEqual([r.id for r in b.poll(now_us=2).requests], [3])
            b.close()

    def test_submitters_and_waiters_on_threads_hand_each_request_out_once(self):
        b = mserve.Batcher(max_batch=8, max_delay_us=200)
        got, lock = [], threading.Lock()

        def worker():
            for batch in b:  # until shut down and drained
                with lock:
                    got.extend(r.id for r in batch.requests)

        def submitter(k):
            for i in range(500):
                b.submit(k * 1000 + i)

        workers = [threading.Thread(target=worker) for _ in range(3)]
        subs = [threading.Thread(target=submitter, args=(k,)) for k in range(4)]
        for t in workers + subs:
            t.start()
        for t in subs:
            t.join()
        b.shutdown()
        for t in workers:
            t.join()
        b.close()
        self.assertEqual(sorted(got), sorted(k * 1000 + i for k in range(4) for i in range(500)))

    def test_wait_times_out_with_none(self):
        with mserve.Batcher() as b:
            self.assertIsNone(b.wait(1000))

    def test_close_while_other_threads_wait_and_submit(self):
        b = mserve.Batcher(max_batch=4, max_delay_us=100)
        unexpected, started = [], threading.Barrier(6)

        def worker():
            started.wait()
            try:
                for _ in b:  # ends with the ClosedError of a closed batcher
                    pass
            except BaseException as e:  # noqa: BLE001 - reported below
                unexpected.append(e)

        def submitter(k):
            started.wait()
            i = 0
            while True:
                try:
                    b.submit(k * 10**9 + i)
                    b.stats()
                except mserve.FullError:
                    pass
                except mserve.ClosedError:
                    return
                except BaseException as e:  # noqa: BLE001
                    unexpected.append(e)
                    return
                i += 1

        threads = [threading.Thread(target=worker) for _ in range(3)]
        threads += [threading.Thread(target=submitter, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        started.wait()
        b.close()  # while threads are inside wait() and submit()
        for t in threads:
            t.join(30)
        self.assertEqual([t for t in threads if t.is_alive()], [])
        self.assertEqual(unexpected, [])
        self.assertTrue(b.closed)
        for call in (lambda: b.submit(1), b.poll, b.wait, b.stats, b.fileno, b.shutdown, b.next_deadline,
                     lambda: b.set_max_batch(2), lambda: b.cancel(1)):
            with self.assertRaises(mserve.ClosedError):
                call()
        b.close()  # idempotent

    def test_close_from_several_threads_at_once(self):
        b = mserve.Batcher()
        waiter = threading.Thread(target=lambda: list(b))
        waiter.start()
        closers = [threading.Thread(target=b.close) for _ in range(4)]
        for t in closers:
            t.start()
        for t in closers + [waiter]:
            t.join(30)
            self.assertFalse(t.is_alive())
        self.assertTrue(b.closed)


if __name__ == "__main__":
    unittest.main()
