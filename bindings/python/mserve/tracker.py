"""The concurrency tracker (tracker.h): session limits counted as sets of session ids."""
import ctypes
import functools
import threading
import time
from collections import namedtuple

from ._handle import Handle
from ._lib import lib
from ._signatures import Denial
from .constants import SessionClass, Status
from .errors import LimitError, check, error

Held = namedtuple("Held", "session_class expires_us")
Held.__doc__ = "A held session: its class and its lease end (0: no lease)."

_byref = ctypes.byref
_local = threading.local()


@functools.lru_cache(maxsize=4096)
def _scope_array(scopes):
    encoded = [s.encode() for s in scopes]
    return (ctypes.c_char_p * len(encoded))(*encoded), len(encoded)


def _scopes(scopes):
    """A C array of the scopes (one str, or an iterable of str), cached per distinct tuple."""
    if isinstance(scopes, str):
        scopes = (scopes,)
    elif not isinstance(scopes, tuple):
        scopes = tuple(scopes)
    return _scope_array(scopes)


def _denial():
    d = getattr(_local, "denial", None)
    if d is None:
        d = _local.denial = Denial()
    return d


def _admit(fn, p, session_id, scopes, cls, lease_us, now_us):
    arr, n = _scopes(scopes)
    d = _denial()
    st = fn(p, session_id.encode(), cls, arr, n, lease_us, time.time_ns() // 1000 if now_us is None else now_us, d)
    if st:
        if st == Status.ELIMIT:
            raise error(st, scope=d.scope.decode(), limit=d.limit, used=d.used)
        raise error(st)


def _release(fn, p, session_id, now_us):
    held = ctypes.c_int()
    check(fn(p, session_id.encode(), time.time_ns() // 1000 if now_us is None else now_us, _byref(held)))
    return bool(held.value)


def _txn_admit(p, session_id, scopes, cls, lease_us, now_us):
    _admit(lib.ms_tracker_txn_admit, p, session_id, scopes, cls, lease_us, now_us)


def _txn_release(p, session_id, now_us):
    return _release(lib.ms_tracker_txn_release, p, session_id, now_us)


class Tracker(Handle):
    """Admits sessions against per-(scope, class) limits. Use from any number of threads."""
    _kind = "tracker"

    def __init__(self, store):
        out = ctypes.c_void_p()
        p = store._enter()  # opened and listed as the store's child before a close may look
        try:
            check(lib.ms_tracker_open(p, _byref(out)))
            super().__init__(out.value, lib.ms_tracker_close, store)
        finally:
            store._leave()

    def set_limit(self, scope, limit, cls=SessionClass.COMPUTE):
        """limit: None or UNLIMITED removes it, 0 admits nothing, N admits at most N."""
        check(self._call(lib.ms_tracker_set_limit, scope.encode(), cls, -1 if limit is None else limit))

    def get_limit(self, scope, cls=SessionClass.COMPUTE):
        """The limit, or None when unlimited."""
        v = ctypes.c_int64()
        check(self._call(lib.ms_tracker_get_limit, scope.encode(), cls, _byref(v)))
        return None if v.value == -1 else v.value

    def admit(self, session_id, scopes, cls=SessionClass.COMPUTE, lease_us=0, now_us=None):
        """Admit into every scope, all or nothing; LimitError (with .scope/.limit/.used) when full."""
        p = self._enter()
        try:
            _admit(lib.ms_tracker_admit, p, session_id, scopes, cls, lease_us, now_us)
        finally:
            self._leave()

    def release(self, session_id, now_us=None):
        """Remove the session from every set; True when it was held."""
        p = self._enter()
        try:
            return _release(lib.ms_tracker_release, p, session_id, now_us)
        finally:
            self._leave()

    def renew(self, session_id, lease_us, now_us=None):
        check(self._call(lib.ms_tracker_renew, session_id.encode(), lease_us,
                                   time.time_ns() // 1000 if now_us is None else now_us))

    def used(self, scope, cls=SessionClass.COMPUTE, now_us=None):
        v = ctypes.c_int64()
        check(self._call(lib.ms_tracker_get_used, scope.encode(), cls,
                                      time.time_ns() // 1000 if now_us is None else now_us, _byref(v)))
        return v.value

    def held(self, session_id, now_us=None):
        """Held(session_class, expires_us) when held and live at now_us, else None."""
        h, c, e = ctypes.c_int(), ctypes.c_int32(), ctypes.c_int64()
        check(self._call(lib.ms_tracker_get_held, session_id.encode(), time.time_ns() // 1000 if now_us is None
                                      else now_us, _byref(h), _byref(c), _byref(e)))
        return Held(SessionClass(c.value), e.value) if h.value else None

    def next_expiry(self):
        """The earliest lease end (Unix-epoch µs), or None when no session has a lease."""
        v = ctypes.c_int64()
        check(self._call(lib.ms_tracker_next_expiry, _byref(v)))
        return None if v.value == 2**63 - 1 else v.value

    def purge(self, max=1000, now_us=None):
        """Forget up to `max` expired sessions; returns how many."""
        v = ctypes.c_int64()
        check(self._call(lib.ms_tracker_purge, time.time_ns() // 1000 if now_us is None else now_us, max, _byref(v)))
        return v.value

    def begin(self):
        """A tick transaction; `with tracker.begin() as tick:` commits, or rolls back on an exception."""
        return Tick(self)

    def reconcile(self, scope=None):
        """Collect the authoritative list of live sessions (for `scope`, or all) and commit it."""
        return Reconcile(self, scope)


class _Transaction(Handle):
    """Something ended by commit() or rollback(); `with` commits, or rolls back on an exception."""

    def rollback(self):
        self.close()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and not self.closed:
            self.commit()
        else:
            self.rollback()
        return False


class Tick(_Transaction):
    """One scheduler tick: admits that see each other, made durable by one commit.

    A tick may move between threads (C allows it), several at once; commit and
    rollback wait for the tick's calls in flight. While it is open, the thread
    that used it last gets BusyError from the store's other calls at once, and
    other threads wait for it up to the store's busy timeout (then BusyError).
    """
    _kind = "tick"

    def __init__(self, tracker):
        out = ctypes.c_void_p()
        p = tracker._enter()
        try:
            check(lib.ms_tracker_begin(p, _byref(out)))
            super().__init__(out.value, lib.ms_tracker_txn_rollback, tracker)
        finally:
            tracker._leave()

    def admit(self, session_id, scopes, cls=SessionClass.COMPUTE, lease_us=0, now_us=None):
        self._call(_txn_admit, session_id, scopes, cls, lease_us, now_us)

    def release(self, session_id, now_us=None):
        return self._call(_txn_release, session_id, now_us)

    def commit(self):
        # C frees the tick whether or not the commit succeeds; it waits for the
        # tick's other calls in flight (C: no overlap with them).
        check(self._finish(lib.ms_tracker_txn_commit))


class Reconcile(_Transaction):
    """The host's list of live sessions, applied in one transaction by commit()."""
    _kind = "reconcile"

    def __init__(self, tracker, scope):
        out = ctypes.c_void_p()
        p = tracker._enter()
        try:
            check(lib.ms_tracker_reconcile_begin(p, None if scope is None else scope.encode(), _byref(out)))
            super().__init__(out.value, lib.ms_reconcile_rollback, tracker)
        finally:
            tracker._leave()

    def add(self, session_id, scopes, cls=SessionClass.COMPUTE):
        arr, n = _scopes(scopes)
        check(self._call(lib.ms_reconcile_add, session_id.encode(), cls, arr, n))

    def commit(self, now_us=None):
        """Apply the list; returns (added, removed) memberships."""
        added, removed = ctypes.c_int64(), ctypes.c_int64()
        check(self._finish(lib.ms_reconcile_commit, time.time_ns() // 1000 if now_us is None else now_us,
                           _byref(added), _byref(removed)))
        return added.value, removed.value
