package mserve

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestAutoscalerRulesDecisionsHistory(t *testing.T) {
	s := openStore(t)
	a, err := s.Autoscaler()
	must(t, err)
	must(t, a.SetReplicas("chat", 1))
	up, err := a.AddRule("chat", Rule{Source: "kernel", Metric: "cuda.util", Comparator: CmpGT, Threshold: 80, Step: 1,
		Cooldown: 30 * time.Second, MaxReplicas: Bounded(3)})
	must(t, err)
	down, err := a.AddRule("chat", Rule{Source: "kernel", Metric: "cuda.util", Comparator: CmpLT, Threshold: 20,
		Step: -1, MinReplicas: Bounded(1)})
	must(t, err)
	if _, err := a.AddRule("chat", Rule{Source: "kernel", Metric: "cuda.util", Comparator: CmpLT, Threshold: 90,
		Step: -1}); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), fmt.Sprint("rule ", up)) {
		t.Fatalf("conflict: %v", err)
	}
	// a missing metric never scales
	d, err := a.Explain("chat", t0)
	must(t, err)
	if d.Rules[0].Outcome != RuleNoMetric || !math.IsNaN(d.Rules[0].Value) {
		t.Fatalf("no metric: %+v", d)
	}
	must(t, a.Observe("chat", "kernel", "cuda.util", "r1", 95, t0))
	ds, err := a.Evaluate(t0, false)
	must(t, err)
	if len(ds) != 1 || ds[0].From != 1 || ds[0].To != 2 || ds[0].AppliedRuleID != up || !ds[0].At.Equal(t0) ||
		ds[0].EvaluatedBy != "" { // this call evaluated (one SQLite writer always does)
		t.Fatalf("decision %+v", ds)
	}
	r := ds[0].Rules
	if r[0].Outcome != RuleApplied || r[0].Value != 95 || r[0].Proposed != 2 || r[1].RuleID != down ||
		r[1].Outcome != RuleNotTriggered || RuleApplied.String() != "applied" {
		t.Fatalf("rules %+v", r)
	}
	if !strings.Contains(ds[0].Explanation, fmt.Sprintf("1 -> 2 by rule %d", up)) {
		t.Fatalf("explanation %q", ds[0].Explanation)
	}
	if n, _ := a.Replicas("chat"); n != 2 {
		t.Fatalf("replicas %d", n)
	}
	if at, ok, err := a.NextDeadline(t0.Add(time.Microsecond)); err != nil || !ok || !at.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("next deadline %v %v %v", at, ok, err)
	}
	h, err := a.History("chat", 0)
	must(t, err)
	if len(h) != 1 || h[0].To != 2 {
		t.Fatalf("history %+v", h)
	}
	info, err := a.Rule(up)
	must(t, err)
	if info.Endpoint != "chat" || info.Rule.MaxReplicas != Bounded(3) || info.Rule.MinReplicas != NoBound ||
		info.Rule.Cooldown != 30*time.Second || !info.LastApplied.Equal(t0) {
		t.Fatalf("rule %+v", info)
	}
	rules, err := a.Rules("chat")
	must(t, err)
	if len(rules) != 2 || rules[1].ID != down {
		t.Fatalf("rules %+v", rules)
	}
	must(t, a.SetRuleEnabled(down, false))
	must(t, a.RemoveRule(down))
	if _, err := a.Rule(down); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed rule: %v", err)
	}
	must(t, a.SetMetricTTL(5*time.Second))
	must(t, a.SetReplicas("batch", 0))
	if eps, _ := a.Endpoints(); len(eps) != 2 || eps[1] != "batch" {
		t.Fatalf("endpoints %v", eps)
	}
	must(t, a.RemoveEndpoint("batch"))
	dry, err := a.Evaluate(t0.Add(time.Hour), true)
	must(t, err)
	if len(dry) != 1 {
		t.Fatalf("dry run %+v", dry)
	}
}

// A bound of 0 is a bound: a scale-up rule capped at 0 replicas never fires
// (an unbounded one does), and bounds of 0 read back as 0, not as none.
func TestAReplicaBoundOfZero(t *testing.T) {
	s := openStore(t)
	a, err := s.Autoscaler()
	must(t, err)
	defer a.Close()
	for _, ep := range []string{"paused", "free"} {
		must(t, a.SetReplicas(ep, 0))
	}
	up := Rule{Source: "lb", Metric: "queue", Comparator: CmpGT, Threshold: 10, Step: 1}
	capped := up
	capped.MinReplicas, capped.MaxReplicas = Bounded(0), Bounded(0)
	cappedID, err := a.AddRule("paused", capped)
	must(t, err)
	freeID, err := a.AddRule("free", up)
	must(t, err)
	for _, ep := range []string{"paused", "free"} {
		must(t, a.Observe(ep, "lb", "queue", "r1", 50, t0))
	}
	_, err = a.Evaluate(t0, false)
	must(t, err)
	if n, _ := a.Replicas("paused"); n != 0 {
		t.Errorf("a rule capped at 0 replicas scaled to %d", n)
	}
	if n, _ := a.Replicas("free"); n != 1 {
		t.Errorf("an unbounded rule scaled to %d, want 1", n)
	}
	d, err := a.Explain("paused", t0.Add(time.Second))
	must(t, err)
	if d.Rules[0].Outcome != RuleAtBound {
		t.Errorf("capped rule: %v, want %v", d.Rules[0].Outcome, RuleAtBound)
	}
	info, err := a.Rule(cappedID)
	must(t, err)
	if info.Rule.MinReplicas != Bounded(0) || info.Rule.MaxReplicas != Bounded(0) {
		t.Errorf("bounds read back as %v, %v", info.Rule.MinReplicas, info.Rule.MaxReplicas)
	}
	if info, err = a.Rule(freeID); err != nil || info.Rule.MinReplicas != NoBound || info.Rule.MaxReplicas != NoBound {
		t.Errorf("no bounds read back as %v, %v (%v)", info.Rule.MinReplicas, info.Rule.MaxReplicas, err)
	}
	if n, ok := Bounded(0).Get(); n != 0 || !ok || NoBound.String() != "none" || Bounded(4).String() != "4" {
		t.Errorf("Bound accessors")
	}
	bad := up
	bad.MaxReplicas = Bounded(-1)
	if _, err := a.AddRule("free", bad); !errors.Is(err, ErrInval) || !strings.Contains(err.Error(), "Bounded(-1)") {
		t.Errorf("Bounded(-1): %v", err)
	}
}
