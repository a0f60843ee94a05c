"""The README's Python examples run as they are, in a scratch folder."""
import os
import re
import subprocess
import sys
import unittest

from support import TempDirTest, mserve

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "README.md")
PKG = os.path.dirname(os.path.dirname(os.path.abspath(mserve.__file__)))


@unittest.skipUnless(os.path.exists(README), "no README.md above the binding")
class ReadmeTest(TempDirTest):
    def test_python_blocks_run(self):
        blocks = re.findall(r"^```python\n(.*?)^```", open(README).read(), re.S | re.M)
        self.assertGreater(len(blocks), 0)
        for block in blocks:
            r = subprocess.run([sys.executable, "-c", block], cwd=self.tmp, capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=PKG))
            self.assertEqual(r.returncode, 0, block + r.stderr)
        self.assertIn("sess-3 waits: keypair:AK1 is full (2 of 2)", r.stdout)


if __name__ == "__main__":
    unittest.main()
