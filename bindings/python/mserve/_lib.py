"""Finding and loading libmserve, and declaring its functions from the table.

Search order: $MSERVE_LIBRARY (a path), then ctypes.util.find_library("mserve")
(the loader's paths), then the build tree this package sits in
(build/<preset>/lib/libmserve.so.1). A library whose major version differs
from the binding's is refused, saying which one was found.
"""
import ctypes
import ctypes.util
import glob
import os

from . import constants
from ._signatures import SIGNATURES


class LoadError(ImportError):
    """libmserve could not be found or is not a version this binding speaks."""


def _candidates():
    env = os.environ.get("MSERVE_LIBRARY")
    if env:
        return [("MSERVE_LIBRARY", env)]
    found = []
    name = ctypes.util.find_library("mserve")
    if name:
        found.append(("the loader's search path", name))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    for path in sorted(glob.glob(os.path.join(root, "build", "*", "lib", "libmserve.so.1"))):
        found.append(("the build tree", path))
    return found


def _open():
    tried = []
    for origin, path in _candidates():
        try:
            dll = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s): %s" % (path, origin, e))
            if origin == "MSERVE_LIBRARY":
                break
            continue
        return dll, path
    raise LoadError("mserve: cannot load libmserve: " + ("; ".join(tried) if tried else
                    "not found (set MSERVE_LIBRARY to the path of libmserve.so.1, or install it)"))


def _declare(dll, path):
    missing = []
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise LoadError("mserve: %s lacks %d function(s) this binding declares: %s"
                        % (path, len(missing), ", ".join(missing)))


def _check_version(dll, path):
    if not hasattr(dll, "ms_version"):
        raise LoadError("mserve: %s is not libmserve (it has no ms_version)" % path)
    dll.ms_version.restype = ctypes.c_char_p
    dll.ms_version.argtypes = []
    version = dll.ms_version().decode()
    major = int(version.split(".")[0])
    if major != constants.VERSION_MAJOR:
        raise LoadError("mserve: %s is libmserve %s (major %d); this binding needs major version %d"
                        % (path, version, major, constants.VERSION_MAJOR))
    return version


def load():
    dll, path = _open()
    version = _check_version(dll, path)
    _declare(dll, path)
    return dll, path, version


lib, path, version = load()
