"""mserve.Error: one subclass per status, the message of the failing call, read on its thread."""
import threading
import unittest

from support import TempDirTest, mserve


class ErrorsTest(TempDirTest):
    def test_one_subclass_per_status(self):
        for status in mserve.Status:
            if status == mserve.OK:
                continue
            cls = mserve.errors.BY_STATUS[status]
            self.assertTrue(issubclass(cls, mserve.Error))
            e = mserve.errors.error(status, "m")
            self.assertIsInstance(e, cls)
            self.assertEqual((e.status, e.name, e.message), (status, "MS_" + status.name, "m"))

    def test_failure_carries_status_name_and_message(self):
        with open(self.path("notes.txt"), "w") as f:
            f.write("not a database, just some text that is long enough to be read" * 20)
        with self.assertRaises(mserve.CorruptError) as cm:
            mserve.Store(self.path("notes.txt"))
        e = cm.exception
        self.assertEqual(e.status, mserve.ECORRUPT)
        self.assertEqual(e.name, "MS_ECORRUPT")
        self.assertIn("notes.txt", e.message)
        self.assertTrue(e.message.startswith("store: ms_store_open: "), e.message)

    def test_not_found_is_also_a_lookup_error(self):
        with self.assertRaises(LookupError):
            mserve.Store(self.path("absent.db"), nocreate=True)

    def test_each_thread_reads_its_own_message(self):
        # Every thread fails with its own object named; none may see another's message.
        store = mserve.Store(":memory:")
        tracker = store.tracker()
        seen, errors = {}, []
        barrier = threading.Barrier(8)

        def work(i):
            barrier.wait()
            for k in range(200):
                lease = -(i * 1000 + k + 1)  # each failure names its own value
                try:
                    tracker.admit("t%d-%d" % (i, k), ["user:a"], lease_us=lease)
                except mserve.InvalidError as e:
                    if "lease %d us" % lease not in e.message:
                        errors.append(e.message)
                    seen[i] = e.message
                else:
                    errors.append("admitted a negative lease")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(seen), 8)
        store.close()


if __name__ == "__main__":
    unittest.main()
