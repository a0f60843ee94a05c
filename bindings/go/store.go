package mserve

/*
#include <stdlib.h>
#include <mserve.h>
static void gomserve_store_close(void *p) { ms_store_close(p); }
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// Flags of OpenStore.
const (
	StoreDurable  = C.MS_STORE_DURABLE  // fsync every commit
	StoreNoCreate = C.MS_STORE_NOCREATE // open an existing database only
	StoreReadOnly = C.MS_STORE_READONLY // read only, never write
)

// Store is one libmserve database: a file path or ":memory:". Safe for
// concurrent use. Closing it closes what was opened over it first.
type Store struct {
	h    *handle
	Path string
}

// OpenStore opens (creating and migrating it unless StoreNoCreate) the database at path.
func OpenStore(path string, flags uint) (*Store, error) {
	cpath := cString(path)
	defer free(cpath)
	var p *C.ms_store
	if err := call(func() C.int { return C.ms_store_open(cpath, C.uint(flags), &p) }); err != nil {
		return nil, err
	}
	s := &Store{h: newHandle(unsafe.Pointer(p), func(p unsafe.Pointer) { C.gomserve_store_close(p) }, "store", nil),
		Path: path}
	runtime.SetFinalizer(s, (*Store).Close)
	return s, nil
}

// Close closes every object opened over the store, then the store. Idempotent.
func (s *Store) Close() error {
	s.h.close()
	return nil
}

// LatestSchema is the schema version this library writes.
func LatestSchema() int64 { return int64(C.ms_store_latest_schema()) }

// with runs f on the store's pointer, read on one OS thread with its message.
func (s *Store) with(f func(p *C.ms_store) C.int) error {
	err := s.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_store)(p)) })
	runtime.KeepAlive(s)
	return err
}

// SetBusyTimeout sets how long a call waits for another process's write lock,
// or for a Tick that holds the store, before it fails with ErrBusy (default 5 s;
// 0: fail at once; whole microseconds).
func (s *Store) SetBusyTimeout(d time.Duration) error {
	return s.with(func(p *C.ms_store) C.int { return C.ms_store_set_busy_timeout(p, micros(d)) })
}

// SetAutocheckpoint sets the log size (frames) past which a write checkpoints (0: never).
func (s *Store) SetAutocheckpoint(frames int64) error {
	return s.with(func(p *C.ms_store) C.int { return C.ms_store_set_autocheckpoint(p, C.int64_t(frames)) })
}

// SchemaVersion is the open database's schema version.
func (s *Store) SchemaVersion() (int64, error) {
	var v C.int64_t
	err := s.with(func(p *C.ms_store) C.int { return C.ms_store_schema_version(p, &v) })
	return int64(v), err
}

// Checkpoint copies the write-ahead log back now; it returns the frames left.
func (s *Store) Checkpoint() (int64, error) {
	var v C.int64_t
	err := s.with(func(p *C.ms_store) C.int { return C.ms_store_checkpoint(p, &v) })
	return int64(v), err
}
