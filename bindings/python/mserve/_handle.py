"""The life of a C object owned by a Python object.

A Handle owns one pointer and the C function that frees it. It frees it at
close(), at the end of a `with` block, or through weakref.finalize when the
object is forgotten (or at interpreter exit), exactly once. An object opened
over another (a tracker over its store) keeps its parent alive, and closing the
parent closes its children first, as the C side requires; using a closed
object raises ClosedError instead of passing a dangling pointer to C.

An object whose calls other threads may be inside when it is closed (a
batcher's wait, an executor's run) brackets each call with _enter/_leave.
close() then refuses new calls at once (ClosedError), wakes the calls in
flight (_wake: a batcher shuts down) and frees the C object only once the
last has left, as the C side requires; closing from inside one of its own
calls (a handler closing its executor) is BusyError, not a wait for itself.
"""
import threading
import weakref

from .errors import BusyError, ClosedError
from .constants import Status

_ident = threading.get_ident


def _release(free, ptr, parent, keep):
    # `parent` and `keep` are only held so that they outlive the C object (a
    # parent handle; a ctypes callback C may still call).
    free(ptr)


class Handle:
    _kind = "object"

    def __init__(self, ptr, free, parent=None, keep=None):
        self._ptr = ptr
        self._parent = parent
        self._children = weakref.WeakSet()
        self._lock = threading.Lock()
        self._left = threading.Condition(self._lock)  # notified when the last call in flight leaves
        self._closing = False
        self._inflight = {}  # thread id -> calls of that thread in flight (_enter/_leave)
        self._finalizer = weakref.finalize(self, _release, free, ptr, parent, keep)
        if parent is not None:
            parent._children.add(self)

    def _closed_error(self):
        return ClosedError(Status.ECLOSED, "%s: closed" % self._kind)

    @property
    def _p(self):
        """The pointer, or ClosedError when closed (no C call ever sees a freed one)."""
        p = self._ptr
        if p is None or self._closing:
            raise self._closed_error()
        return p

    @property
    def closed(self):
        """True once close() began: every later call raises ClosedError."""
        return self._ptr is None or self._closing

    # A call in flight is its thread's entry in _inflight, which only that
    # thread writes (one dict operation each: atomic under the GIL), so a call
    # takes no lock. A call registers before it looks at _closing and close()
    # sets _closing before it looks at _inflight: one of them sees the other.
    def _enter(self):
        """The pointer for one call that close() must wait for; pair with _leave()."""
        me = _ident()
        inflight = self._inflight
        inflight[me] = inflight.get(me, 0) + 1
        if self._closing or self._ptr is None:
            self._leave()
            raise self._closed_error()
        return self._ptr

    def _leave(self):
        me = _ident()
        inflight = self._inflight
        n = inflight[me] - 1
        if n:
            inflight[me] = n
        else:
            del inflight[me]
        if self._closing:
            with self._left:
                self._left.notify_all()

    def _call(self, fn, *args):
        """fn(pointer, *args) as one call in flight."""
        p = self._enter()
        try:
            return fn(p, *args)
        finally:
            self._leave()

    def _wake(self, ptr):
        """Make the calls in flight return soon (close() began); nothing by default."""

    def _detach(self):
        """Forget the pointer without freeing it (C freed it: a commit, a rollback)."""
        with self._lock:
            self._ptr = None
            self._finalizer.detach()
            if self._parent is not None:
                self._parent._children.discard(self)

    def _busy_here(self):
        """Is the calling thread inside a call on this object or one opened over it?"""
        return _ident() in self._inflight or any(c._busy_here() for c in list(self._children))

    def _refuse_and_wait(self, what):
        """Refuse new calls and wait for those in flight; the caller holds _lock."""
        if _ident() in self._inflight:
            raise BusyError(Status.EBUSY, "%s: %s: called from inside a call on it (a handler or callback of "
                            "its own); %s it after that call returns" % (self._kind, what, what))
        first, self._closing = not self._closing, True
        return first

    def close(self):
        """Free the C object once no other thread is inside a call on it, and the objects
        opened over it first (a store's tracker); calls made meanwhile raise ClosedError.
        Idempotent; BusyError from inside a call on it or on one of those objects (it would
        wait for itself)."""
        if self._ptr is None:
            return
        if self._busy_here():
            raise BusyError(Status.EBUSY, "%s: close: called from inside a call on it or on an object opened "
                            "over it (a handler or callback of its own); close it after that call returns"
                            % self._kind)
        with self._lock:
            if self._ptr is None:
                return
            first = self._refuse_and_wait("close")
            ptr = self._ptr
        if first:
            self._wake(ptr)
        # Children first (each waits for its own calls; a tick rolled back here
        # frees the calls that wait for it), then our own calls; then again the
        # children, for one an open in flight listed meanwhile. No call can start
        # now, so no child can be opened any more.
        for child in list(self._children):
            child.close()
        with self._lock:
            while self._inflight:
                self._left.wait()
        for child in list(self._children):
            child.close()
        with self._lock:
            if self._ptr is not None:
                self._ptr = None
                self._finalizer()
        if self._parent is not None:
            self._parent._children.discard(self)

    def _finish(self, fn, *args):
        """fn(pointer, *args): the call that ends the object and frees it in C (a commit).
        It refuses new calls at once, waits for those in flight and counts as one itself,
        so a close() meanwhile waits for it; the object is closed afterwards either way."""
        me = _ident()
        with self._lock:
            if self._ptr is None or self._closing:
                raise self._closed_error()
            self._refuse_and_wait("commit")
            while self._inflight:
                self._left.wait()
            self._inflight[me] = 1
            p = self._ptr
        try:
            return fn(p, *args)
        finally:
            with self._lock:
                self._ptr = None
                self._finalizer.detach()
                del self._inflight[me]
                self._left.notify_all()
            if self._parent is not None:
                self._parent._children.discard(self)

    def __enter__(self):
        self._p
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<mserve.%s%s>" % (type(self).__name__, " closed" if self._ptr is None else "")
