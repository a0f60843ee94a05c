package mserve

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTracker(t *testing.T) *Tracker {
	tr, err := openStore(t).Tracker()
	must(t, err)
	return tr
}

func TestAdmitDenyRelease(t *testing.T) {
	tr := newTracker(t)
	must(t, tr.SetLimit("keypair:AK1", ClassCompute, 2))
	if l, err := tr.Limit("keypair:AK1", ClassCompute); err != nil || l != 2 {
		t.Fatalf("limit %d %v", l, err)
	}
	if l, _ := tr.Limit("user:none", ClassCompute); l != Unlimited {
		t.Fatalf("unset limit %d", l)
	}
	a := Admission{Now: t0}
	must(t, tr.Admit("s1", []string{"keypair:AK1", "user:alice"}, a))
	must(t, tr.Admit("s2", []string{"keypair:AK1"}, a))
	must(t, tr.Admit("s2", []string{"keypair:AK1"}, a)) // a retry counts once
	err := tr.Admit("s3", []string{"user:bob", "keypair:AK1"}, a)
	var d *DenialError
	if !errors.As(err, &d) || d.Scope != "keypair:AK1" || d.Limit != 2 || d.Used != 2 {
		t.Fatalf("want a denial of keypair:AK1 2/2, got %v (%+v)", err, d)
	}
	if !errors.Is(err, ErrLimit) || d.Err.Status != ELimit {
		t.Fatalf("errors.Is(ErrLimit) false for %v", err)
	}
	if err := tr.Admit("s1", []string{"user:other"}, a); !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if held, err := tr.Release("s1", t0); err != nil || !held {
		t.Fatalf("release %v %v", held, err)
	}
	if held, _ := tr.Release("s1", t0); held {
		t.Fatal("released twice")
	}
	must(t, tr.Admit("s3", []string{"user:bob", "keypair:AK1"}, a))
	if n, _ := tr.Used("keypair:AK1", ClassCompute, t0); n != 2 {
		t.Fatalf("used %d", n)
	}
}

func TestLeasesAndTimeConversion(t *testing.T) {
	tr := newTracker(t)
	if _, ok, err := tr.NextExpiry(); ok || err != nil {
		t.Fatal("an expiry with no lease")
	}
	must(t, tr.Admit("s1", []string{"user:a"}, Admission{Class: ClassSystem, Lease: 10 * time.Second, Now: t0}))
	h, err := tr.Held("s1", t0)
	must(t, err)
	if h == nil || h.Class != ClassSystem || !h.Expires.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("held %+v", h)
	}
	must(t, tr.Renew("s1", 20*time.Second, t0))
	if at, ok, _ := tr.NextExpiry(); !ok || !at.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("next expiry %v %v", at, ok)
	}
	if h, _ := tr.Held("s1", t0.Add(20*time.Second)); h != nil {
		t.Fatal("held after its lease")
	}
	if err := tr.Renew("s1", time.Second, t0.Add(21*time.Second)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("renew after expiry: %v", err)
	}
	if n, err := tr.Purge(t0.Add(21*time.Second), 100); err != nil || n != 1 {
		t.Fatalf("purged %d %v", n, err)
	}
	// the zero time is now
	must(t, tr.Admit("s2", []string{"user:a"}, Admission{Lease: time.Minute}))
	h, _ = tr.Held("s2", time.Time{})
	if d := time.Until(h.Expires); d < 50*time.Second || d > 61*time.Second {
		t.Fatalf("a lease of a minute ends in %v", d)
	}
}

// 16 goroutines admit against one limit: exactly the limit is admitted, every
// other attempt is a denial naming the shared scope.
func TestSixteenGoroutinesAgainstOneLimit(t *testing.T) {
	tr := newTracker(t)
	must(t, tr.SetLimit("user:shared", ClassCompute, 10))
	var admitted, denied atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				err := tr.Admit(fmt.Sprintf("g%d-%d", g, k), []string{"user:shared", fmt.Sprintf("user:g%d", g)},
					Admission{Now: t0})
				var d *DenialError
				switch {
				case err == nil:
					admitted.Add(1)
				case errors.As(err, &d) && d.Scope == "user:shared" && d.Used == 10 && d.Limit == 10:
					denied.Add(1)
				default:
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if admitted.Load() != 10 || denied.Load() != 310 {
		t.Fatalf("admitted %d, denied %d", admitted.Load(), denied.Load())
	}
	if n, _ := tr.Used("user:shared", ClassCompute, t0); n != 10 {
		t.Fatalf("used %d", n)
	}
}

// A tick carried on by several goroutines, one after the other, then committed from another.
func TestTickMovesBetweenGoroutines(t *testing.T) {
	tr := newTracker(t)
	must(t, tr.SetLimit("user:a", ClassCompute, 3))
	tick, err := tr.Begin()
	must(t, err)
	for i := 0; i < 4; i++ {
		done := make(chan error)
		go func(i int) { done <- tick.Admit(fmt.Sprintf("s%d", i), []string{"user:a"}, Admission{Now: t0}) }(i)
		err := <-done
		if i < 3 && err != nil || i == 3 && !errors.Is(err, ErrLimit) {
			t.Fatalf("admit %d: %v", i, err)
		}
	}
	if held, err := tick.Release("s2", t0); err != nil || !held {
		t.Fatalf("tick release %v %v", held, err)
	}
	done := make(chan error)
	go func() { done <- tick.Commit() }()
	must(t, <-done)
	if n, _ := tr.Used("user:a", ClassCompute, t0); n != 2 {
		t.Fatalf("used %d after the tick", n)
	}
	if err := tick.Admit("s9", []string{"user:a"}, Admission{Now: t0}); !errors.Is(err, ErrClosed) {
		t.Fatalf("admit after commit: %v", err)
	}
	must(t, tick.Rollback()) // a no-op after commit
}

// Admits of one tick from several goroutines at once wait for each other (C allows it).
func TestTickFromGoroutinesAtOnce(t *testing.T) {
	tr := newTracker(t)
	must(t, tr.SetLimit("user:a", ClassCompute, 40))
	tick, err := tr.Begin()
	must(t, err)
	var wg sync.WaitGroup
	var denied atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				if err := tick.Admit(fmt.Sprintf("g%d-%d", g, k), []string{"user:a"}, Admission{Now: t0}); err != nil {
					if !errors.Is(err, ErrLimit) {
						t.Error(err)
					}
					denied.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	must(t, tick.Commit())
	if n, _ := tr.Used("user:a", ClassCompute, t0); n != 40 || denied.Load() != 40 {
		t.Fatalf("used %d, denied %d", n, denied.Load())
	}
}

func TestTickRollbackAndReconcile(t *testing.T) {
	tr := newTracker(t)
	tick, err := tr.Begin()
	must(t, err)
	must(t, tick.Admit("s1", []string{"user:a"}, Admission{Now: t0}))
	must(t, tick.Rollback())
	if n, _ := tr.Used("user:a", ClassCompute, t0); n != 0 {
		t.Fatal("rollback left a session")
	}
	must(t, tr.Admit("old", []string{"user:a"}, Admission{Now: t0}))
	r, err := tr.Reconcile("")
	must(t, err)
	must(t, r.Add("new", ClassCompute, []string{"user:a", "user:b"}))
	added, removed, err := r.Commit(t0)
	must(t, err)
	if added != 2 || removed != 1 {
		t.Fatalf("added %d removed %d", added, removed)
	}
	r2, err := tr.Reconcile("user:b")
	must(t, err)
	must(t, r2.Rollback())
	if _, _, err := r2.Commit(t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after rollback: %v", err)
	}
}

// The goroutine holding a tick that calls the tracker itself (its call waits
// for the tick, which only that goroutine can end) gets ErrBusy once the
// store's busy timeout ran out, not a deadlock; the tick carries on.
func TestCallsBehindYourOwnTickAreBusyNotADeadlock(t *testing.T) {
	s := openStore(t)
	tr, err := s.Tracker()
	must(t, err)
	defer tr.Close()
	must(t, s.SetBusyTimeout(100*time.Millisecond))
	must(t, tr.SetLimit("user:a", ClassCompute, 1))
	tick, err := tr.Begin()
	must(t, err)
	must(t, tick.Admit("in-tick", []string{"user:a"}, Admission{Now: t0}))
	done := make(chan error, 3)
	go func() {
		done <- tr.Admit("outside", []string{"user:b"}, Admission{Now: t0})
		_, err := tr.Used("user:a", ClassCompute, t0)
		done <- err
		done <- tr.SetLimit("user:b", ClassCompute, 5)
	}()
	for i := 0; i < 3; i++ {
		select {
		case err := <-done:
			if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "tracker tick") {
				t.Fatalf("call %d behind the tick: %v", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("call %d still waits for the tick after 30 s", i)
		}
	}
	must(t, tick.Commit())
	if n, err := tr.Used("user:b", ClassCompute, t0); err != nil || n != 0 {
		t.Fatalf("a refused admit left %d (%v)", n, err)
	}
	if n, _ := tr.Used("user:a", ClassCompute, t0); n != 1 {
		t.Fatalf("the tick's admit: %d", n)
	}
}
