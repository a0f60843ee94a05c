"""The log bridge: libmserve's log lines to a Python callable."""
import threading

from ._lib import lib
from ._signatures import LOG_FN
from .constants import LogLevel
from .errors import check

# Every callback ever installed stays referenced: C may still call the one it
# replaced once more on another thread (common.h), so none may be collected.
_installed = []
_lock = threading.Lock()


def set_log(fn, level=LogLevel.INFO):
    """Send the library's messages of `level` and above to fn(level, message); fn None: silence.

    fn runs on the thread that made the libmserve call, must be quick and must
    not call into libmserve. An exception it raises is printed, not propagated.
    """
    with _lock:
        if fn is None:
            check(lib.ms_set_log(LOG_FN(), int(level), None))
            return

        def bridge(lvl, message, user):
            fn(LogLevel(lvl) if lvl in LogLevel._value2member_map_ else lvl,
               message.decode("utf-8", "replace"))

        cb = LOG_FN(bridge)
        check(lib.ms_set_log(cb, int(level), None))
        _installed.append(cb)
