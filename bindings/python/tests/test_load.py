"""Loading: MSERVE_LIBRARY, the version check and its message."""
import os
import subprocess
import sys
import unittest

from support import TempDirTest, compile_c, library_file, mserve

PKG = os.path.dirname(os.path.dirname(os.path.abspath(mserve.__file__)))


def import_with(library):
    env = dict(os.environ, MSERVE_LIBRARY=library, PYTHONPATH=PKG)
    return subprocess.run([sys.executable, "-c", "import mserve; from mserve import library_path; print(library_path, mserve.version())"],
                          env=env, capture_output=True, text=True)


class LoadTest(TempDirTest):
    def test_loads_the_library_named_by_MSERVE_LIBRARY(self):
        r = import_with(library_file())
        self.assertEqual(r.returncode, 0, r.stderr)
        path, version = r.stdout.split()
        self.assertEqual((os.path.realpath(path), version), (library_file(), mserve.version()))

    def test_refuses_another_major_version_naming_what_it_found(self):
        fake = compile_c('const char *ms_version(void) { return "9.3.1"; }\n', self.path("libfake.so"),
                         "-shared", "-fPIC")
        r = import_with(fake)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("mserve.LoadError" if "mserve.LoadError" in r.stderr else "LoadError", r.stderr)
        self.assertIn(fake, r.stderr)
        self.assertIn("9.3.1", r.stderr)
        self.assertIn("major version %d" % mserve.VERSION_MAJOR, r.stderr)

    def test_a_missing_file_is_a_load_error_naming_it(self):
        r = import_with(self.path("nowhere.so"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LoadError", r.stderr)
        self.assertIn("nowhere.so", r.stderr)

    def test_version_matches_the_header_major(self):
        self.assertEqual(int(mserve.version().split(".")[0]), mserve.VERSION_MAJOR)
        self.assertEqual(mserve.version_number() // 10000, mserve.VERSION_MAJOR)


if __name__ == "__main__":
    unittest.main()
