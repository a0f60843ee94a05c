// tracker-http: a net/http middleware that caps the concurrent requests of
// each API key with the libmserve tracker. A request holds one session in the
// scope "apikey:<key>" while it is served; over the key's limit it is answered
// 429 with the denial. Sessions carry a lease, so a crashed server's requests
// stop counting on their own, and the limits hold across every process that
// opens the same database.
//
//	go run ./examples/tracker-http -db limits.db -limit 2 -addr 127.0.0.1:8080
//	curl -H 'X-API-Key: AK1' http://127.0.0.1:8080/job?ms=500
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"mserve"
)

// Limit wraps next: each request of an API key is a session of the tracker.
func Limit(t *mserve.Tracker, lease time.Duration, next http.Handler) http.Handler {
	prefix := fmt.Sprintf("req-%d-%d-", os.Getpid(), time.Now().UnixNano())
	var seq atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		if key == "" {
			http.Error(w, "missing X-API-Key", http.StatusUnauthorized)
			return
		}
		id := prefix + strconv.FormatUint(seq.Add(1), 10)
		err := t.Admit(id, []string{"apikey:" + key}, mserve.Admission{Lease: lease})
		var denial *mserve.DenialError
		switch {
		case errors.As(err, &denial):
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("%s is at its limit: %d of %d requests", denial.Scope, denial.Used,
				denial.Limit), http.StatusTooManyRequests)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer func() {
			if _, err := t.Release(id, time.Time{}); err != nil {
				log.Printf("release %s: %v", id, err)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// work sleeps ?ms= milliseconds, standing in for a model call.
func work(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	time.Sleep(time.Duration(ms) * time.Millisecond)
	fmt.Fprintln(w, "done")
}

func main() {
	db := flag.String("db", "limits.db", "the libmserve store")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	limit := flag.Int64("limit", 2, "concurrent requests per API key (for the keys given with -key)")
	keys := flag.String("key", "AK1", "an API key whose limit to set")
	flag.Parse()
	store, err := mserve.OpenStore(*db, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	tracker, err := store.Tracker()
	if err != nil {
		log.Fatal(err)
	}
	defer tracker.Close()
	if err := tracker.SetLimit("apikey:"+*keys, mserve.ClassCompute, *limit); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/job", work)
	log.Printf("listening on %s (libmserve %s)", *addr, mserve.Version())
	log.Fatal(http.ListenAndServe(*addr, Limit(tracker, time.Minute, mux)))
}
