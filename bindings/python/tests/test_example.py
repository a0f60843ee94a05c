"""The scheduler example runs, rolls a tick back, and leaves exactly what it started."""
import os
import subprocess
import sys
import unittest

from support import TempDirTest, mserve

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "scheduler.py")


class ExampleTest(TempDirTest):
    def test_scheduler(self):
        r = subprocess.run([sys.executable, EXAMPLE, self.path("s.db")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("rolled back", r.stdout)
        self.assertIn("waits:", r.stdout)
        with mserve.Store(self.path("s.db")) as store, store.tracker() as t:
            self.assertGreater(t.used("project:vision", now_us=1_700_000_000_000_000), 0)


if __name__ == "__main__":
    unittest.main()
