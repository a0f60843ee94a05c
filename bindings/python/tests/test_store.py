"""Store: open, settings, checkpoint, lifetimes of what is opened over it."""
import gc
import unittest

from support import TempDirTest, mserve


class StoreTest(TempDirTest):
    def test_open_close_and_schema(self):
        with mserve.Store(self.path("a.db")) as s:
            self.assertEqual(s.schema_version, mserve.latest_schema())
            s.set_busy_timeout(mserve.SEC(1))
            s.set_autocheckpoint(0)
            self.assertGreaterEqual(s.checkpoint(), 0)
        self.assertTrue(s.closed)

    def test_bad_arguments_raise_and_name_the_call(self):
        with mserve.Store(":memory:") as s:
            with self.assertRaises(mserve.InvalidError) as cm:
                s.set_busy_timeout(-1)
            self.assertIn("ms_store_set_busy_timeout", cm.exception.message)

    def test_readonly_refuses_writes(self):
        mserve.Store(self.path("r.db")).close()
        with mserve.Store(self.path("r.db"), readonly=True) as s:
            t = s.tracker()
            with self.assertRaises(mserve.InvalidError) as cm:
                t.set_limit("user:a", 1)
            self.assertIn("read-only", cm.exception.message)

    def test_use_after_close_raises_closed_error(self):
        s = mserve.Store(":memory:")
        s.close()
        s.close()  # idempotent
        with self.assertRaises(mserve.ClosedError):
            s.schema_version
        with self.assertRaises(mserve.ClosedError):
            s.tracker()

    def test_closing_the_store_first_closes_what_is_open_over_it(self):
        s = mserve.Store(self.path("b.db"))
        t = s.tracker()
        t.set_limit("user:a", 1)
        s.close()
        self.assertTrue(t.closed)
        with self.assertRaises(mserve.ClosedError) as cm:
            t.admit("s1", ["user:a"])
        self.assertEqual(cm.exception.status, mserve.ECLOSED)
        t.close()

    def test_a_tracker_keeps_its_store_alive(self):
        t = mserve.Store(self.path("c.db")).tracker()  # the store object is dropped at once
        gc.collect()
        t.set_limit("user:a", 2)
        t.admit("s1", "user:a")
        self.assertEqual(t.used("user:a"), 1)
        t.close()

    def test_forgotten_objects_are_freed_by_their_finalizer(self):
        s = mserve.Store(self.path("d.db"))
        t = s.tracker()
        fin_t, fin_s = t._finalizer, s._finalizer
        del t, s
        gc.collect()
        self.assertFalse(fin_t.alive)
        self.assertFalse(fin_s.alive)
        with mserve.Store(self.path("d.db")) as again:  # the file is closed and reusable
            self.assertEqual(again.schema_version, mserve.latest_schema())


if __name__ == "__main__":
    unittest.main()
