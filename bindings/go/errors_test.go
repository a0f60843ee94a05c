package mserve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestErrorCarriesStatusNameAndMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	must(t, os.WriteFile(path, []byte(strings.Repeat("not a database at all. ", 100)), 0o644))
	_, err := OpenStore(path, 0)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	if e.Status != ECorrupt || e.Name != "MS_ECORRUPT" || !strings.HasPrefix(e.Message, "store: ms_store_open: ") ||
		!strings.Contains(e.Message, "notes.txt") {
		t.Fatalf("got %#v", e)
	}
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
		t.Fatalf("errors.Is is wrong for %v", err)
	}
	_, err = OpenStore(filepath.Join(t.TempDir(), "absent.db"), StoreNoCreate)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), ErrNotFound) {
		t.Fatal("a wrapped error lost its status")
	}
}

// Each goroutine fails with its own value in the message; none may read another's.
func TestMessagesAreReadOnTheCallingThread(t *testing.T) {
	tr, err := openStore(t).Tracker()
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				lease := -int64(g*1000 + k + 1)
				err := tr.Admit("s", []string{"user:a"}, Admission{Lease: durationMicros(lease), Now: t0})
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Message, fmt.Sprintf("lease %d us", lease)) {
					errs <- fmt.Sprint(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
