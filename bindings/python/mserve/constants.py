"""The macros and enums of the C headers, under their C names without "MS_".

Every value here is checked against the headers by tests/test_constants.py,
which compiles a small C program that prints the C values, and fails when a
header gains a constant this module lacks.
"""
import enum

# common.h
VERSION_MAJOR = 0
VERSION_MINOR = 1
VERSION_PATCH = 0
VERSION_NUMBER = VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH


def SEC(s):
    """MS_SEC: seconds to microseconds (durations are microseconds everywhere)."""
    return int(s * 1000000)


class Status(enum.IntEnum):
    OK = 0
    EINVAL = 1
    ENOMEM = 2
    ENOTFOUND = 3
    EEXIST = 4
    ELIMIT = 5
    EFULL = 6
    ETIMEDOUT = 7
    ECANCELED = 8
    EBUSY = 9
    EIO = 10
    ECORRUPT = 11
    EUNSAFE = 12
    EUNSUPPORTED = 13
    ENODEV = 14
    ECLOSED = 15
    ECONFLICT = 16
    EINTERNAL = 17


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3
    OFF = 4


# store.h
STORE_DURABLE = 1
STORE_NOCREATE = 2
STORE_READONLY = 4


# tracker.h
class SessionClass(enum.IntEnum):
    COMPUTE = 0
    SYSTEM = 1


UNLIMITED = -1
TRACKER_MAX_SCOPES = 64


# registry.h
class ConfigSource(enum.IntEnum):
    DEFAULT = 0
    GLOBAL = 1
    ARCHIVE = 2
    API = 3


class ScanOutcome(enum.IntEnum):
    ADDED = 0
    UPDATED = 1
    UNCHANGED = 2
    FAILED = 3
    MISSING = 4
    SKIPPED = 5
    CONFLICT = 6


REGISTRY_DEFAULT_MAX_ENTRIES = 100000
REGISTRY_DEFAULT_MAX_BYTES = 64 << 30
REGISTRY_DEFAULT_MAX_RATIO = 1000


# autoscaler.h
class Comparator(enum.IntEnum):
    LT = 0
    LE = 1
    GT = 2
    GE = 3


class Aggregation(enum.IntEnum):
    MEAN = 0
    MAX = 1
    MIN = 2


class Outcome(enum.IntEnum):
    """ms_rule_outcome: what one rule did in one evaluation."""
    APPLIED = 0
    NOT_TRIGGERED = 1
    NO_METRIC = 2
    COOLDOWN = 3
    AT_BOUND = 4
    OUTVOTED = 5
    DISABLED = 6


EVAL_DRY_RUN = 1
AUTOSCALER_HISTORY_MAX = 1000


# batcher.h
class TimeoutAction(enum.IntEnum):
    REJECT = 0
    DELAY = 1


BATCHER_MAX_LEVELS = 256
BATCHER_MAX_PREFERRED = 64
BATCHER_MAX_ITEMS = 2147483647
BATCHER_MAX_REQUESTS = 16777215

# executor.h
EXECUTOR_DEFAULT_MAX_BATCH = 256

# The enums under their flat C names too (MS_ELIMIT -> ELIMIT, MS_CLASS_SYSTEM ->
# CLASS_SYSTEM, ...), so that every C constant has one name here.
_FLAT_PREFIX = {Status: "", LogLevel: "LOG_", SessionClass: "CLASS_", ConfigSource: "SRC_",
                ScanOutcome: "SCAN_", Comparator: "CMP_", Aggregation: "AGG_", Outcome: "RULE_",
                TimeoutAction: "TIMEOUT_"}
for _enum, _prefix in _FLAT_PREFIX.items():
    for _member in _enum:
        globals()[_prefix + _member.name] = _member
del _enum, _prefix, _member


def c_names():
    """Every constant of this module as {C name: value} (MS_SEC excluded: it is a function)."""
    out = {}
    for name, value in globals().items():
        if name.isupper() and not name.startswith("_") and isinstance(value, int) and name != "SEC":
            out["MS_" + name] = int(value)
    return out
