"""The autoscaling rule engine (autoscaler.h): rules, observations, decisions explained."""
import ctypes
import time
from collections import namedtuple
from dataclasses import dataclass
from typing import Optional

from ._handle import Handle
from ._lib import lib
from .constants import EVAL_DRY_RUN, Aggregation, Comparator, Outcome, Status
from .errors import InvalidError, check

_byref = ctypes.byref
_NONE = 2**63 - 1


@dataclass(frozen=True)
class Rule:
    """A rule to add: fire when `aggregation(metric) <comparator> threshold`, moving the count by step.
    min_replicas / max_replicas: None (no bound) or a count >= 0 (0 is a bound: max_replicas=0 keeps
    a scale-up rule from ever leaving 0 replicas)."""
    source: str
    metric: str
    comparator: Comparator
    threshold: float
    step: int
    cooldown_us: int = 0
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None
    aggregation: Aggregation = Aggregation.MEAN
    enabled: bool = True


RuleInfo = namedtuple("RuleInfo", "id endpoint rule last_applied_us")
RuleInfo.__doc__ = "A rule of an endpoint: its id, endpoint, Rule and last application (None: never)."

RuleOutcome = namedtuple("RuleOutcome", "rule_id outcome value comparator threshold step proposed")
RuleOutcome.__doc__ = ("What one rule did in one evaluation: Outcome, metric value (NaN: missing), its trigger "
                       "and step, and the count it proposed.")

# evaluated_by: the host that evaluated the tick when this result is dry because another host of a shared
# PostgreSQL store did; None when this call evaluated (always on SQLite). Defaults to None for callers that
# build a Decision themselves.
Decision = namedtuple("Decision", "endpoint at_us before after applied_rule_id rules explanation evaluated_by",
                      defaults=(None,))
Decision.__doc__ = ("One endpoint's result: its count before and after, the applied rule (None: none), "
                    "every RuleOutcome and the library's one-line explanation.")


def outcome_name(outcome):
    """ms_rule_outcome_name: "applied", "not triggered", ..."""
    return lib.ms_rule_outcome_name(int(outcome)).decode()


class _Builder(Handle):
    _kind = "rule"

    def __init__(self, rule):
        out = ctypes.c_void_p()
        check(lib.ms_rule_new(_byref(out)))
        super().__init__(out.value, lib.ms_rule_free)
        p = self._p
        check(lib.ms_rule_set_metric(p, rule.source.encode(), rule.metric.encode()))
        check(lib.ms_rule_set_trigger(p, int(rule.comparator), float(rule.threshold)))
        check(lib.ms_rule_set_step(p, rule.step))
        check(lib.ms_rule_set_cooldown(p, rule.cooldown_us))
        check(lib.ms_rule_set_bounds(p, _bound("min_replicas", rule.min_replicas),
                                     _bound("max_replicas", rule.max_replicas)))
        check(lib.ms_rule_set_aggregation(p, int(rule.aggregation)))
        check(lib.ms_rule_set_enabled(p, 1 if rule.enabled else 0))


def _bound(name, n):
    """The C value of a bound: -1 for None; a negative count must not become C's "no bound"."""
    if n is None:
        return -1
    if n < 0:
        raise InvalidError(Status.EINVAL, "autoscaler: rule: %s is %d; a bound is None or a count >= 0" % (name, n))
    return n


def _rule_info(p):
    src, name, ep = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
    cmp_, agg, enabled, has = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int(), ctypes.c_int()
    thr = ctypes.c_double()
    step, cool, lo, hi, rid, last = (ctypes.c_int64() for _ in range(6))
    check(lib.ms_rule_get_metric(p, _byref(src), _byref(name)))
    check(lib.ms_rule_get_trigger(p, _byref(cmp_), _byref(thr)))
    check(lib.ms_rule_get_step(p, _byref(step)))
    check(lib.ms_rule_get_cooldown(p, _byref(cool)))
    check(lib.ms_rule_get_bounds(p, _byref(lo), _byref(hi)))
    check(lib.ms_rule_get_aggregation(p, _byref(agg)))
    check(lib.ms_rule_get_enabled(p, _byref(enabled)))
    check(lib.ms_rule_get_state(p, _byref(rid), _byref(ep), _byref(has), _byref(last)))
    rule = Rule(src.value.decode(), name.value.decode(), Comparator(cmp_.value), thr.value, step.value, cool.value,
                None if lo.value < 0 else lo.value, None if hi.value < 0 else hi.value, Aggregation(agg.value),
                bool(enabled.value))
    return RuleInfo(rid.value, ep.value.decode(), rule, last.value if has.value else None)


def _entry(d, i, by=None):
    """Decision i of an ms_decisions (by: who evaluated it, for a dry result of another host's tick)."""
    ep, at, before, after, applied = ctypes.c_char_p(), *(ctypes.c_int64() for _ in range(4))
    check(lib.ms_decisions_get(d, i, _byref(ep), _byref(at), _byref(before), _byref(after), _byref(applied)))
    rid, step, proposed = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    outcome, cmp_ = ctypes.c_int32(), ctypes.c_int32()
    value, thr = ctypes.c_double(), ctypes.c_double()
    rules = []
    for j in range(lib.ms_decisions_rule_count(d, i)):
        check(lib.ms_decisions_get_rule(d, i, j, _byref(rid), _byref(outcome), _byref(value)))
        check(lib.ms_decisions_get_rule_detail(d, i, j, _byref(cmp_), _byref(thr), _byref(step), _byref(proposed)))
        rules.append(RuleOutcome(rid.value, Outcome(outcome.value), value.value, Comparator(cmp_.value), thr.value,
                                 step.value, proposed.value))
    needed = ctypes.c_size_t()
    lib.ms_decisions_explain(d, i, None, 0, _byref(needed))  # MS_EINVAL (no buffer), with the length
    buf = ctypes.create_string_buffer(needed.value + 1)
    check(lib.ms_decisions_explain(d, i, buf, len(buf), None))
    return Decision(ep.value.decode(), at.value, before.value, after.value,
                    None if applied.value < 0 else applied.value, rules, buf.value.decode(), by)


def _decisions(d):
    """Copy an ms_decisions into Decision tuples and free it."""
    try:
        by = lib.ms_decisions_evaluated_by(d)
        by = by.decode() if by is not None else None
        return [_entry(d, i, by) for i in range(lib.ms_decisions_count(d))]
    finally:
        lib.ms_decisions_free(d)


class Autoscaler(Handle):
    """Per-endpoint replica rules over a store; thread safe (observe from many threads)."""
    _kind = "autoscaler"

    def __init__(self, store):
        out = ctypes.c_void_p()
        p = store._enter()
        try:
            check(lib.ms_autoscaler_open(p, _byref(out)))
            super().__init__(out.value, lib.ms_autoscaler_close, store)
        finally:
            store._leave()

    def set_metric_ttl(self, ttl_us):
        check(self._call(lib.ms_autoscaler_set_metric_ttl, ttl_us))

    def set_replicas(self, endpoint, replicas):
        """Set the desired count, creating the endpoint when new."""
        check(self._call(lib.ms_autoscaler_set_replicas, endpoint.encode(), replicas))

    def get_replicas(self, endpoint):
        v = ctypes.c_int64()
        check(self._call(lib.ms_autoscaler_get_replicas, endpoint.encode(), _byref(v)))
        return v.value

    def remove_endpoint(self, endpoint):
        check(self._call(lib.ms_autoscaler_remove_endpoint, endpoint.encode()))

    def endpoints(self):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_list_endpoints, _byref(out)))
        try:
            name = ctypes.c_char_p()
            names = []
            for i in range(lib.ms_endpoint_list_count(out.value)):
                check(lib.ms_endpoint_list_get(out.value, i, _byref(name)))
                names.append(name.value.decode())
            return names
        finally:
            lib.ms_endpoint_list_free(out.value)

    def add_rule(self, endpoint, rule):
        """Add `rule` (a Rule) to an existing endpoint; returns its id. ConflictError names the other rule."""
        rid = ctypes.c_int64()
        with _Builder(rule) as b:
            check(self._call(lib.ms_autoscaler_add_rule, endpoint.encode(), b._p, _byref(rid)))
        return rid.value

    def remove_rule(self, rule_id):
        check(self._call(lib.ms_autoscaler_remove_rule, rule_id))

    def set_rule_enabled(self, rule_id, enabled):
        check(self._call(lib.ms_autoscaler_set_rule_enabled, rule_id, 1 if enabled else 0))

    def get_rule(self, rule_id):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_get_rule, rule_id, _byref(out)))
        try:
            return _rule_info(out.value)
        finally:
            lib.ms_rule_free(out.value)

    def rules(self, endpoint):
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_list_rules, endpoint.encode(), _byref(out)))
        try:
            r = ctypes.c_void_p()
            infos = []
            for i in range(lib.ms_rule_list_count(out.value)):
                check(lib.ms_rule_list_get(out.value, i, _byref(r)))
                infos.append(_rule_info(r.value))
            return infos
        finally:
            lib.ms_rule_list_free(out.value)

    def observe(self, endpoint, source, metric, value, replica=None, now_us=None):
        """Record a metric value of one replica (None: endpoint-wide)."""
        check(self._call(lib.ms_autoscaler_observe, endpoint.encode(), source.encode(), metric.encode(),
                                        None if replica is None else replica.encode(), float(value),
                                        time.time_ns() // 1000 if now_us is None else now_us))

    def evaluate(self, now_us=None, dry_run=False):
        """Run every endpoint's rules; returns a Decision per endpoint, in creation order."""
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_evaluate, time.time_ns() // 1000 if now_us is None else now_us,
                                         EVAL_DRY_RUN if dry_run else 0, _byref(out)))
        return _decisions(out.value)

    def explain(self, endpoint, now_us=None):
        """What an evaluation at now_us would decide for one endpoint (a dry run): its Decision."""
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_evaluate, time.time_ns() // 1000 if now_us is None else now_us,
                                         EVAL_DRY_RUN, _byref(out)))
        try:
            i = ctypes.c_size_t()
            check(lib.ms_decisions_find(out.value, endpoint.encode(), _byref(i)))
            return _entry(out.value, i.value)
        finally:
            lib.ms_decisions_free(out.value)

    def next_deadline(self, now_us=None):
        """When time alone next changes a decision (µs), or None when it never does."""
        v = ctypes.c_int64()
        check(self._call(lib.ms_autoscaler_next_deadline, time.time_ns() // 1000 if now_us is None else now_us,
                                              _byref(v)))
        return None if v.value == _NONE else v.value

    def history(self, endpoint, max_entries=0):
        """The endpoint's last changes (oldest first) as Decisions."""
        out = ctypes.c_void_p()
        check(self._call(lib.ms_autoscaler_history, endpoint.encode(), max_entries, _byref(out)))
        return _decisions(out.value)
