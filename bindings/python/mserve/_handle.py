"""The life of a C object owned by a Python object.

A Handle owns one pointer and the C function that frees it. It frees it at
close(), at the end of a `with` block, or through weakref.finalize when the
object is forgotten (or at interpreter exit), exactly once. An object opened
over another (a tracker over its store) keeps its parent alive, and closing the
parent closes its children first, as the C side requires; using a closed
object raises ClosedError instead of passing a dangling pointer to C.
"""
import threading
import weakref

from .errors import ClosedError
from .constants import Status


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
        self._finalizer = weakref.finalize(self, _release, free, ptr, parent, keep)
        if parent is not None:
            parent._children.add(self)

    @property
    def _p(self):
        """The pointer, or ClosedError when closed (no C call ever sees a freed one)."""
        p = self._ptr
        if p is None:
            raise ClosedError(Status.ECLOSED, "%s: closed" % self._kind)
        return p

    @property
    def closed(self):
        return self._ptr is None

    def _detach(self):
        """Forget the pointer without freeing it (C freed it: a commit, a rollback)."""
        with self._lock:
            self._ptr = None
            self._finalizer.detach()
            if self._parent is not None:
                self._parent._children.discard(self)

    def close(self):
        """Free the C object (children first). Idempotent."""
        for child in list(self._children):
            child.close()
        with self._lock:
            self._ptr = None
            self._finalizer()
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
