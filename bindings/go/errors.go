package mserve

/*
#include <mserve.h>
*/
import "C"

import "fmt"

// Status is an ms_status.
type Status int32

// The status codes of common.h.
const (
	OK           Status = C.MS_OK
	EInval       Status = C.MS_EINVAL
	ENoMem       Status = C.MS_ENOMEM
	ENotFound    Status = C.MS_ENOTFOUND
	EExist       Status = C.MS_EEXIST
	ELimit       Status = C.MS_ELIMIT
	EFull        Status = C.MS_EFULL
	ETimedOut    Status = C.MS_ETIMEDOUT
	ECanceled    Status = C.MS_ECANCELED
	EBusy        Status = C.MS_EBUSY
	EIO          Status = C.MS_EIO
	ECorrupt     Status = C.MS_ECORRUPT
	EUnsafe      Status = C.MS_EUNSAFE
	EUnsupported Status = C.MS_EUNSUPPORTED
	ENoDev       Status = C.MS_ENODEV
	EClosed      Status = C.MS_ECLOSED
	EConflict    Status = C.MS_ECONFLICT
	EInternal    Status = C.MS_EINTERNAL
)

func (s Status) String() string { return StatusName(s) }

// Error is a failed libmserve call: its status, the status's name and the
// library's message (part, call, object, cause). Cause is set when the failure
// came from Go code the library called back (an executor handler).
type Error struct {
	Status  Status
	Name    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Is makes errors.Is(err, ErrLimit) true for every *Error of that status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == e.Status
}

// Unwrap gives the Go error a handler returned, if any.
func (e *Error) Unwrap() error { return e.Cause }

func sentinel(s Status) *Error { return &Error{Status: s, Name: fmt.Sprint(s)} }

// Sentinels, one per status, for errors.Is.
var (
	ErrInval       = sentinel(EInval)
	ErrNoMem       = sentinel(ENoMem)
	ErrNotFound    = sentinel(ENotFound)
	ErrExist       = sentinel(EExist)
	ErrLimit       = sentinel(ELimit)
	ErrFull        = sentinel(EFull)
	ErrTimedOut    = sentinel(ETimedOut)
	ErrCanceled    = sentinel(ECanceled)
	ErrBusy        = sentinel(EBusy)
	ErrIO          = sentinel(EIO)
	ErrCorrupt     = sentinel(ECorrupt)
	ErrUnsafe      = sentinel(EUnsafe)
	ErrUnsupported = sentinel(EUnsupported)
	ErrNoDev       = sentinel(ENoDev)
	ErrClosed      = sentinel(EClosed)
	ErrConflict    = sentinel(EConflict)
	ErrInternal    = sentinel(EInternal)
)

// DenialError is an admission denied by a limit (MS_ELIMIT): the first full
// scope in the caller's order, its limit and its live count. errors.As gives
// it; errors.Is(err, ErrLimit) holds.
type DenialError struct {
	Err   *Error
	Scope string
	Limit int64
	Used  int64
}

func (e *DenialError) Error() string { return e.Err.Error() }
func (e *DenialError) Unwrap() error { return e.Err }

func closedError(kind string) error {
	return &Error{Status: EClosed, Name: StatusName(EClosed), Message: kind + ": closed"}
}
