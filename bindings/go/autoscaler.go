package mserve

/*
#include <stdlib.h>
#include <mserve.h>
static void gomserve_autoscaler_close(void *p) { ms_autoscaler_close(p); }
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// Comparator of a rule's trigger.
type Comparator int32

// Comparators.
const (
	CmpLT Comparator = C.MS_CMP_LT
	CmpLE Comparator = C.MS_CMP_LE
	CmpGT Comparator = C.MS_CMP_GT
	CmpGE Comparator = C.MS_CMP_GE
)

// Aggregation of the replicas' values.
type Aggregation int32

// Aggregations.
const (
	AggMean Aggregation = C.MS_AGG_MEAN
	AggMax  Aggregation = C.MS_AGG_MAX
	AggMin  Aggregation = C.MS_AGG_MIN
)

// Outcome is what one rule did in one evaluation.
type Outcome int32

// Rule outcomes.
const (
	RuleApplied      Outcome = C.MS_RULE_APPLIED
	RuleNotTriggered Outcome = C.MS_RULE_NOT_TRIGGERED
	RuleNoMetric     Outcome = C.MS_RULE_NO_METRIC
	RuleCooldown     Outcome = C.MS_RULE_COOLDOWN
	RuleAtBound      Outcome = C.MS_RULE_AT_BOUND
	RuleOutvoted     Outcome = C.MS_RULE_OUTVOTED
	RuleDisabled     Outcome = C.MS_RULE_DISABLED
)

// Evaluation flag and history size.
const (
	EvalDryRun           = C.MS_EVAL_DRY_RUN
	AutoscalerHistoryMax = C.MS_AUTOSCALER_HISTORY_MAX
)

// String is the library's name of the outcome ("applied", "not triggered", ...).
func (o Outcome) String() string { return C.GoString(C.ms_rule_outcome_name(C.int(o))) }

// Bound is an optional replica bound of a Rule: NoBound (the zero value) or
// Bounded(n) for any n >= 0, 0 included (MaxReplicas: Bounded(0) keeps a
// scale-up rule from ever leaving 0 replicas).
type Bound struct {
	n   int64
	set bool
}

// NoBound is no bound on that side.
var NoBound = Bound{}

// Bounded is the bound n (>= 0; a negative n makes AddRule fail with ErrInval).
func Bounded(n int64) Bound { return Bound{n: n, set: true} }

// Get is the bound and true, or 0 and false for NoBound.
func (b Bound) Get() (int64, bool) { return b.n, b.set }

// String is the bound as a number, or "none".
func (b Bound) String() string {
	if !b.set {
		return "none"
	}
	return fmt.Sprint(b.n)
}

// Rule fires when Aggregation(metric) <Comparator> Threshold and moves the
// desired count by Step, clamped to [MinReplicas, MaxReplicas] where they are
// set (and to >= 0). The zero Rule has no bounds.
type Rule struct {
	Source, Metric           string
	Comparator               Comparator
	Threshold                float64
	Step                     int64
	Cooldown                 time.Duration
	MinReplicas, MaxReplicas Bound
	Aggregation              Aggregation
	Disabled                 bool
}

// RuleInfo is a rule of an endpoint with its id and last application (zero: never).
type RuleInfo struct {
	ID          int64
	Endpoint    string
	Rule        Rule
	LastApplied time.Time
}

// RuleOutcome is one rule's part in a decision.
type RuleOutcome struct {
	RuleID     int64
	Outcome    Outcome
	Value      float64 // NaN: the metric was missing
	Comparator Comparator
	Threshold  float64
	Step       int64
	Proposed   int64
}

// Decision is one endpoint's result of an evaluation (or a history entry).
type Decision struct {
	Endpoint      string
	At            time.Time
	From, To      int64
	AppliedRuleID int64 // -1: none
	Rules         []RuleOutcome
	Explanation   string
	// EvaluatedBy names the host that evaluated this tick when the result is dry because another host of a shared
	// PostgreSQL store did; "" when this call evaluated (and always on SQLite).
	EvaluatedBy string
}

// Autoscaler turns per-replica metrics into desired replica counts. Safe for concurrent use.
type Autoscaler struct {
	h     *handle
	store *Store
}

// Autoscaler opens the rule engine over the store.
func (s *Store) Autoscaler() (*Autoscaler, error) {
	var out *C.ms_autoscaler
	if err := s.with(func(p *C.ms_store) C.int { return C.ms_autoscaler_open(p, &out) }); err != nil {
		return nil, err
	}
	a := &Autoscaler{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) { C.gomserve_autoscaler_close(p) },
		"autoscaler", s.h), store: s}
	runtime.SetFinalizer(a, (*Autoscaler).Close)
	return a, nil
}

// Close closes the engine (its state stays in the store). Idempotent.
func (a *Autoscaler) Close() error {
	a.h.close()
	return nil
}

func (a *Autoscaler) with(f func(p *C.ms_autoscaler) C.int) error {
	err := a.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_autoscaler)(p)) })
	runtime.KeepAlive(a)
	return err
}

// SetMetricTTL makes observations older than ttl missing.
func (a *Autoscaler) SetMetricTTL(ttl time.Duration) error {
	return a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_set_metric_ttl(p, micros(ttl)) })
}

// SetReplicas sets the desired count, creating the endpoint when new.
func (a *Autoscaler) SetReplicas(endpoint string, replicas int64) error {
	ce := cString(endpoint)
	defer free(ce)
	return a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_set_replicas(p, ce, C.int64_t(replicas)) })
}

// Replicas is the desired count of the endpoint.
func (a *Autoscaler) Replicas(endpoint string) (int64, error) {
	ce := cString(endpoint)
	defer free(ce)
	var v C.int64_t
	err := a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_get_replicas(p, ce, &v) })
	return int64(v), err
}

// RemoveEndpoint deletes the endpoint with its rules, history and observations.
func (a *Autoscaler) RemoveEndpoint(endpoint string) error {
	ce := cString(endpoint)
	defer free(ce)
	return a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_remove_endpoint(p, ce) })
}

// Endpoints lists the endpoints in creation order.
func (a *Autoscaler) Endpoints() ([]string, error) {
	var l *C.ms_endpoint_list
	if err := a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_list_endpoints(p, &l) }); err != nil {
		return nil, err
	}
	defer C.ms_endpoint_list_free(l)
	n := int(C.ms_endpoint_list_count(l))
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var name *C.char
		if err := call(func() C.int { return C.ms_endpoint_list_get(l, C.size_t(i), &name) }); err != nil {
			return nil, err
		}
		names = append(names, goString(name))
	}
	return names, nil
}

// buildRule makes an ms_rule builder from r; the caller frees it.
func buildRule(r Rule) (*C.ms_rule, error) {
	for _, side := range []struct {
		name string
		b    Bound
	}{{"MinReplicas", r.MinReplicas}, {"MaxReplicas", r.MaxReplicas}} {
		if n, ok := side.b.Get(); ok && n < 0 {
			// -1 is C's "no bound": a negative Bounded must not become one.
			return nil, &Error{Status: EInval, Name: StatusName(EInval), Message: fmt.Sprintf(
				"autoscaler: rule: %s is Bounded(%d); a bound is >= 0 (NoBound for none)", side.name, n)}
		}
	}
	var b *C.ms_rule
	if err := call(func() C.int { return C.ms_rule_new(&b) }); err != nil {
		return nil, err
	}
	src, met := cString(r.Source), cString(r.Metric)
	defer free(src)
	defer free(met)
	enabled := C.int(1)
	if r.Disabled {
		enabled = 0
	}
	err := call(func() C.int {
		if st := C.ms_rule_set_metric(b, src, met); st != 0 {
			return st
		}
		if st := C.ms_rule_set_trigger(b, C.ms_comparator(r.Comparator), C.double(r.Threshold)); st != 0 {
			return st
		}
		if st := C.ms_rule_set_step(b, C.int64_t(r.Step)); st != 0 {
			return st
		}
		if st := C.ms_rule_set_cooldown(b, micros(r.Cooldown)); st != 0 {
			return st
		}
		if st := C.ms_rule_set_bounds(b, bound(r.MinReplicas), bound(r.MaxReplicas)); st != 0 {
			return st
		}
		if st := C.ms_rule_set_aggregation(b, C.ms_aggregation(r.Aggregation)); st != 0 {
			return st
		}
		return C.ms_rule_set_enabled(b, enabled)
	})
	if err != nil {
		C.ms_rule_free(b)
		return nil, err
	}
	return b, nil
}

// bound is the C value of b: -1 for no bound.
func bound(b Bound) C.int64_t {
	if n, ok := b.Get(); ok {
		return C.int64_t(n)
	}
	return -1
}

func unbound(n C.int64_t) Bound {
	if n < 0 {
		return NoBound
	}
	return Bounded(int64(n))
}

// AddRule adds a rule to an existing endpoint and returns its id.
func (a *Autoscaler) AddRule(endpoint string, r Rule) (int64, error) {
	b, err := buildRule(r)
	if err != nil {
		return 0, err
	}
	defer C.ms_rule_free(b)
	ce := cString(endpoint)
	defer free(ce)
	var id C.int64_t
	err = a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_add_rule(p, ce, b, &id) })
	return int64(id), err
}

// RemoveRule deletes a rule.
func (a *Autoscaler) RemoveRule(id int64) error {
	return a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_remove_rule(p, C.int64_t(id)) })
}

// SetRuleEnabled enables or disables a rule (enabling re-checks conflicts).
func (a *Autoscaler) SetRuleEnabled(id int64, enabled bool) error {
	e := C.int(0)
	if enabled {
		e = 1
	}
	return a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_set_rule_enabled(p, C.int64_t(id), e) })
}

func ruleInfo(r *C.ms_rule) (RuleInfo, error) {
	var src, met, ep *C.char
	var cmp C.ms_comparator
	var agg C.ms_aggregation
	var thr C.double
	var step, cool, lo, hi, id, last C.int64_t
	var enabled, has C.int
	err := call(func() C.int {
		for _, st := range []C.int{C.ms_rule_get_metric(r, &src, &met), C.ms_rule_get_trigger(r, &cmp, &thr),
			C.ms_rule_get_step(r, &step), C.ms_rule_get_cooldown(r, &cool), C.ms_rule_get_bounds(r, &lo, &hi),
			C.ms_rule_get_aggregation(r, &agg), C.ms_rule_get_enabled(r, &enabled),
			C.ms_rule_get_state(r, &id, &ep, &has, &last)} {
			if st != 0 {
				return st
			}
		}
		return 0
	})
	if err != nil {
		return RuleInfo{}, err
	}
	info := RuleInfo{ID: int64(id), Endpoint: goString(ep), Rule: Rule{Source: goString(src), Metric: goString(met),
		Comparator: Comparator(cmp), Threshold: float64(thr), Step: int64(step),
		Cooldown: time.Duration(cool) * time.Microsecond, MinReplicas: unbound(lo), MaxReplicas: unbound(hi),
		Aggregation: Aggregation(agg), Disabled: enabled == 0}}
	if has != 0 {
		info.LastApplied = epochTime(int64(last))
	}
	return info, nil
}

// Rule is a snapshot of one rule.
func (a *Autoscaler) Rule(id int64) (RuleInfo, error) {
	var r *C.ms_rule
	if err := a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_get_rule(p, C.int64_t(id), &r) }); err != nil {
		return RuleInfo{}, err
	}
	defer C.ms_rule_free(r)
	return ruleInfo(r)
}

// Rules lists the endpoint's rules in id order.
func (a *Autoscaler) Rules(endpoint string) ([]RuleInfo, error) {
	ce := cString(endpoint)
	defer free(ce)
	var l *C.ms_rule_list
	if err := a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_list_rules(p, ce, &l) }); err != nil {
		return nil, err
	}
	defer C.ms_rule_list_free(l)
	n := int(C.ms_rule_list_count(l))
	out := make([]RuleInfo, 0, n)
	for i := 0; i < n; i++ {
		var r *C.ms_rule
		if err := call(func() C.int { return C.ms_rule_list_get(l, C.size_t(i), &r) }); err != nil {
			return nil, err
		}
		info, err := ruleInfo(r)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Observe records a metric value of a replica ("" : endpoint-wide) at now (zero: now).
func (a *Autoscaler) Observe(endpoint, source, metric, replica string, value float64, now time.Time) error {
	ce, cs, cm, cr := cString(endpoint), cString(source), cString(metric), cStringOrNil(replica)
	defer free(ce)
	defer free(cs)
	defer free(cm)
	defer free(cr)
	return a.with(func(p *C.ms_autoscaler) C.int {
		return C.ms_autoscaler_observe(p, ce, cs, cm, cr, C.double(value), epochMicros(now))
	})
}

func decisionAt(d *C.ms_decisions, i int) (Decision, error) {
	var ep *C.char
	var at, from, to, applied C.int64_t
	if err := call(func() C.int { return C.ms_decisions_get(d, C.size_t(i), &ep, &at, &from, &to, &applied) }); err != nil {
		return Decision{}, err
	}
	dec := Decision{Endpoint: goString(ep), At: epochTime(int64(at)), From: int64(from), To: int64(to),
		AppliedRuleID: int64(applied)}
	n := int(C.ms_decisions_rule_count(d, C.size_t(i)))
	for j := 0; j < n; j++ {
		var id, step, prop C.int64_t
		var oc C.ms_rule_outcome
		var cmp C.ms_comparator
		var val, thr C.double
		err := call(func() C.int {
			if st := C.ms_decisions_get_rule(d, C.size_t(i), C.size_t(j), &id, &oc, &val); st != 0 {
				return st
			}
			return C.ms_decisions_get_rule_detail(d, C.size_t(i), C.size_t(j), &cmp, &thr, &step, &prop)
		})
		if err != nil {
			return Decision{}, err
		}
		dec.Rules = append(dec.Rules, RuleOutcome{int64(id), Outcome(oc), float64(val), Comparator(cmp), float64(thr),
			int64(step), int64(prop)})
	}
	var needed C.size_t
	C.ms_decisions_explain(d, C.size_t(i), nil, 0, &needed) // MS_EINVAL (no buffer), with the length
	buf := (*C.char)(C.malloc(needed + 1))
	defer C.free(unsafe.Pointer(buf))
	if err := call(func() C.int { return C.ms_decisions_explain(d, C.size_t(i), buf, needed+1, nil) }); err != nil {
		return Decision{}, err
	}
	dec.Explanation = C.GoString(buf)
	return dec, nil
}

func decisions(d *C.ms_decisions) ([]Decision, error) {
	defer C.ms_decisions_free(d)
	n := int(C.ms_decisions_count(d))
	by := goString(C.ms_decisions_evaluated_by(d))
	out := make([]Decision, 0, n)
	for i := 0; i < n; i++ {
		dec, err := decisionAt(d, i)
		if err != nil {
			return nil, err
		}
		dec.EvaluatedBy = by
		out = append(out, dec)
	}
	return out, nil
}

func (a *Autoscaler) evaluate(now time.Time, flags C.uint) (*C.ms_decisions, error) {
	var d *C.ms_decisions
	err := a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_evaluate(p, epochMicros(now), flags, &d) })
	return d, err
}

// Evaluate runs every endpoint's rules at now and applies the result (dryRun: changes nothing).
func (a *Autoscaler) Evaluate(now time.Time, dryRun bool) ([]Decision, error) {
	flags := C.uint(0)
	if dryRun {
		flags = EvalDryRun
	}
	d, err := a.evaluate(now, flags)
	if err != nil {
		return nil, err
	}
	return decisions(d)
}

// Explain is what an evaluation at now would decide for one endpoint (a dry run).
func (a *Autoscaler) Explain(endpoint string, now time.Time) (Decision, error) {
	d, err := a.evaluate(now, EvalDryRun)
	if err != nil {
		return Decision{}, err
	}
	defer C.ms_decisions_free(d)
	ce := cString(endpoint)
	defer free(ce)
	var i C.size_t
	if err := call(func() C.int { return C.ms_decisions_find(d, ce, &i) }); err != nil {
		return Decision{}, err
	}
	return decisionAt(d, int(i))
}

// NextDeadline is when time alone next changes a decision; ok false: never.
func (a *Autoscaler) NextDeadline(now time.Time) (at time.Time, ok bool, err error) {
	var v C.int64_t
	err = a.with(func(p *C.ms_autoscaler) C.int { return C.ms_autoscaler_next_deadline(p, epochMicros(now), &v) })
	if err != nil || int64(v) == never {
		return time.Time{}, false, err
	}
	return epochTime(int64(v)), true, nil
}

// History is the endpoint's last maxEntries changes (0: all kept), oldest first.
func (a *Autoscaler) History(endpoint string, maxEntries int) ([]Decision, error) {
	ce := cString(endpoint)
	defer free(ce)
	var d *C.ms_decisions
	if err := a.with(func(p *C.ms_autoscaler) C.int {
		return C.ms_autoscaler_history(p, ce, C.size_t(maxEntries), &d)
	}); err != nil {
		return nil, err
	}
	return decisions(d)
}
