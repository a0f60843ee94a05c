"""The batching queue (batcher.h): requests in from any thread, batches out to a loop or workers.

Times are monotonic microseconds; `now_us` defaults to time.monotonic_ns() // 1000
(CLOCK_MONOTONIC, the clock ms_batcher_wait reads).
"""
import ctypes
import time
from collections import namedtuple

from ._handle import Handle
from ._lib import lib
from .constants import Status, TimeoutAction
from .errors import ClosedError, check, error

_byref = ctypes.byref
_NONE = 2**63 - 1

Request = namedtuple("Request", "id items submitted_us")
Batch = namedtuple("Batch", "status requests items formed_us")
Batch.__doc__ = ("Requests handed out together. status: Status.OK (run it), ETIMEDOUT or ECANCELED (answer each "
                 "request so).")
Stats = namedtuple("Stats", "queued_requests queued_items oldest_wait_us")


def _batch(x):
    """Copy an ms_batch into a Batch and free it."""
    try:
        rid, items, sub = ctypes.c_uint64(), ctypes.c_int64(), ctypes.c_int64()
        reqs = []
        for i in range(lib.ms_batch_count(x)):
            check(lib.ms_batch_get(x, i, _byref(rid), _byref(items), _byref(sub)))
            reqs.append(Request(rid.value, items.value, sub.value))
        return Batch(Status(lib.ms_batch_status(x)), reqs, lib.ms_batch_items(x), lib.ms_batch_formed_us(x))
    finally:
        lib.ms_batch_free(x)


class Batcher(Handle):
    """One queue for one model version. Every method may be called from any thread at once,
    close() too: it shuts the batcher down (waiters get the canceled requests' batches, then
    ClosedError), waits for the calls in flight to return and frees it; calls made meanwhile
    and later raise ClosedError. Shutting down and draining first still answers every request."""
    _kind = "batcher"

    def _wake(self, ptr):
        lib.ms_batcher_shutdown(ptr)  # wakes every wait(); ECLOSED when already shut down

    def __init__(self, max_batch=None, max_delay_us=None, preferred_sizes=None, max_queue=None, model=None):
        out = ctypes.c_void_p()
        check(lib.ms_batcher_new(_byref(out)))
        super().__init__(out.value, lib.ms_batcher_free)
        if model is not None:
            self.configure(model)
        if max_batch is not None:
            self.set_max_batch(max_batch)
        if max_delay_us is not None:
            self.set_max_delay(max_delay_us)
        if preferred_sizes is not None:
            self.set_preferred_sizes(preferred_sizes)
        if max_queue is not None:
            self.set_max_queue(max_queue)

    def configure(self, model):
        """Take a registry Model's resolved batch_size, delay, queue size and timeout."""
        check(self._call(lib.ms_batcher_configure, model._snapshot._p))

    def set_max_batch(self, items):
        check(self._call(lib.ms_batcher_set_max_batch, items))

    def set_max_delay(self, delay_us):
        check(self._call(lib.ms_batcher_set_max_delay, delay_us))

    def set_preferred_sizes(self, sizes):
        sizes = list(sizes)
        arr = (ctypes.c_int64 * len(sizes))(*sizes) if sizes else None
        check(self._call(lib.ms_batcher_set_preferred_sizes, arr, len(sizes)))

    def set_max_queue(self, requests):
        check(self._call(lib.ms_batcher_set_max_queue, requests))

    def set_priority_levels(self, levels, default_level=1):
        check(self._call(lib.ms_batcher_set_priority_levels, levels, default_level))

    def set_queue_policy(self, level=0, action=TimeoutAction.REJECT, default_timeout_us=0, allow_override=False):
        check(self._call(lib.ms_batcher_set_queue_policy, level, int(action), default_timeout_us,
                                              1 if allow_override else 0))

    def submit(self, request_id, items=1, priority=0, timeout_us=0, now_us=None):
        """Queue a request; FullError (queue full), ExistsError (id pending), ClosedError (shut down)."""
        p = self._enter()  # inline, not _call: the hot path
        try:
            st = lib.ms_batcher_submit(p, request_id, items, priority, timeout_us,
                                       time.monotonic_ns() // 1000 if now_us is None else now_us)
        finally:
            self._leave()
        if st:
            raise error(st)

    def cancel(self, request_id):
        check(self._call(lib.ms_batcher_cancel, request_id))

    def shutdown(self):
        """Refuse later submits; pending requests come back in ECANCELED batches."""
        check(self._call(lib.ms_batcher_shutdown))

    def poll(self, now_us=None):
        """The batch due at now_us, or None. ClosedError once shut down and drained."""
        out = ctypes.c_void_p()
        p = self._enter()
        try:
            st = lib.ms_batcher_poll(p, time.monotonic_ns() // 1000 if now_us is None else now_us, _byref(out))
        finally:
            self._leave()
        if st:
            raise error(st)
        return _batch(out.value) if out.value else None

    def wait(self, timeout_us=-1):
        """For worker threads: the next batch, or None after timeout_us (-1: no limit).
        ClosedError once shut down and everything was handed back."""
        out = ctypes.c_void_p()
        st = self._call(lib.ms_batcher_wait, timeout_us, _byref(out))
        if st == Status.ETIMEDOUT:
            return None
        if st:
            raise error(st)
        return _batch(out.value)

    def __iter__(self):
        """Batches from wait() until the batcher is shut down and drained."""
        while True:
            try:
                b = self.wait(-1)
            except ClosedError:
                return
            if b is not None:
                yield b

    def next_deadline(self):
        """When a poll is next due (monotonic µs), or None when nothing is pending."""
        v = ctypes.c_int64()
        check(self._call(lib.ms_batcher_next_deadline, _byref(v)))
        return None if v.value == _NONE else v.value

    def fileno(self):
        """The batcher's eventfd, readable while something is due (for select/selectors)."""
        fd = ctypes.c_int()
        check(self._call(lib.ms_batcher_fd, _byref(fd)))
        return fd.value

    def stats(self, now_us=None):
        r, i, w = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        check(self._call(lib.ms_batcher_stats, time.monotonic_ns() // 1000 if now_us is None else now_us,
                                   _byref(r), _byref(i), _byref(w)))
        return Stats(r.value, i.value, w.value)
