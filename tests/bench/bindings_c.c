/* bench-bindings-c: the C side of tests/bench/bench-bindings, the same two
 * loops its Python and Go sides run through the bindings:
 *   tracker  one admit (2 scopes, 60 s lease, now = the realtime clock) and
 *            one release per pair, session ids from a pool of 1024, on an
 *            SQLite file (the store's defaults);
 *   batcher  one submit (1 item, now = the monotonic clock) and one poll
 *            that takes it as a batch of its own (max batch 1, no delay).
 * Each loop runs a warm-up, then for SECONDS; one JSON line on stdout:
 *   {"lang": "c", "tracker_pairs_per_s": X, "batcher_reqs_per_s": Y}
 * usage: bench-bindings-c DB SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mserve.h>

#define POOL 1024

static int fail(const char *what, int st) {
  fprintf(stderr, "bench-bindings-c: %s: %s: %s\n", what, ms_status_name(st), ms_errmsg());
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tracker_rate(const char *db, double seconds) {
  ms_store *s = NULL;
  ms_tracker *t = NULL;
  int st = ms_store_open(db, 0, &s);
  if (st) fail("ms_store_open", st);
  if ((st = ms_tracker_open(s, &t))) fail("ms_tracker_open", st);
  static char ids[POOL][16];
  for (int i = 0; i < POOL; i++) snprintf(ids[i], sizeof ids[i], "s%d", i);
  const char *scopes[] = {"keypair:AK1", "user:alice"};
  long pairs = 0;
  double start = 0, end = 0;
  for (long i = 0;; i++) {
    if (i == 2000) start = now_s(); /* after the warm-up */
    if (i > 2000 && (i & 63) == 0 && (end = now_s()) - start >= seconds) break;
    const char *id = ids[i % POOL];
    if ((st = ms_tracker_admit(t, id, MS_CLASS_COMPUTE, scopes, 2, MS_SEC(60), ms_clock_realtime_us(), NULL)))
      fail("ms_tracker_admit", st);
    if ((st = ms_tracker_release(t, id, ms_clock_realtime_us(), NULL))) fail("ms_tracker_release", st);
    if (i >= 2000) pairs++;
  }
  ms_tracker_close(t);
  ms_store_close(s);
  return (double)pairs / (end - start);
}

static double batcher_rate(double seconds) {
  ms_batcher *b = NULL;
  int st = ms_batcher_new(&b);
  if (st) fail("ms_batcher_new", st);
  long reqs = 0;
  double start = 0, end = 0;
  for (long i = 0;; i++) {
    if (i == 20000) start = now_s();
    if (i > 20000 && (i & 1023) == 0 && (end = now_s()) - start >= seconds) break;
    if ((st = ms_batcher_submit(b, (uint64_t)i, 1, 0, 0, ms_clock_monotonic_us()))) fail("ms_batcher_submit", st);
    ms_batch *x = NULL;
    if ((st = ms_batcher_poll(b, ms_clock_monotonic_us(), &x))) fail("ms_batcher_poll", st);
    if (!x || ms_batch_count(x) != 1) fail("ms_batcher_poll: no batch of one", MS_EINTERNAL);
    ms_batch_free(x);
    if (i >= 20000) reqs++;
  }
  ms_batcher_free(b);
  return (double)reqs / (end - start);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench-bindings-c DB SECONDS\n");
    return 2;
  }
  double seconds = atof(argv[2]);
  double tr = tracker_rate(argv[1], seconds);
  double br = batcher_rate(seconds);
  printf("{\"lang\": \"c\", \"tracker_pairs_per_s\": %.1f, \"batcher_reqs_per_s\": %.1f}\n", tr, br);
  return 0;
}
