"""The constants mirror the headers' macros and enums (a C program prints the C values)."""
import glob
import os
import re
import subprocess
import unittest

from support import TempDirTest, compile_c, include_dir, mserve


def header_constants():
    """Every MS_* object-like macro and enum member the public headers define."""
    names = set()
    for h in glob.glob(os.path.join(include_dir(), "mserve", "*.h")):
        text = open(h).read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        names.update(re.findall(r"^\s*#\s*define\s+(MS_[A-Z0-9_]+)\s+\S", text, re.M))
        names.update(re.findall(r"\b(MS_[A-Z0-9_]+)\s*=\s*-?\d", text))
    names.discard("MS_API")
    return names


class ConstantsTest(TempDirTest):
    def test_every_header_constant_is_mirrored(self):
        missing = sorted(header_constants() - set(mserve.constants.c_names()))
        self.assertEqual(missing, [], "constants of the headers missing from mserve.constants")

    def test_values_equal_the_C_values(self):
        mine = mserve.constants.c_names()
        body = "".join('  printf("%%s %%lld\\n", "%s", (long long)(%s));\n' % (n, n) for n in sorted(mine))
        body += '  printf("MS_SEC(7) %lld\\n", (long long)MS_SEC(7));\n'
        prog = compile_c("#include <stdio.h>\n#include <mserve.h>\nint main(void) {\n%s  return 0;\n}\n" % body,
                         self.path("consts"), "-I", include_dir())
        out = subprocess.run([prog], check=True, capture_output=True, text=True).stdout
        c_values = dict((line.rsplit(" ", 1)[0], int(line.rsplit(" ", 1)[1])) for line in out.splitlines())
        self.assertEqual(c_values.pop("MS_SEC(7)"), mserve.SEC(7))
        self.assertEqual(c_values, mine)


if __name__ == "__main__":
    unittest.main()
