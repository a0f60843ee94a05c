package mserve

/*
#include <stdlib.h>
#include <mserve.h>
static void gomserve_batcher_free(void *p) { ms_batcher_free(p); }
*/
import "C"

import (
	"errors"
	"runtime"
	"time"
	"unsafe"
)

// TimeoutAction is what happens to a request past its timeout.
type TimeoutAction int32

// Timeout actions.
const (
	TimeoutReject TimeoutAction = C.MS_TIMEOUT_REJECT // handed back in an ETimedOut batch
	TimeoutDelay  TimeoutAction = C.MS_TIMEOUT_DELAY  // moved behind the unexpired requests; still runs
)

// Batcher limits.
const (
	BatcherMaxLevels    = C.MS_BATCHER_MAX_LEVELS
	BatcherMaxPreferred = C.MS_BATCHER_MAX_PREFERRED
	BatcherMaxItems     = C.MS_BATCHER_MAX_ITEMS
	BatcherMaxRequests  = C.MS_BATCHER_MAX_REQUESTS
)

// Request is one request of a batch.
type Request struct {
	ID        uint64
	Items     int64
	Submitted time.Time
}

// Batch is requests handed out together: Status OK (run them), ETimedOut or
// ECanceled (answer each so).
type Batch struct {
	Status   Status
	Requests []Request
	Items    int64
	Formed   time.Time
}

// BatcherStats is the queue's depth and its oldest request's wait.
type BatcherStats struct {
	QueuedRequests, QueuedItems int64
	OldestWait                  time.Duration
}

// Batcher is one queue for one model version; every method may be called from
// any goroutine at once. Its times are time.Time values read from the
// monotonic clock (time.Now(), or later instants derived from it).
type Batcher struct {
	h *handle
}

// NewBatcher is an empty batcher: max batch 1, max delay 0, one level, no limits.
func NewBatcher() (*Batcher, error) {
	var out *C.ms_batcher
	if err := call(func() C.int { return C.ms_batcher_new(&out) }); err != nil {
		return nil, err
	}
	b := &Batcher{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) { C.gomserve_batcher_free(p) }, "batcher",
		nil)}
	runtime.SetFinalizer(b, (*Batcher).Close)
	return b, nil
}

// Close frees the batcher (pending requests are dropped: Shutdown and drain
// first to answer them). It waits for calls in flight, a Wait included.
func (b *Batcher) Close() error {
	b.h.close()
	return nil
}

func (b *Batcher) with(f func(p *C.ms_batcher) C.int) error {
	err := b.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_batcher)(p)) })
	runtime.KeepAlive(b)
	return err
}

// Configure takes a registry model's batch_size, max_batch_delay_us, max_queue_size and request_timeout_us.
func (b *Batcher) Configure(m *Model) error {
	err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_configure(p, m.ptr) })
	runtime.KeepAlive(m)
	return err
}

// SetMaxBatch sets the most items one batch holds.
func (b *Batcher) SetMaxBatch(items int64) error {
	return b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_set_max_batch(p, C.int64_t(items)) })
}

// SetMaxDelay sets how long the oldest request may wait for a fuller batch.
func (b *Batcher) SetMaxDelay(d time.Duration) error {
	return b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_set_max_delay(p, micros(d)) })
}

// SetPreferredSizes sets the batch sizes worth sending early (none: the default {max batch}).
func (b *Batcher) SetPreferredSizes(sizes []int64) error {
	var ptr *C.int64_t
	if len(sizes) > 0 {
		ptr = (*C.int64_t)(unsafe.Pointer(&sizes[0]))
	}
	err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_set_preferred_sizes(p, ptr, C.size_t(len(sizes))) })
	runtime.KeepAlive(sizes)
	return err
}

// SetMaxQueue sets the most pending requests per level (0: unbounded).
func (b *Batcher) SetMaxQueue(requests int64) error {
	return b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_set_max_queue(p, C.int64_t(requests)) })
}

// SetPriorityLevels sets the number of levels and the level of priority 0.
func (b *Batcher) SetPriorityLevels(levels, defaultLevel int) error {
	return b.with(func(p *C.ms_batcher) C.int {
		return C.ms_batcher_set_priority_levels(p, C.int(levels), C.int(defaultLevel))
	})
}

// SetQueuePolicy sets the timeout policy of a level (0: every level).
func (b *Batcher) SetQueuePolicy(level int, action TimeoutAction, defaultTimeout time.Duration, allowOverride bool) error {
	ov := C.int(0)
	if allowOverride {
		ov = 1
	}
	return b.with(func(p *C.ms_batcher) C.int {
		return C.ms_batcher_set_queue_policy(p, C.int(level), C.ms_timeout_action(action), micros(defaultTimeout), ov)
	})
}

// Submit queues a request (priority 0: the default level; timeout 0: the
// policy's) at now (zero: now). ErrFull, ErrExist, ErrClosed as the header says.
func (b *Batcher) Submit(id uint64, items int64, priority int, timeout time.Duration, now time.Time) error {
	return b.with(func(p *C.ms_batcher) C.int {
		return C.ms_batcher_submit(p, C.uint64_t(id), C.int64_t(items), C.int(priority), micros(timeout), monoMicros(now))
	})
}

// Cancel withdraws a pending request; it comes back in the next ECanceled batch.
func (b *Batcher) Cancel(id uint64) error {
	return b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_cancel(p, C.uint64_t(id)) })
}

// Shutdown refuses later submits and hands every pending request back canceled.
func (b *Batcher) Shutdown() error {
	return b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_shutdown(p) })
}

func toBatch(x *C.ms_batch) (*Batch, error) {
	if x == nil {
		return nil, nil
	}
	defer C.ms_batch_free(x)
	n := int(C.ms_batch_count(x))
	out := &Batch{Status: Status(C.ms_batch_status(x)), Items: int64(C.ms_batch_items(x)),
		Formed: monoTime(int64(C.ms_batch_formed_us(x))), Requests: make([]Request, n)}
	for i := 0; i < n; i++ {
		var id C.uint64_t
		var items, sub C.int64_t
		if err := call(func() C.int { return C.ms_batch_get(x, C.size_t(i), &id, &items, &sub) }); err != nil {
			return nil, err
		}
		out.Requests[i] = Request{uint64(id), int64(items), monoTime(int64(sub))}
	}
	return out, nil
}

// Poll hands out the batch due at now (zero: now), or nil. ErrClosed once shut down and drained.
func (b *Batcher) Poll(now time.Time) (*Batch, error) {
	var x *C.ms_batch
	if err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_poll(p, monoMicros(now), &x) }); err != nil {
		return nil, err
	}
	return toBatch(x)
}

// Wait is for worker goroutines: the next batch, or nil after timeout (< 0:
// no limit). ErrClosed once shut down and everything was handed back.
func (b *Batcher) Wait(timeout time.Duration) (*Batch, error) {
	us := micros(timeout)
	if timeout < 0 {
		us = -1
	}
	var x *C.ms_batch
	err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_wait(p, us, &x) })
	if errors.Is(err, ErrTimedOut) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return toBatch(x)
}

// NextDeadline is when a poll is next due; ok false when nothing is pending.
func (b *Batcher) NextDeadline() (at time.Time, ok bool, err error) {
	var v C.int64_t
	if err = b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_next_deadline(p, &v) }); err != nil ||
		int64(v) == never {
		return time.Time{}, false, err
	}
	return monoTime(int64(v)), true, nil
}

// FD is the batcher's eventfd, readable while a batch is due (owned by the batcher).
func (b *Batcher) FD() (int, error) {
	var fd C.int
	err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_fd(p, &fd) })
	return int(fd), err
}

// Stats is the queue as of now (zero: now).
func (b *Batcher) Stats(now time.Time) (BatcherStats, error) {
	var r, i, w C.int64_t
	err := b.with(func(p *C.ms_batcher) C.int { return C.ms_batcher_stats(p, monoMicros(now), &r, &i, &w) })
	return BatcherStats{int64(r), int64(i), time.Duration(w) * time.Microsecond}, err
}
