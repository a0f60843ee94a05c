"""Shared helpers of the binding's tests: the library's files, a C compiler, scratch folders."""
import os
import shutil
import subprocess
import tempfile
import unittest

import mserve


def library_file():
    """The real path of the libmserve the binding loaded (from this process's mappings)."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "libmserve" in os.path.basename(path):
                return os.path.realpath(path)
    raise RuntimeError("libmserve is not mapped")


def include_dir():
    """The headers that belong to the loaded library: $MSERVE_INCLUDE_DIR, else the nearest
    include/mserve above the library (an install prefix, or the source tree above build/)."""
    env = os.environ.get("MSERVE_INCLUDE_DIR")
    if env:
        return env
    d = os.path.dirname(library_file())
    while d != "/":
        if os.path.exists(os.path.join(d, "include", "mserve", "common.h")):
            return os.path.join(d, "include")
        d = os.path.dirname(d)
    raise unittest.SkipTest("no include/mserve next to %s (set MSERVE_INCLUDE_DIR)" % library_file())


def compiler():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    raise unittest.SkipTest("no C compiler")


def compile_c(source, out, *flags):
    """Compile C source text into `out`; returns out."""
    src = out + ".c"
    with open(src, "w") as f:
        f.write(source)
    subprocess.run([compiler(), "-std=c11", "-o", out, src, *flags], check=True)
    return out


class TempDirTest(unittest.TestCase):
    """A test with a scratch folder self.tmp, removed afterwards."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mserve-py-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, *names):
        return os.path.join(self.tmp, *names)


__all__ = ["mserve", "library_file", "include_dir", "compile_c", "TempDirTest"]


def write_mar(path, name, version="1.0", config=None, files=None, serialized="model.pt"):
    """A TorchServe .mar (zip) as torch-model-archiver lays it out; config: model-config.yaml text."""
    import json
    import zipfile
    model = {"modelName": name, "modelVersion": version, "handler": "handler.py", "serializedFile": serialized}
    if config is not None:
        model["configFile"] = "model-config.yaml"
    manifest = {"createdOn": "01/01/2025 00:00:00", "runtime": "python", "model": model,
                "archiverVersion": "0.9.0"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("MAR-INF/MANIFEST.json", json.dumps(manifest))
        z.writestr("handler.py", "def handle(data, context):\n    return data\n")
        if config is not None:
            z.writestr("model-config.yaml", config)
        for fname, data in (files if files is not None else {serialized: b"weights"}).items():
            z.writestr(fname, data)
    return path


def write_mlp_dir(path, layers, activation="none", output="none"):
    """A built-in MLP model folder; layers: [(weights [out][in], bias [out] or None)], F32."""
    import json
    import struct
    os.makedirs(os.path.join(path, "MAR-INF"), exist_ok=True)
    manifest = {"runtime": "python", "model": {"modelName": "mlp", "modelVersion": "1.0", "handler": "mserve:mlp",
                                               "serializedFile": "model.safetensors",
                                               "configFile": "model-config.yaml"}}
    with open(os.path.join(path, "MAR-INF", "MANIFEST.json"), "w") as f:
        json.dump(manifest, f)
    names = ["fc%d" % (k + 1) for k in range(len(layers))]
    with open(os.path.join(path, "model-config.yaml"), "w") as f:
        f.write("mlp:\n  layers: [%s]\n  activation: %s\n  output: %s\n" % (", ".join(names), activation, output))
    header, data = {}, b""
    for name, (w, b) in zip(names, layers):
        for tname, shape, values in ((name + ".weight", [len(w), len(w[0])], [v for row in w for v in row]),
                                     (name + ".bias", [len(b)] if b else None, b)):
            if values is None:
                continue
            blob = struct.pack("<%df" % len(values), *values)
            header[tname] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
            data += blob
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    return path
