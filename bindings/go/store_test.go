package mserve

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func closed(h *handle) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.p == nil
}

func TestStoreOpenSettingsClose(t *testing.T) {
	s := openStore(t)
	v, err := s.SchemaVersion()
	must(t, err)
	if v != LatestSchema() {
		t.Fatalf("schema %d, latest %d", v, LatestSchema())
	}
	must(t, s.SetBusyTimeout(time.Second))
	must(t, s.SetAutocheckpoint(0))
	if _, err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBusyTimeout(-time.Microsecond); !errors.Is(err, ErrInval) {
		t.Fatalf("want ErrInval, got %v", err)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := s.SchemaVersion(); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
}

func TestClosingTheStoreClosesItsObjectsFirst(t *testing.T) {
	s := openStore(t)
	tr, err := s.Tracker()
	must(t, err)
	tick, err := tr.Begin()
	must(t, err)
	must(t, tick.Admit("s1", []string{"user:a"}, Admission{Now: t0}))
	s.Close()
	if err := tr.Admit("s2", []string{"user:a"}, Admission{Now: t0}); !errors.Is(err, ErrClosed) {
		t.Fatalf("tracker after its store closed: %v", err)
	}
	if err := tick.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("tick after its store closed: %v", err)
	}
	tr.Close()
}

func TestTrackerKeepsItsStoreAliveAndFinalizersFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	tr := func() *Tracker {
		s, err := OpenStore(path, 0)
		must(t, err)
		tr, err := s.Tracker()
		must(t, err)
		return tr // the store is reachable only through the tracker
	}()
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	must(t, tr.SetLimit("user:a", ClassCompute, 1))
	must(t, tr.Admit("s1", []string{"user:a"}, Admission{Now: t0}))
	th, sh := tr.h, tr.store.h
	tr = nil
	// The tracker is finalized first, the store (reachable from it until then) in a later cycle.
	deadline := time.Now().Add(10 * time.Second)
	for !closed(th) || !closed(sh) {
		if time.Now().After(deadline) {
			t.Fatalf("not finalized: tracker %v, store %v", closed(th), closed(sh))
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	s, err := OpenStore(path, 0)
	must(t, err)
	defer s.Close()
	t2, err := s.Tracker()
	must(t, err)
	if n, err := t2.Used("user:a", ClassCompute, t0); err != nil || n != 1 {
		t.Fatalf("used %d, %v", n, err)
	}
}
