// The Go side of bench-bindings: the loops of bindings_c.c through the mserve package.
//
//	usage: bindings_go DB SECONDS
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"strconv"
	"time"

	"mserve"
)

const pool = 1024

func trackerRate(db string, seconds float64) float64 {
	s, err := mserve.OpenStore(db, 0)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	t, err := s.Tracker()
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	ids := make([]string, pool)
	for i := range ids {
		ids[i] = "s" + strconv.Itoa(i)
	}
	scopes := []string{"keypair:AK1", "user:alice"}
	adm := mserve.Admission{Lease: time.Minute}
	var start time.Time
	pairs := 0
	for i := 0; ; i++ {
		if i == 2000 {
			start = time.Now()
		}
		if i > 2000 && i&63 == 0 && time.Since(start).Seconds() >= seconds {
			break
		}
		id := ids[i%pool]
		if err := t.Admit(id, scopes, adm); err != nil {
			log.Fatal(err)
		}
		if _, err := t.Release(id, time.Time{}); err != nil {
			log.Fatal(err)
		}
		if i >= 2000 {
			pairs++
		}
	}
	return float64(pairs) / time.Since(start).Seconds()
}

func batcherRate(seconds float64) float64 {
	b, err := mserve.NewBatcher()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var start time.Time
	reqs := 0
	for i := 0; ; i++ {
		if i == 20000 {
			start = time.Now()
		}
		if i > 20000 && i&1023 == 0 && time.Since(start).Seconds() >= seconds {
			break
		}
		if err := b.Submit(uint64(i), 1, 0, 0, time.Time{}); err != nil {
			log.Fatal(err)
		}
		x, err := b.Poll(time.Time{})
		if err != nil || x == nil || len(x.Requests) != 1 {
			log.Fatalf("poll: no batch of one (%v)", err)
		}
		if i >= 20000 {
			reqs++
		}
	}
	return float64(reqs) / time.Since(start).Seconds()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bindings_go DB SECONDS")
		os.Exit(2)
	}
	seconds, _ := strconv.ParseFloat(os.Args[2], 64)
	round := func(x float64) float64 { return math.Round(x*10) / 10 }
	out, _ := json.Marshal(map[string]any{"lang": "go", "tracker_pairs_per_s": round(trackerRate(os.Args[1], seconds)),
		"batcher_reqs_per_s": round(batcherRate(seconds))})
	fmt.Println(string(out))
}
