"""Every function the library exports is declared by the binding, and nothing else is."""
import subprocess
import unittest

from support import library_file, mserve
from mserve._signatures import SIGNATURES


def exported():
    out = subprocess.run(["nm", "-D", "--defined-only", library_file()], check=True, capture_output=True,
                         text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWi":
            name = parts[2].split("@")[0]
            if name.startswith("ms_"):
                names.add(name)
    return names


class ExportsTest(unittest.TestCase):
    def test_the_table_declares_exactly_the_exported_functions(self):
        exports = exported()
        self.assertGreater(len(exports), 100)
        self.assertEqual(sorted(exports - set(SIGNATURES)), [], "exported but not declared by the binding")
        self.assertEqual(sorted(set(SIGNATURES) - exports), [], "declared by the binding but not exported")

    def test_every_declared_function_is_typed(self):
        for name in SIGNATURES:
            fn = getattr(mserve.lib, name)
            self.assertIsNotNone(fn.argtypes, name)


if __name__ == "__main__":
    unittest.main()
