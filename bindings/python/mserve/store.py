"""The store (store.h) and the helpers of common.h."""
import ctypes
import time

from ._handle import Handle
from ._lib import lib
from .constants import STORE_DURABLE, STORE_NOCREATE, STORE_READONLY
from .errors import check


def version():
    """ms_version(): the running library's "MAJOR.MINOR.PATCH"."""
    return lib.ms_version().decode()


def version_number():
    return lib.ms_version_number()


def status_name(status):
    return lib.ms_status_name(int(status)).decode()


def realtime_us():
    """ms_clock_realtime_us(): Unix-epoch microseconds (leases, cooldowns)."""
    return lib.ms_clock_realtime_us()


def monotonic_us():
    """ms_clock_monotonic_us(): the batcher's clock."""
    return lib.ms_clock_monotonic_us()


def now_us():
    """The default `now_us` of the calls over the store: time.time_ns() // 1000."""
    return time.time_ns() // 1000


def latest_schema():
    """ms_store_latest_schema(): the schema version this library writes."""
    return lib.ms_store_latest_schema()


class Store(Handle):
    """One libmserve database: a file path, or ":memory:".

    Closing the store closes every tracker, registry and autoscaler opened
    over it first; each of those keeps the store alive while it is open.
    """
    _kind = "store"

    def __init__(self, path, durable=False, nocreate=False, readonly=False, flags=0):
        flags |= (STORE_DURABLE if durable else 0) | (STORE_NOCREATE if nocreate else 0)
        flags |= STORE_READONLY if readonly else 0
        out = ctypes.c_void_p()
        check(lib.ms_store_open(str(path).encode(), flags, ctypes.byref(out)))
        super().__init__(out.value, lib.ms_store_close)
        self.path = str(path)

    def set_busy_timeout(self, timeout_us):
        check(self._call(lib.ms_store_set_busy_timeout, timeout_us))

    def set_autocheckpoint(self, frames):
        check(self._call(lib.ms_store_set_autocheckpoint, frames))

    @property
    def schema_version(self):
        v = ctypes.c_int64()
        check(self._call(lib.ms_store_schema_version, ctypes.byref(v)))
        return v.value

    def checkpoint(self):
        """A passive checkpoint; returns the log frames not copied back yet."""
        left = ctypes.c_int64()
        check(self._call(lib.ms_store_checkpoint, ctypes.byref(left)))
        return left.value

    def tracker(self):
        from .tracker import Tracker
        return Tracker(self)

    def registry(self, config=None):
        from .registry import Registry
        return Registry(self, config)

    def autoscaler(self):
        from .autoscaler import Autoscaler
        return Autoscaler(self)
