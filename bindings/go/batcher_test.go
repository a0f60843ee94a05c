package mserve

import (
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

func newBatcher(t *testing.T, maxBatch int64, delay time.Duration) *Batcher {
	b, err := NewBatcher()
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.SetMaxBatch(maxBatch))
	must(t, b.SetMaxDelay(delay))
	return b
}

func ids(b *Batch) []uint64 {
	var out []uint64
	for _, r := range b.Requests {
		out = append(out, r.ID)
	}
	return out
}

func TestBatcherCutsBySizeAndDelay(t *testing.T) {
	b := newBatcher(t, 4, time.Millisecond)
	base := time.Now()
	for i := uint64(0); i < 6; i++ {
		must(t, b.Submit(i, 1, 0, 0, base))
	}
	x, err := b.Poll(base)
	must(t, err)
	if x == nil || x.Status != OK || x.Items != 4 || len(ids(x)) != 4 || ids(x)[3] != 3 {
		t.Fatalf("full batch %+v", x)
	}
	if d := x.Requests[0].Submitted.Sub(base); d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("submitted %v off", d)
	}
	if x, _ := b.Poll(base.Add(500 * time.Microsecond)); x != nil {
		t.Fatalf("early batch %+v", x)
	}
	at, ok, err := b.NextDeadline()
	must(t, err)
	if d := at.Sub(base.Add(time.Millisecond)); !ok || d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("next deadline off by %v", d)
	}
	st, err := b.Stats(base.Add(600 * time.Microsecond))
	must(t, err)
	if st.QueuedRequests != 2 || st.OldestWait < 599*time.Microsecond || st.OldestWait > 601*time.Microsecond {
		t.Fatalf("stats %+v", st)
	}
	x, _ = b.Poll(at)
	if x == nil || len(x.Requests) != 2 {
		t.Fatalf("delayed batch %+v", x)
	}
	if _, ok, _ := b.NextDeadline(); ok {
		t.Fatal("a deadline with nothing pending")
	}
}

func TestBatcherErrorsCancelShutdown(t *testing.T) {
	b := newBatcher(t, 2, time.Second)
	must(t, b.SetMaxQueue(2))
	must(t, b.SetPriorityLevels(2, 1))
	must(t, b.SetPreferredSizes([]int64{2}))
	must(t, b.SetQueuePolicy(0, TimeoutReject, 0, false))
	now := time.Now()
	must(t, b.Submit(1, 1, 0, 0, now))
	if err := b.Submit(1, 1, 0, 0, now); !errors.Is(err, ErrExist) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := b.Submit(2, 3, 0, 0, now); !errors.Is(err, ErrInval) {
		t.Fatalf("too many items: %v", err)
	}
	must(t, b.Submit(2, 1, 2, 0, now))
	must(t, b.Submit(3, 1, 0, 0, now))
	if err := b.Submit(4, 1, 0, 0, now); !errors.Is(err, ErrFull) {
		t.Fatalf("full: %v", err)
	}
	must(t, b.Cancel(3))
	if err := b.Cancel(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	fd, err := b.FD()
	must(t, err)
	if fd < 0 {
		t.Fatalf("fd %d", fd)
	}
	x, _ := b.Poll(now)
	if x == nil || x.Status != ECanceled || ids(x)[0] != 3 {
		t.Fatalf("canceled batch %+v", x)
	}
	x, _ = b.Poll(now)
	if x == nil || x.Status != OK || len(ids(x)) != 2 || ids(x)[0] != 1 || ids(x)[1] != 2 {
		t.Fatalf("run batch %+v", x)
	}
	must(t, b.Shutdown())
	if err := b.Submit(5, 1, 0, 0, now); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after shutdown: %v", err)
	}
	if _, err := b.Poll(now); !errors.Is(err, ErrClosed) {
		t.Fatalf("poll after drain: %v", err)
	}
	b.Close()
	if err := b.Submit(6, 1, 0, 0, now); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

func TestBatcherConfigureFromAModel(t *testing.T) {
	reg, err := openStore(t).Registry("")
	must(t, err)
	m, err := reg.Register(writeMar(t, t.TempDir()+"/m.mar", "m", "1.0", "batchSize: 3\nmaxBatchDelay: 5\n"), nil)
	must(t, err)
	b := newBatcher(t, 1, 0)
	must(t, b.Configure(m))
	now := time.Now()
	must(t, b.Submit(1, 3, 0, 0, now))
	if x, _ := b.Poll(now); x == nil || x.Items != 3 {
		t.Fatalf("a full batch of 3: %+v", x)
	}
}

// Submitters and waiters on goroutines: every request is handed out exactly once.
func TestBatcherSubmittersAndWaiters(t *testing.T) {
	b := newBatcher(t, 8, 200*time.Microsecond)
	var mu sync.Mutex
	var got []uint64
	var workers, subs sync.WaitGroup
	for w := 0; w < 3; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				x, err := b.Wait(-1)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, ids(x)...)
				mu.Unlock()
			}
		}()
	}
	for s := 0; s < 4; s++ {
		subs.Add(1)
		go func(s int) {
			defer subs.Done()
			for i := 0; i < 500; i++ {
				if err := b.Submit(uint64(s*1000+i), 1, 0, 0, time.Time{}); err != nil {
					t.Error(err)
				}
			}
		}(s)
	}
	subs.Wait()
	must(t, b.Shutdown())
	workers.Wait()
	if x, err := b.Wait(0); x != nil || !errors.Is(err, ErrClosed) {
		t.Fatalf("after drain: %v %v", x, err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if len(got) != 2000 {
		t.Fatalf("%d requests handed out", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("request %d handed out twice", got[i])
		}
	}
}

func TestBatcherWaitTimesOut(t *testing.T) {
	b := newBatcher(t, 1, 0)
	if x, err := b.Wait(time.Millisecond); x != nil || err != nil {
		t.Fatalf("wait on nothing: %v %v", x, err)
	}
}
