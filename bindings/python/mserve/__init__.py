"""mserve: Python bindings of libmserve through ctypes (no compiled extension).

The library is found through $MSERVE_LIBRARY (a path), then the loader's
search path (ctypes.util.find_library), then the build tree. `mserve.lib` is
the raw ctypes library, every function declared (argtypes/restype) from one
table, for what the classes here do not wrap.
"""
from ._lib import LoadError, lib, path as library_path
from .constants import *  # noqa: F401,F403  (the C constants under their C names without MS_)
from .constants import (Aggregation, Comparator, ConfigSource, LogLevel, Outcome, ScanOutcome, SessionClass,
                        Status, TimeoutAction, SEC)
from .errors import (BusyError, CanceledError, ClosedError, ConflictError, CorruptError, Error, ExistsError,
                     FullError, InternalError, InvalidError, IoError, LimitError, NoDeviceError, NoMemoryError,
                     NotFoundError, TimeoutError, UnsafeError, UnsupportedError)
from .log import set_log
from .store import Store, latest_schema, monotonic_us, now_us, realtime_us, status_name, version, version_number
from .tracker import Held, Reconcile, Tick, Tracker
from .registry import Model, Registry, ScanEntry, ScanReport, UnusedKey, archive_inspect, archive_validate
from .autoscaler import Autoscaler, Decision, Rule, RuleInfo, RuleOutcome, outcome_name
from .batcher import Batch, Batcher, Request, Stats
from .executor import Executor, cuda_available

__version__ = version()
