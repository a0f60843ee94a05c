"""The C API as ctypes sees it: one entry per public function of include/mserve/*.h.

NAME: (restype, [argtypes]). Enums are c_int32, handles c_void_p, strings
c_char_p (bytes). tests/test_exports.py compares these names with the
library's exported symbols, so a C function without an entry fails the tests.
"""
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_size_t, c_uint, c_uint64, c_void_p)


class Denial(Structure):
    """ms_denial: fixed layout."""
    _fields_ = [("scope", c_char * 256), ("limit", c_int64), ("used", c_int64)]


LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
HANDLER_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_float), c_int64, c_int64, POINTER(c_float), c_int64)

ST = c_int            # an ms_status
H = c_void_p          # an opaque handle
OUT_H = POINTER(c_void_p)
S = c_char_p
OUT_S = POINTER(c_char_p)
I64 = c_int64
OUT_I64 = POINTER(c_int64)
SZ = c_size_t
OUT_SZ = POINTER(c_size_t)
E = c_int32           # an enum
OUT_E = POINTER(c_int32)
INT = c_int
OUT_INT = POINTER(c_int)
D = c_double
OUT_D = POINTER(c_double)
SCOPES = POINTER(c_char_p)
DENIAL = POINTER(Denial)
FLOATS = POINTER(c_float)

SIGNATURES = {
    # common.h
    "ms_status_name": (S, [INT]),
    "ms_errmsg": (S, []),
    "ms_version": (S, []),
    "ms_version_number": (INT, []),
    "ms_clock_realtime_us": (I64, []),
    "ms_clock_monotonic_us": (I64, []),
    "ms_set_log": (ST, [LOG_FN, INT, c_void_p]),
    # store.h
    "ms_store_open": (ST, [S, c_uint, OUT_H]),
    "ms_store_close": (None, [H]),
    "ms_store_set_busy_timeout": (ST, [H, I64]),
    "ms_store_schema_version": (ST, [H, OUT_I64]),
    "ms_store_checkpoint": (ST, [H, OUT_I64]),
    "ms_store_set_autocheckpoint": (ST, [H, I64]),
    "ms_store_latest_schema": (I64, []),
    # tracker.h
    "ms_tracker_open": (ST, [H, OUT_H]),
    "ms_tracker_close": (None, [H]),
    "ms_tracker_set_limit": (ST, [H, S, E, I64]),
    "ms_tracker_get_limit": (ST, [H, S, E, OUT_I64]),
    "ms_tracker_admit": (ST, [H, S, E, SCOPES, SZ, I64, I64, DENIAL]),
    "ms_tracker_release": (ST, [H, S, I64, OUT_INT]),
    "ms_tracker_renew": (ST, [H, S, I64, I64]),
    "ms_tracker_get_used": (ST, [H, S, E, I64, OUT_I64]),
    "ms_tracker_get_held": (ST, [H, S, I64, OUT_INT, OUT_E, OUT_I64]),
    "ms_tracker_next_expiry": (ST, [H, OUT_I64]),
    "ms_tracker_purge": (ST, [H, I64, I64, OUT_I64]),
    "ms_tracker_begin": (ST, [H, OUT_H]),
    "ms_tracker_txn_admit": (ST, [H, S, E, SCOPES, SZ, I64, I64, DENIAL]),
    "ms_tracker_txn_release": (ST, [H, S, I64, OUT_INT]),
    "ms_tracker_txn_commit": (ST, [H]),
    "ms_tracker_txn_rollback": (None, [H]),
    "ms_tracker_reconcile_begin": (ST, [H, S, OUT_H]),
    "ms_reconcile_add": (ST, [H, S, E, SCOPES, SZ]),
    "ms_reconcile_commit": (ST, [H, I64, OUT_I64, OUT_I64]),
    "ms_reconcile_rollback": (None, [H]),
    # registry.h
    "ms_registry_open": (ST, [H, S, OUT_H]),
    "ms_registry_close": (None, [H]),
    "ms_registry_set_limits": (ST, [H, I64, I64, I64]),
    "ms_registry_unused_keys": (ST, [H, OUT_H]),
    "ms_key_list_count": (SZ, [H]),
    "ms_key_list_get": (ST, [H, SZ, OUT_S, OUT_S, OUT_I64]),
    "ms_key_list_free": (None, [H]),
    "ms_registry_get_global": (ST, [H, S, OUT_S]),
    "ms_registry_scan": (ST, [H, S, OUT_H]),
    "ms_registry_register": (ST, [H, S, H, OUT_H]),
    "ms_registry_unregister": (ST, [H, S, S]),
    "ms_registry_set_default": (ST, [H, S, S]),
    "ms_registry_update": (ST, [H, S, S, H]),
    "ms_registry_get": (ST, [H, S, S, OUT_H]),
    "ms_registry_list": (ST, [H, S, OUT_H]),
    "ms_registry_materialize": (ST, [H, H, S, POINTER(c_char), SZ]),
    "ms_archive_inspect": (ST, [S, S, OUT_H]),
    "ms_archive_validate": (ST, [S, S, OUT_H]),
    "ms_overrides_new": (ST, [OUT_H]),
    "ms_overrides_set_int": (ST, [H, S, I64]),
    "ms_overrides_set_str": (ST, [H, S, S]),
    "ms_overrides_clear": (ST, [H, S]),
    "ms_overrides_free": (None, [H]),
    "ms_model_name": (S, [H]),
    "ms_model_version": (S, [H]),
    "ms_model_runtime": (S, [H]),
    "ms_model_handler": (S, [H]),
    "ms_model_archive_path": (S, [H]),
    "ms_model_content_hash": (S, [H]),
    "ms_model_is_default": (INT, [H]),
    "ms_model_is_missing": (INT, [H]),
    "ms_model_get_int": (ST, [H, S, OUT_I64, OUT_E]),
    "ms_model_get_str": (ST, [H, S, OUT_S, OUT_E]),
    "ms_model_setting_count": (SZ, [H]),
    "ms_model_get_setting": (ST, [H, SZ, OUT_S, OUT_S, OUT_E]),
    "ms_model_free": (None, [H]),
    "ms_model_list_count": (SZ, [H]),
    "ms_model_list_get": (ST, [H, SZ, OUT_H]),
    "ms_model_list_free": (None, [H]),
    "ms_scan_report_count_outcome": (SZ, [H, E]),
    "ms_scan_report_count": (SZ, [H]),
    "ms_scan_report_get": (ST, [H, SZ, OUT_S, OUT_E, OUT_INT, OUT_S]),
    "ms_scan_report_free": (None, [H]),
    # autoscaler.h
    "ms_autoscaler_open": (ST, [H, OUT_H]),
    "ms_autoscaler_close": (None, [H]),
    "ms_autoscaler_set_metric_ttl": (ST, [H, I64]),
    "ms_autoscaler_set_replicas": (ST, [H, S, I64]),
    "ms_autoscaler_get_replicas": (ST, [H, S, OUT_I64]),
    "ms_autoscaler_remove_endpoint": (ST, [H, S]),
    "ms_autoscaler_list_endpoints": (ST, [H, OUT_H]),
    "ms_endpoint_list_count": (SZ, [H]),
    "ms_endpoint_list_get": (ST, [H, SZ, OUT_S]),
    "ms_endpoint_list_free": (None, [H]),
    "ms_rule_new": (ST, [OUT_H]),
    "ms_rule_set_metric": (ST, [H, S, S]),
    "ms_rule_set_trigger": (ST, [H, E, D]),
    "ms_rule_set_step": (ST, [H, I64]),
    "ms_rule_set_cooldown": (ST, [H, I64]),
    "ms_rule_set_bounds": (ST, [H, I64, I64]),
    "ms_rule_set_aggregation": (ST, [H, E]),
    "ms_rule_set_enabled": (ST, [H, INT]),
    "ms_rule_free": (None, [H]),
    "ms_rule_get_metric": (ST, [H, OUT_S, OUT_S]),
    "ms_rule_get_trigger": (ST, [H, OUT_E, OUT_D]),
    "ms_rule_get_step": (ST, [H, OUT_I64]),
    "ms_rule_get_cooldown": (ST, [H, OUT_I64]),
    "ms_rule_get_bounds": (ST, [H, OUT_I64, OUT_I64]),
    "ms_rule_get_aggregation": (ST, [H, OUT_E]),
    "ms_rule_get_enabled": (ST, [H, OUT_INT]),
    "ms_rule_get_state": (ST, [H, OUT_I64, OUT_S, OUT_INT, OUT_I64]),
    "ms_autoscaler_add_rule": (ST, [H, S, H, OUT_I64]),
    "ms_autoscaler_remove_rule": (ST, [H, I64]),
    "ms_autoscaler_set_rule_enabled": (ST, [H, I64, INT]),
    "ms_autoscaler_list_rules": (ST, [H, S, OUT_H]),
    "ms_rule_list_count": (SZ, [H]),
    "ms_rule_list_get": (ST, [H, SZ, OUT_H]),
    "ms_rule_list_free": (None, [H]),
    "ms_autoscaler_get_rule": (ST, [H, I64, OUT_H]),
    "ms_autoscaler_observe": (ST, [H, S, S, S, S, D, I64]),
    "ms_autoscaler_evaluate": (ST, [H, I64, c_uint, OUT_H]),
    "ms_autoscaler_next_deadline": (ST, [H, I64, OUT_I64]),
    "ms_autoscaler_history": (ST, [H, S, SZ, OUT_H]),
    "ms_decisions_count": (SZ, [H]),
    "ms_decisions_evaluated_by": (S, [H]),
    "ms_decisions_get": (ST, [H, SZ, OUT_S, OUT_I64, OUT_I64, OUT_I64, OUT_I64]),
    "ms_decisions_rule_count": (SZ, [H, SZ]),
    "ms_decisions_get_rule": (ST, [H, SZ, SZ, OUT_I64, OUT_E, OUT_D]),
    "ms_decisions_get_rule_detail": (ST, [H, SZ, SZ, OUT_E, OUT_D, OUT_I64, OUT_I64]),
    "ms_decisions_find": (ST, [H, S, OUT_SZ]),
    "ms_decisions_explain": (ST, [H, SZ, POINTER(c_char), SZ, OUT_SZ]),
    "ms_decisions_free": (None, [H]),
    "ms_rule_outcome_name": (S, [INT]),
    # batcher.h
    "ms_batcher_new": (ST, [OUT_H]),
    "ms_batcher_free": (None, [H]),
    "ms_batcher_configure": (ST, [H, H]),
    "ms_batcher_set_max_batch": (ST, [H, I64]),
    "ms_batcher_set_max_delay": (ST, [H, I64]),
    "ms_batcher_set_preferred_sizes": (ST, [H, OUT_I64, SZ]),
    "ms_batcher_set_max_queue": (ST, [H, I64]),
    "ms_batcher_set_priority_levels": (ST, [H, INT, INT]),
    "ms_batcher_set_queue_policy": (ST, [H, INT, E, I64, INT]),
    "ms_batcher_submit": (ST, [H, c_uint64, I64, INT, I64, I64]),
    "ms_batcher_cancel": (ST, [H, c_uint64]),
    "ms_batcher_shutdown": (ST, [H]),
    "ms_batcher_poll": (ST, [H, I64, OUT_H]),
    "ms_batcher_next_deadline": (ST, [H, OUT_I64]),
    "ms_batcher_fd": (ST, [H, OUT_INT]),
    "ms_batcher_wait": (ST, [H, I64, OUT_H]),
    "ms_batcher_stats": (ST, [H, I64, OUT_I64, OUT_I64, OUT_I64]),
    "ms_batch_status": (INT, [H]),
    "ms_batch_count": (SZ, [H]),
    "ms_batch_items": (I64, [H]),
    "ms_batch_get": (ST, [H, SZ, POINTER(c_uint64), OUT_I64, OUT_I64]),
    "ms_batch_formed_us": (I64, [H]),
    "ms_batch_free": (None, [H]),
    # executor.h
    "ms_executor_open": (ST, [S, S, OUT_H]),
    "ms_executor_open_handler": (ST, [HANDLER_FN, c_void_p, I64, I64, OUT_H]),
    "ms_executor_close": (None, [H]),
    "ms_executor_dims": (ST, [H, OUT_I64, OUT_I64]),
    "ms_executor_set_max_batch": (ST, [H, I64]),
    "ms_executor_get_max_batch": (ST, [H, OUT_I64]),
    "ms_executor_set_threads": (ST, [H, INT]),
    "ms_executor_device": (S, [H]),
    "ms_executor_run": (ST, [H, FLOATS, I64, FLOATS]),
    "ms_executor_cuda_available": (INT, [INT]),
}
