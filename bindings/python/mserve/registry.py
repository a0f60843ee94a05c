"""The model-archive registry (registry.h): archives, versions, settings and their sources."""
import ctypes
from collections import namedtuple
from dataclasses import dataclass, field

from ._handle import Handle
from ._lib import lib
from .constants import ConfigSource, ScanOutcome
from .errors import check

_byref = ctypes.byref

INT_KEYS = ("batch_size", "max_batch_delay_us", "max_queue_size", "request_timeout_us", "min_workers",
            "max_workers")

ScanEntry = namedtuple("ScanEntry", "path outcome status message")
ScanEntry.__doc__ = "One path of a scan: its ScanOutcome, status (0 unless FAILED) and message."
UnusedKey = namedtuple("UnusedKey", "key value line")
UnusedKey.__doc__ = "A key of the global config file the registry does not apply, with its value and line."


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


class _Snapshot(Handle):
    """An ms_model* owned by itself (ms_model_free) or borrowed from a list that stays alive."""
    _kind = "model"


@dataclass(frozen=True)
class Model:
    """A registered version as plain values; .settings maps each key to (value, ConfigSource).

    Canonical integer keys have int values, every other setting its text.
    """
    name: str
    version: str
    runtime: str
    handler: str
    archive_path: str
    content_hash: str
    is_default: bool
    is_missing: bool
    settings: dict
    _snapshot: object = field(default=None, repr=False, compare=False)

    def get(self, key):
        """The value of a setting (without its source); KeyError when unset."""
        return self.settings[key][0]


def _model(ptr, owner=None):
    """A Model from an ms_model*; owner None: the Model owns ptr (freed with it)."""
    settings = {}
    key, value, source = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_int32()
    for i in range(lib.ms_model_setting_count(ptr)):
        check(lib.ms_model_get_setting(ptr, i, _byref(key), _byref(value), _byref(source)))
        settings[_s(key.value)] = (_s(value.value), ConfigSource(source.value))
    iv = ctypes.c_int64()
    for k in INT_KEYS:
        check(lib.ms_model_get_int(ptr, k.encode(), _byref(iv), _byref(source)))
        settings[k] = (iv.value, ConfigSource(source.value))
    sv = ctypes.c_char_p()
    check(lib.ms_model_get_str(ptr, b"device", _byref(sv), _byref(source)))
    settings["device"] = (_s(sv.value), ConfigSource(source.value))
    snap = _Snapshot(ptr, lib.ms_model_free) if owner is None else _Snapshot(ptr, lambda p: None, owner)
    return Model(_s(lib.ms_model_name(ptr)), _s(lib.ms_model_version(ptr)), _s(lib.ms_model_runtime(ptr)),
                 _s(lib.ms_model_handler(ptr)), _s(lib.ms_model_archive_path(ptr)),
                 _s(lib.ms_model_content_hash(ptr)), bool(lib.ms_model_is_default(ptr)),
                 bool(lib.ms_model_is_missing(ptr)), settings, snap)


class _Owned(Handle):
    """A C value freed with its _free when its Python owner goes (lists, reports)."""


class Overrides(Handle):
    """Runtime settings: {key: int | str | None}; None clears the key (ms_overrides_clear)."""
    _kind = "overrides"

    def __init__(self, values):
        out = ctypes.c_void_p()
        check(lib.ms_overrides_new(_byref(out)))
        super().__init__(out.value, lib.ms_overrides_free)
        for k, v in dict(values).items():
            if v is None:
                check(lib.ms_overrides_clear(self._p, k.encode()))
            elif isinstance(v, str):
                check(lib.ms_overrides_set_str(self._p, k.encode(), v.encode()))
            else:
                check(lib.ms_overrides_set_int(self._p, k.encode(), int(v)))


def _with_overrides(values, fn):
    if values is None:
        return fn(None)
    with Overrides(values) as ov:
        return fn(ov._p)


def _enc(s):
    return None if s is None else str(s).encode()


def _model_out(fn):
    out = ctypes.c_void_p()
    check(fn(_byref(out)))
    return _model(out.value)


def archive_inspect(archive_path, global_config=None):
    """Read an archive without a store: a Model resolved from it, the global config and the defaults."""
    return _model_out(lambda out: lib.ms_archive_inspect(_enc(archive_path), _enc(global_config), out))


def archive_validate(archive_path, global_config=None):
    """archive_inspect plus the check that every file the manifest names is in the archive."""
    return _model_out(lambda out: lib.ms_archive_validate(_enc(archive_path), _enc(global_config), out))


class ScanReport(tuple):
    """The entries of a scan (ScanEntry), with .counts: {ScanOutcome: number}."""

    def __new__(cls, entries, counts):
        self = super().__new__(cls, entries)
        self.counts = counts
        return self

    def count_outcome(self, outcome):
        return self.counts.get(ScanOutcome(outcome), 0)


class Registry(Handle):
    """Model archives registered in a store; thread safe."""
    _kind = "registry"

    def __init__(self, store, config=None):
        out = ctypes.c_void_p()
        p = store._enter()
        try:
            check(lib.ms_registry_open(p, _enc(config), _byref(out)))
            super().__init__(out.value, lib.ms_registry_close, store)
        finally:
            store._leave()

    def set_limits(self, max_entries, max_total_bytes, max_ratio):
        check(self._call(lib.ms_registry_set_limits, max_entries, max_total_bytes, max_ratio))

    def scan(self, model_store_dir):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_registry_scan, _enc(model_store_dir), _byref(out)))
        rep = out.value
        try:
            path, message = ctypes.c_char_p(), ctypes.c_char_p()
            outcome, status = ctypes.c_int32(), ctypes.c_int()
            entries = []
            for i in range(lib.ms_scan_report_count(rep)):
                check(lib.ms_scan_report_get(rep, i, _byref(path), _byref(outcome), _byref(status), _byref(message)))
                entries.append(ScanEntry(_s(path.value), ScanOutcome(outcome.value), status.value,
                                         _s(message.value)))
            counts = {o: lib.ms_scan_report_count_outcome(rep, o) for o in ScanOutcome}
        finally:
            lib.ms_scan_report_free(rep)
        return ScanReport(entries, {o: n for o, n in counts.items() if n})

    def register(self, archive_path, overrides=None):
        def call(ov):
            out = ctypes.c_void_p()
            check(self._call(lib.ms_registry_register, _enc(archive_path), ov, _byref(out)))
            return _model(out.value)
        return _with_overrides(overrides, call)

    def unregister(self, name, version=None):
        check(self._call(lib.ms_registry_unregister, _enc(name), _enc(version)))

    def set_default(self, name, version):
        check(self._call(lib.ms_registry_set_default, _enc(name), _enc(version)))

    def update(self, name, overrides, version=None):
        _with_overrides(overrides, lambda ov: check(self._call(lib.ms_registry_update, _enc(name), _enc(version), ov)))

    def get(self, name, version=None):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_registry_get, _enc(name), _enc(version), _byref(out)))
        return _model(out.value)

    def list(self, name=None):
        """Every registration (of `name`, or all), by name then registration order."""
        out = ctypes.c_void_p()
        check(self._call(lib.ms_registry_list, _enc(name), _byref(out)))
        owner = _Owned(out.value, lib.ms_model_list_free)  # freed once no Model of it remains
        m = ctypes.c_void_p()
        models = []
        for i in range(lib.ms_model_list_count(owner._p)):
            check(lib.ms_model_list_get(owner._p, i, _byref(m)))
            models.append(_model(m.value, owner))
        return models

    def __iter__(self):
        return iter(self.list())

    def materialize(self, model, root_dir):
        """Extract the model's archive once under root_dir; returns the folder's path."""
        buf = ctypes.create_string_buffer(8192)
        check(self._call(lib.ms_registry_materialize, model._snapshot._p, _enc(root_dir), buf, len(buf)))
        return buf.value.decode()

    def unused_keys(self):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_registry_unused_keys, _byref(out)))
        try:
            k, v, line = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_int64()
            keys = []
            for i in range(lib.ms_key_list_count(out.value)):
                check(lib.ms_key_list_get(out.value, i, _byref(k), _byref(v), _byref(line)))
                keys.append(UnusedKey(_s(k.value), _s(v.value), line.value))
            return keys
        finally:
            lib.ms_key_list_free(out.value)

    def get_global(self, key):
        """A top-level key of the global config file as written; NotFoundError when absent."""
        v = ctypes.c_char_p()
        check(self._call(lib.ms_registry_get_global, _enc(key), _byref(v)))
        return _s(v.value)
