package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mserve"
)

// With a limit of 2, two slow requests of one key hold it; a third is 429
// naming the scope; another key is not affected; once they end it is served.
func TestLimitPerAPIKey(t *testing.T) {
	store, err := mserve.OpenStore(filepath.Join(t.TempDir(), "limits.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tracker, err := store.Tracker()
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.SetLimit("apikey:AK1", mserve.ClassCompute, 2); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.Write([]byte("ok"))
	})
	srv := httptest.NewServer(Limit(tracker, time.Minute, slow))
	defer srv.Close()
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get("/slow", "AK1") }()
	}
	<-entered
	<-entered
	code, body := get("/fast", "AK1")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "apikey:AK1 is at its limit: 2 of 2") {
		t.Fatalf("third request: %d %q", code, body)
	}
	if code, _ := get("/fast", "AK2"); code != http.StatusOK {
		t.Fatalf("another key: %d", code)
	}
	if code, _ := get("/fast", ""); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	close(release)
	wg.Wait()
	if code, _ := get("/fast", "AK1"); code != http.StatusOK {
		t.Fatalf("after the slow ones ended: %d", code)
	}
	if n, _ := tracker.Used("apikey:AK1", mserve.ClassCompute, time.Time{}); n != 0 {
		t.Fatalf("%d sessions left held", n)
	}
}
