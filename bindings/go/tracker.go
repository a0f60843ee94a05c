package mserve

/*
#include <stdlib.h>
#include <mserve.h>
static void gomserve_tracker_close(void *p) { ms_tracker_close(p); }
static void gomserve_txn_rollback(void *p) { ms_tracker_txn_rollback(p); }
static void gomserve_reconcile_rollback(void *p) { ms_reconcile_rollback(p); }
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// Class is a session class (ms_session_class).
type Class int32

// Session classes, limited apart.
const (
	ClassCompute Class = C.MS_CLASS_COMPUTE
	ClassSystem  Class = C.MS_CLASS_SYSTEM // sftp / private sessions
)

// Unlimited as a limit removes it. MaxScopes is the most scopes one admission names.
const (
	Unlimited = C.MS_UNLIMITED
	MaxScopes = C.MS_TRACKER_MAX_SCOPES
)

// Admission is how a session is admitted: its class, its lease (0: none) and
// the time of the call (zero: now).
type Admission struct {
	Class Class
	Lease time.Duration
	Now   time.Time
}

// Tracker admits sessions against per-(scope, class) limits. Safe for
// concurrent use from any number of goroutines.
type Tracker struct {
	h     *handle
	store *Store // kept alive while the tracker is
}

// Tracker opens a tracker over the store.
func (s *Store) Tracker() (*Tracker, error) {
	var out *C.ms_tracker
	if err := s.with(func(p *C.ms_store) C.int { return C.ms_tracker_open(p, &out) }); err != nil {
		return nil, err
	}
	t := &Tracker{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) { C.gomserve_tracker_close(p) },
		"tracker", s.h), store: s}
	runtime.SetFinalizer(t, (*Tracker).Close)
	return t, nil
}

// Close rolls back the tracker's open ticks and closes it. Idempotent.
func (t *Tracker) Close() error {
	t.h.close()
	return nil
}

func (t *Tracker) with(f func(p *C.ms_tracker) C.int) error {
	err := t.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_tracker)(p)) })
	runtime.KeepAlive(t)
	return err
}

// SetLimit sets the limit of (scope, class): Unlimited removes it, 0 admits nothing.
func (t *Tracker) SetLimit(scope string, class Class, limit int64) error {
	cs := cString(scope)
	defer free(cs)
	return t.with(func(p *C.ms_tracker) C.int {
		return C.ms_tracker_set_limit(p, cs, C.ms_session_class(class), C.int64_t(limit))
	})
}

// Limit is the limit of (scope, class), Unlimited when none is set.
func (t *Tracker) Limit(scope string, class Class) (int64, error) {
	cs := cString(scope)
	defer free(cs)
	var v C.int64_t
	err := t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_get_limit(p, cs, C.ms_session_class(class), &v) })
	return int64(v), err
}

type admitFn func(x unsafe.Pointer, id *C.char, cls C.ms_session_class, scopes **C.char, n C.size_t,
	lease, now C.int64_t, d *C.ms_denial) C.int

// admit runs one admit on h; a denial comes back as a *DenialError.
func admit(h *handle, fn admitFn, id string, scopes []string, a Admission) error {
	p, err := h.use()
	if err != nil {
		return err
	}
	defer h.done()
	return admitOn(p, fn, id, scopes, a)
}

func admitOn(p unsafe.Pointer, fn admitFn, id string, scopes []string, a Admission) error {
	cid := cString(id)
	defer free(cid)
	arr, block := cStrings(scopes)
	defer C.free(block)
	var d C.ms_denial
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := Status(fn(p, cid, C.ms_session_class(a.Class), arr, C.size_t(len(scopes)), micros(a.Lease),
		epochMicros(a.Now), &d))
	if st == OK {
		return nil
	}
	e := lastError(st)
	if st == ELimit {
		return &DenialError{Err: e, Scope: C.GoString(&d.scope[0]), Limit: int64(d.limit), Used: int64(d.used)}
	}
	return e
}

func trackerAdmit(x unsafe.Pointer, id *C.char, cls C.ms_session_class, scopes **C.char, n C.size_t,
	lease, now C.int64_t, d *C.ms_denial) C.int {
	return C.ms_tracker_admit((*C.ms_tracker)(x), id, cls, scopes, n, lease, now, d)
}

func txnAdmit(x unsafe.Pointer, id *C.char, cls C.ms_session_class, scopes **C.char, n C.size_t,
	lease, now C.int64_t, d *C.ms_denial) C.int {
	return C.ms_tracker_txn_admit((*C.ms_tracker_txn)(x), id, cls, scopes, n, lease, now, d)
}

// Admit admits the session into every scope, all or nothing. A full scope is
// a *DenialError (errors.Is(err, ErrLimit)); a retry of a held session is nil.
func (t *Tracker) Admit(id string, scopes []string, a Admission) error {
	err := admit(t.h, trackerAdmit, id, scopes, a)
	runtime.KeepAlive(t)
	return err
}

// Release removes the session from every set; it reports whether it was held at now (zero: now).
func (t *Tracker) Release(id string, now time.Time) (bool, error) {
	cid := cString(id)
	defer free(cid)
	var held C.int
	err := t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_release(p, cid, epochMicros(now), &held) })
	return held != 0, err
}

// Renew extends a held session's lease to now + lease (0: no lease).
func (t *Tracker) Renew(id string, lease time.Duration, now time.Time) error {
	cid := cString(id)
	defer free(cid)
	return t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_renew(p, cid, micros(lease), epochMicros(now)) })
}

// Used is the number of live sessions of class in scope at now.
func (t *Tracker) Used(scope string, class Class, now time.Time) (int64, error) {
	cs := cString(scope)
	defer free(cs)
	var v C.int64_t
	err := t.with(func(p *C.ms_tracker) C.int {
		return C.ms_tracker_get_used(p, cs, C.ms_session_class(class), epochMicros(now), &v)
	})
	return int64(v), err
}

// Held is a held session's class and lease end (zero time: no lease).
type Held struct {
	Class   Class
	Expires time.Time
}

// Held reports whether the session is held and live at now, with its class and lease end.
func (t *Tracker) Held(id string, now time.Time) (*Held, error) {
	cid := cString(id)
	defer free(cid)
	var held C.int
	var cls C.ms_session_class
	var exp C.int64_t
	err := t.with(func(p *C.ms_tracker) C.int {
		return C.ms_tracker_get_held(p, cid, epochMicros(now), &held, &cls, &exp)
	})
	if err != nil || held == 0 {
		return nil, err
	}
	h := &Held{Class: Class(cls)}
	if exp != 0 {
		h.Expires = epochTime(int64(exp))
	}
	return h, nil
}

// NextExpiry is the earliest lease end; ok is false when no session has a lease.
func (t *Tracker) NextExpiry() (at time.Time, ok bool, err error) {
	var v C.int64_t
	if err = t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_next_expiry(p, &v) }); err != nil ||
		int64(v) == never {
		return time.Time{}, false, err
	}
	return epochTime(int64(v)), true, nil
}

// Purge forgets up to max sessions whose lease ended by now; it returns how many.
func (t *Tracker) Purge(now time.Time, max int64) (int64, error) {
	var v C.int64_t
	err := t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_purge(p, epochMicros(now), C.int64_t(max), &v) })
	return int64(v), err
}

// Tick is one scheduler tick: admits that see each other, durable at once by
// Commit, undone by Rollback. Any goroutine may use it, several at once.
//
// Its C calls all run on one OS thread of its own, locked to a goroutine that
// lives as long as the tick. The C side allows a tick to move between threads,
// but it marks the thread of the tick's latest call: other calls over the
// store from that thread fail with ErrBusy instead of waiting for the tick.
// Go runs unrelated goroutines on shared threads, so without a thread of its
// own any goroutine could draw that answer. Calls over the same store from
// other goroutines wait while the tick is open, up to the store's busy
// timeout (SetBusyTimeout, default 5 s), then fail with ErrBusy: so a
// goroutine that calls the store's other objects (the Tracker itself
// included) before it ends its own tick gets ErrBusy, not a deadlock. End
// the tick first.
type Tick struct {
	h       *handle
	tracker *Tracker
	ops     chan func()
}

// Begin opens a tick transaction (it holds the store until Commit or Rollback).
func (t *Tracker) Begin() (*Tick, error) {
	p, err := t.h.use()
	if err != nil {
		return nil, err
	}
	defer t.h.done()
	ops := make(chan func())
	begun := make(chan error)
	var out *C.ms_tracker_txn
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the tick
		err := call(func() C.int { return C.ms_tracker_begin((*C.ms_tracker)(p), &out) })
		begun <- err
		if err != nil {
			return
		}
		for op := range ops {
			op()
		}
	}()
	if err := <-begun; err != nil {
		return nil, err
	}
	x := &Tick{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) {
		C.gomserve_txn_rollback(p) // from any thread (tracker.h)
		close(ops)
	}, "tick", t.h), tracker: t, ops: ops}
	runtime.SetFinalizer(x, (*Tick).Rollback)
	runtime.KeepAlive(t)
	return x, nil
}

// on runs f on the tick's thread and waits for it.
func (x *Tick) on(f func()) {
	done := make(chan struct{})
	x.ops <- func() {
		f()
		close(done)
	}
	<-done
}

// Admit is Tracker.Admit inside the tick.
func (x *Tick) Admit(id string, scopes []string, a Admission) error {
	p, err := x.h.use() // held, so the tick's thread stays until the call is done
	if err != nil {
		return err
	}
	defer x.h.done()
	x.on(func() { err = admitOn(p, txnAdmit, id, scopes, a) })
	runtime.KeepAlive(x)
	return err
}

// Release is Tracker.Release inside the tick.
func (x *Tick) Release(id string, now time.Time) (bool, error) {
	p, err := x.h.use()
	if err != nil {
		return false, err
	}
	defer x.h.done()
	cid := cString(id)
	defer free(cid)
	var held C.int
	x.on(func() {
		err = call(func() C.int { return C.ms_tracker_txn_release((*C.ms_tracker_txn)(p), cid, epochMicros(now), &held) })
	})
	runtime.KeepAlive(x)
	return held != 0, err
}

// Commit makes the tick's admits and releases durable with one commit; on
// failure none of them stands. The tick is closed either way.
func (x *Tick) Commit() error {
	p, err := x.h.take()
	if err != nil {
		return err
	}
	x.on(func() { err = call(func() C.int { return C.ms_tracker_txn_commit((*C.ms_tracker_txn)(p)) }) })
	close(x.ops)
	return err
}

// Rollback undoes the tick. Idempotent; a no-op after Commit.
func (x *Tick) Rollback() error {
	x.h.close()
	return nil
}

// Reconcile collects the host's authoritative list of live sessions (for one
// scope, or all) and applies it with Commit.
type Reconcile struct {
	h       *handle
	tracker *Tracker
}

// Reconcile starts a reconcile of scope ("" : every scope).
func (t *Tracker) Reconcile(scope string) (*Reconcile, error) {
	cs := cStringOrNil(scope)
	defer free(cs)
	var out *C.ms_reconcile
	if err := t.with(func(p *C.ms_tracker) C.int { return C.ms_tracker_reconcile_begin(p, cs, &out) }); err != nil {
		return nil, err
	}
	r := &Reconcile{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) { C.gomserve_reconcile_rollback(p) },
		"reconcile", t.h), tracker: t}
	runtime.SetFinalizer(r, (*Reconcile).Rollback)
	return r, nil
}

// Add lists one live session with its class and scopes.
func (r *Reconcile) Add(id string, class Class, scopes []string) error {
	p, err := r.h.use()
	if err != nil {
		return err
	}
	defer r.h.done()
	cid := cString(id)
	defer free(cid)
	arr, block := cStrings(scopes)
	defer C.free(block)
	err = call(func() C.int {
		return C.ms_reconcile_add((*C.ms_reconcile)(p), cid, C.ms_session_class(class), arr, C.size_t(len(scopes)))
	})
	runtime.KeepAlive(r)
	return err
}

// Commit applies the list in one transaction: memberships added and removed.
func (r *Reconcile) Commit(now time.Time) (added, removed int64, err error) {
	p, err := r.h.take()
	if err != nil {
		return 0, 0, err
	}
	var a, d C.int64_t
	err = call(func() C.int { return C.ms_reconcile_commit((*C.ms_reconcile)(p), epochMicros(now), &a, &d) })
	return int64(a), int64(d), err
}

// Rollback drops the list. Idempotent.
func (r *Reconcile) Rollback() error {
	r.h.close()
	return nil
}
