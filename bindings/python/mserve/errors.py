"""mserve.Error and one subclass per ms_status.

check() raises with the message read from ms_errmsg() right after the failing
call, on the calling thread (the message is thread-local in C, and a Python
thread stays on one OS thread).
"""
import builtins

from ._lib import lib
from .constants import Status


class Error(Exception):
    """A failed libmserve call: .status (an ms_status), .name ("MS_ELIMIT") and .message."""

    status = None

    def __init__(self, status, message):
        self.status = Status(status) if status in Status._value2member_map_ else status
        self.name = lib.ms_status_name(int(status)).decode()
        self.message = message
        super().__init__("%s: %s" % (self.name, message))


class InvalidError(Error, ValueError):
    status = Status.EINVAL


class NoMemoryError(Error, MemoryError):
    status = Status.ENOMEM


class NotFoundError(Error, LookupError):
    status = Status.ENOTFOUND


class ExistsError(Error):
    status = Status.EEXIST


class LimitError(Error):
    """An admission denied by a limit: .scope, .limit and .used of the first full scope."""
    status = Status.ELIMIT

    def __init__(self, status, message, scope=None, limit=None, used=None):
        super().__init__(status, message)
        self.scope, self.limit, self.used = scope, limit, used


class FullError(Error):
    status = Status.EFULL


class TimeoutError(Error, builtins.TimeoutError):
    status = Status.ETIMEDOUT


class CanceledError(Error):
    status = Status.ECANCELED


class BusyError(Error):
    status = Status.EBUSY


class IoError(Error, OSError):
    status = Status.EIO


class CorruptError(Error):
    status = Status.ECORRUPT


class UnsafeError(Error):
    status = Status.EUNSAFE


class UnsupportedError(Error):
    status = Status.EUNSUPPORTED


class NoDeviceError(Error):
    status = Status.ENODEV


class ClosedError(Error):
    """MS_ECLOSED from the library, or a call on an object this binding closed already."""
    status = Status.ECLOSED


class ConflictError(Error):
    status = Status.ECONFLICT


class InternalError(Error):
    status = Status.EINTERNAL


BY_STATUS = {cls.status: cls for cls in Error.__subclasses__()}


def error(status, message=None, **extra):
    """The exception for `status`; message None: read ms_errmsg() now (right after the call)."""
    if message is None:
        message = lib.ms_errmsg().decode("utf-8", "replace")
    return BY_STATUS.get(status, Error)(status, message, **extra)


def check(status):
    """Raise the exception for a non-zero status; for the common call `check(lib.ms_x(...))`."""
    if status:
        raise error(status)
