// Package mserve is the Go binding of libmserve, the embeddable control plane
// for model serving: the store, the concurrency tracker, the model-archive
// registry, the autoscaling rule engine, the batching queue and the batch
// executor.
//
// It links the installed library through pkg-config (`#cgo pkg-config:
// mserve`): point PKG_CONFIG_PATH at <prefix>/lib/pkgconfig when it is not
// installed where pkg-config looks.
//
// Conventions: every call that can fail returns an error, a *Error (or a
// *DenialError wrapping one) whose message is read on the same locked OS
// thread right after the C call; the sentinels (ErrLimit, ErrNotFound, ...)
// match it with errors.Is. Objects that own C resources have an idempotent
// Close, and a finalizer frees those that are forgotten; an object opened over
// another (a Tracker over its Store) keeps it alive, and closing the parent
// closes it first. Times are time.Time and durations time.Duration, converted
// to microseconds inside; a zero time.Time means "now".
package mserve

/*
#cgo pkg-config: mserve
#include <stdlib.h>
#include <string.h>
#include <mserve.h>
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// The headers' version this binding was compiled against.
const (
	VersionMajor = C.MS_VERSION_MAJOR
	VersionMinor = C.MS_VERSION_MINOR
	VersionPatch = C.MS_VERSION_PATCH
)

// Version is the running library's "MAJOR.MINOR.PATCH" (ms_version).
func Version() string { return C.GoString(C.ms_version()) }

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH of the running library.
func VersionNumber() int { return int(C.ms_version_number()) }

// StatusName is the symbolic name of a status, e.g. "MS_ELIMIT".
func StatusName(s Status) string { return C.GoString(C.ms_status_name(C.int(s))) }

// RealtimeMicros is ms_clock_realtime_us: Unix-epoch microseconds.
func RealtimeMicros() int64 { return int64(C.ms_clock_realtime_us()) }

// MonotonicMicros is ms_clock_monotonic_us: the batcher's clock.
func MonotonicMicros() int64 { return int64(C.ms_clock_monotonic_us()) }

// Sec is MS_SEC: seconds as microseconds.
func Sec(s int64) int64 { return s * 1000000 }

const never = int64(^uint64(0) >> 1) // INT64_MAX: "none" for next_deadline and next_expiry

// call runs one C call and reads its message on the same OS thread.
func call(f func() C.int) error {
	runtime.LockOSThread()
	st := f()
	var err error
	if st != 0 {
		err = lastError(Status(st))
	}
	runtime.UnlockOSThread()
	return err
}

// run makes one C call on the handle's pointer, held for the call (Close
// waits for it; a closed handle gives ErrClosed), with its message read on
// the same OS thread.
func (h *handle) run(f func(p unsafe.Pointer) C.int) error {
	p, err := h.use()
	if err != nil {
		return err
	}
	defer h.done()
	return call(func() C.int { return f(p) })
}

// lastError builds the error of a failed call; the caller holds the OS thread.
func lastError(st Status) *Error {
	return &Error{Status: st, Name: StatusName(st), Message: C.GoString(C.ms_errmsg())}
}

// epochMicros converts a wall-clock time (zero: now) to Unix-epoch microseconds.
func epochMicros(t time.Time) C.int64_t {
	if t.IsZero() {
		return C.int64_t(time.Now().UnixMicro())
	}
	return C.int64_t(t.UnixMicro())
}

func epochTime(us int64) time.Time { return time.UnixMicro(us) }

func micros(d time.Duration) C.int64_t { return C.int64_t(d.Microseconds()) }

// The batcher's monotonic microseconds, mapped onto time.Time through one pair
// of readings taken together (time.Time's own monotonic reading covers the rest).
var (
	monoBaseTime = time.Now()
	monoBaseUs   = int64(C.ms_clock_monotonic_us())
)

func monoMicros(t time.Time) C.int64_t {
	if t.IsZero() {
		t = time.Now()
	}
	return C.int64_t(monoBaseUs + t.Sub(monoBaseTime).Microseconds())
}

func monoTime(us int64) time.Time {
	return monoBaseTime.Add(time.Duration(us-monoBaseUs) * time.Microsecond)
}

// cString is C.CString for a string the call only reads; "" stays "" (not NULL).
func cString(s string) *C.char { return C.CString(s) }

// cStringOrNil is NULL for "" (the C "not given" of optional strings).
func cStringOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// cStrings packs a list of strings and its pointer array into one C allocation.
func cStrings(ss []string) (**C.char, unsafe.Pointer) {
	if len(ss) == 0 {
		return nil, nil
	}
	ptrSize := unsafe.Sizeof((*C.char)(nil))
	total := uintptr(len(ss)) * ptrSize
	for _, s := range ss {
		total += uintptr(len(s)) + 1
	}
	block := C.malloc(C.size_t(total))
	ptrs := unsafe.Slice((**C.char)(block), len(ss))
	text := unsafe.Add(block, uintptr(len(ss))*ptrSize)
	for i, s := range ss {
		ptrs[i] = (*C.char)(text)
		dst := unsafe.Slice((*byte)(text), len(s)+1)
		copy(dst, s)
		dst[len(s)] = 0
		text = unsafe.Add(text, len(s)+1)
	}
	return (**C.char)(block), block
}
