/* Benchmark: the batching queue against TorchServe's batching algorithm
 * (batcher_baseline.c: a mutex + condition-variable bounded deque, the worker
 * blocking for the first request, then polling up to batch_size - 1 more
 * within max_batch_delay measured from that first dequeue), same producer
 * threads, same machine, same run.
 *
 *   bench-batcher [--quick] [--repeat K] [--json FILE] [--only 1,2,3,4,5]
 *
 *   1 throughput  submit -> batch handed out -> freed, batch 32, no delay
 *                 pressure (a 10 s delay: every batch is cut full), with 1
 *                 and 4 producers, both queues bounded at 4096 requests
 *                 (see submit_or_back_off). mserve is measured two ways: "host" (each
 *                 producer polls after every 32 submits, as an event loop
 *                 does after a burst) and "worker" (one worker thread in
 *                 ms_batcher_wait). Producers read the clock once per 32
 *                 submits. Median of K runs.
 *   2 lateness    20 k requests/s, Poisson, max delay 2 ms, batch 32: the time
 *                 a batch is handed out minus the instant it became due (a
 *                 full batch: its last request's submit; a partial one: its
 *                 oldest request's submit + 2 ms), for an epoll host on
 *                 ms_batcher_fd + a timerfd at ms_batcher_next_deadline, for
 *                 a worker in ms_batcher_wait, and for the baseline. The
 *                 producer is another thread, so the epoll host also hears
 *                 from it (an eventfd of the host's) when a submit moves the
 *                 next deadline before the host's timer. Also: the batches
 *                 cut by the delay alone, and the floor — how late one
 *                 thread wakes another on this machine (an eventfd in epoll,
 *                 a condition variable), no batcher involved.
 *   3 timeouts    the same arrivals with a 1 ms MS_TIMEOUT_REJECT timeout and
 *                 no run batch ever due (nobody takes batches): deadline ->
 *                 MS_ETIMEDOUT batch handed out, per request; and, as a
 *                 reference, how late a bare timerfd wakes an epoll loop on
 *                 this machine (no batcher involved).
 *   4 memory      bytes per queued request with 1 M queued over 4 levels with
 *                 timeouts: mallinfo2 (heap in use) and the batcher's own
 *                 accounting.
 *   5 poll        one poll (a batch of 32) with 1 k and with 1 M requests
 *                 queued over 4 levels with timeouts, the depth kept
 *                 constant: median and p99.
 * --only 2,3 runs only those sections (null in the JSON for the others).
 * Prints a table and writes JSON (default bench-batcher.json). Timings come
 * from a shared, noisy machine: compare within one run, not across runs. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "batcher/batcher_internal.h" /* ms__batcher_bytes: the batcher's own accounting */
#include "batcher_baseline.h"
#include "mserve.h"

enum { BATCH = 32, MAX_REPEAT = 15, LEVELS = 4, TP_CAPACITY = 4096 };
static const int64_t LAT_DELAY_US = 2000, TIMEOUT_US = 1000;
static const double RATE = 20000.0;

typedef struct cfg {
  int quick, repeat;
  long tp_requests;
  double lat_seconds;
  int poll_k;
  const char *json;
} cfg;

static void die(const char *what, int st) {
  fprintf(stderr, "bench-batcher: %s: %s: %s\n", what, ms_status_name(st), ms_errmsg());
  exit(2);
}
#define CHECK(call)                  \
  do {                               \
    int st_ = (call);                \
    if (st_) die(#call, st_);        \
  } while (0)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}
static double median(const double *v, int n) {
  double s[MAX_REPEAT];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* A growable sample of int64 values and its percentiles. */
typedef struct sample {
  int64_t *v;
  size_t n, cap;
} sample;
static void add(sample *s, int64_t x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 4096;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) die("realloc", MS_ENOMEM);
  }
  s->v[s->n++] = x;
}
static double pct(sample *s, double p) {
  if (!s->n) return NAN;
  qsort(s->v, s->n, sizeof *s->v, cmp_i64);
  size_t i = (size_t)ceil(p / 100.0 * (double)s->n);
  if (i > 0) i--;
  if (i >= s->n) i = s->n - 1;
  return (double)s->v[i];
}

/* ---- 1: throughput ----------------------------------------------------------- */

typedef struct tp {
  ms_batcher *b;
  bl_queue *q;
  long per_producer, total;
  int host; /* producers poll themselves */
  atomic_long handed;
  atomic_llong t_end;
} tp;

static void count_handed(tp *t, long n) {
  if (atomic_fetch_add(&t->handed, n) + n == t->total) atomic_store(&t->t_end, now_ns());
}

typedef struct producer_arg {
  tp *t;
  int index;
} producer_arg;

/* Both queues hold at most TP_CAPACITY requests: the baseline's producer
 * then blocks until the worker takes one; a full batcher answers MS_EFULL at
 * once, and this producer backs off as a host would (a short sleep) and
 * submits again. Without the bound a worker that fell behind let the queue
 * grow to millions, and every request then cost cache misses in the index
 * that a bounded deque never pays. */
static void submit_or_back_off(ms_batcher *b, uint64_t id, int64_t now) {
  static const struct timespec backoff = {0, 20000};
  for (;;) {
    int st = ms_batcher_submit(b, id, 1, 0, 0, now);
    if (st == MS_OK) return;
    if (st != MS_EFULL) die("ms_batcher_submit", st);
    nanosleep(&backoff, NULL);
  }
}

static void *tp_producer(void *arg) {
  producer_arg *a = arg;
  tp *t = a->t;
  uint64_t id = (uint64_t)a->index * (uint64_t)t->per_producer;
  for (long i = 0; i < t->per_producer; i += BATCH) {
    int64_t now = ms_clock_monotonic_us();
    for (int k = 0; k < BATCH; k++) {
      if (t->q) bl_put(t->q, id++, now);
      else submit_or_back_off(t->b, id++, now);
    }
    if (t->host) {
      ms_batch *x = NULL;
      while (ms_batcher_poll(t->b, now, &x) == MS_OK && x) {
        count_handed(t, (long)ms_batch_count(x));
        ms_batch_free(x);
      }
    }
  }
  return NULL;
}

static void *tp_worker(void *arg) {
  tp *t = arg;
  if (t->q) {
    uint64_t ids[BATCH];
    int64_t sub[BATCH];
    size_t n;
    while ((n = bl_get_batch(t->q, BATCH, MS_SEC(10), ids, sub)) > 0) count_handed(t, (long)n);
    return NULL;
  }
  for (;;) {
    ms_batch *x = NULL;
    int st = ms_batcher_wait(t->b, -1, &x);
    if (st == MS_ECLOSED) return NULL;
    if (st) die("ms_batcher_wait", st);
    count_handed(t, (long)ms_batch_count(x));
    ms_batch_free(x);
  }
}

/* kind: 0 mserve host, 1 mserve worker, 2 baseline. Requests per second. */
static double tp_run(int kind, int producers, long total) {
  tp t;
  memset(&t, 0, sizeof t);
  t.per_producer = total / producers / BATCH * BATCH;
  t.total = t.per_producer * producers;
  t.host = kind == 0;
  if (kind == 2) {
    t.q = bl_queue_new(TP_CAPACITY);
    if (!t.q) die("bl_queue_new", MS_ENOMEM);
  } else {
    CHECK(ms_batcher_new(&t.b));
    CHECK(ms_batcher_set_max_batch(t.b, BATCH));
    CHECK(ms_batcher_set_max_delay(t.b, MS_SEC(10)));
    CHECK(ms_batcher_set_max_queue(t.b, TP_CAPACITY));
  }
  pthread_t w, p[8];
  producer_arg args[8];
  if (kind != 0) pthread_create(&w, NULL, tp_worker, &t);
  int64_t t0 = now_ns();
  for (int i = 0; i < producers; i++) {
    args[i].t = &t;
    args[i].index = i;
    pthread_create(&p[i], NULL, tp_producer, &args[i]);
  }
  for (int i = 0; i < producers; i++) pthread_join(p[i], NULL);
  /* t_end is set by whoever hands out the last request. Sleep, not
   * sched_yield: a spinning main thread took a core from the producers and
   * the worker (2 cores) and made every figure depend on the scheduler. */
  const struct timespec nap = {0, 100000};
  while (!atomic_load(&t.t_end)) nanosleep(&nap, NULL);
  int64_t t1 = atomic_load(&t.t_end);
  if (kind == 2) {
    bl_close(t.q);
    pthread_join(w, NULL);
    bl_queue_free(t.q);
  } else {
    CHECK(ms_batcher_shutdown(t.b));
    if (kind == 1) pthread_join(w, NULL);
    ms_batcher_free(t.b);
  }
  return (double)t.total / ((double)(t1 - t0) / 1e9);
}

/* ---- 2 and 3: arrivals, lateness and timeouts ------------------------------------ */

typedef struct arrivals {
  int64_t *at; /* offsets from the start, us */
  size_t n;
} arrivals;

static arrivals poisson(double rate, double seconds, uint64_t seed) {
  arrivals a = {NULL, 0};
  size_t cap = (size_t)(rate * seconds * 1.2) + 16;
  a.at = malloc(cap * sizeof *a.at);
  double t = 0;
  uint64_t r = seed * 2654435761u + 1;
  while (a.n < cap) {
    r = r * 6364136223846793005u + 1442695040888963407u;
    double u = ((double)(r >> 11) + 0.5) / 9007199254740992.0;
    t += -log(u) / rate * 1e6;
    if (t > seconds * 1e6) break;
    a.at[a.n++] = (int64_t)t;
  }
  return a;
}

typedef struct lat {
  ms_batcher *b;
  bl_queue *q;
  const arrivals *arr;
  int mode; /* 0 epoll host, 1 wait worker, 2 baseline */
  int timeouts; /* section 3: measure deadline -> timed-out batch */
  sample s;
  sample s_delay; /* section 2: the batches cut by the delay (not full) */
  long batches, requests;
  /* The epoll host's timer: the deadline it armed (INT64_MAX: none), and
   * the eventfd a producer thread writes when its submit moved the next
   * deadline before that (see lat_producer). */
  atomic_llong armed;
  int kick;
  long kicks;
} lat;

static void sleep_until_us(int64_t t_us) {
  struct timespec ts = {(time_t)(t_us / 1000000), (long)(t_us % 1000000) * 1000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void *lat_producer(void *arg) {
  lat *l = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int64_t base = ms_clock_monotonic_us() + 2000;
  for (size_t i = 0; i < l->arr->n; i++) {
    int64_t target = base + l->arr->at[i];
    if (ms_clock_monotonic_us() < target) sleep_until_us(target);
    int64_t now = ms_clock_monotonic_us();
    if (l->q) {
      bl_put(l->q, i, now);
      continue;
    }
    CHECK(ms_batcher_submit(l->b, i, 1, 0, 0, now));
    if (l->mode == 0) {
      /* ms_batcher_fd tells of batches due now; a deadline is the host's
       * to watch (ms_batcher_next_deadline). A host whose requests come in
       * on another thread must hear of a deadline earlier than its timer:
       * this one does, through an eventfd of its own. Without it a batch
       * cut by the delay waited for the next arrival after its deadline. */
      int64_t d = 0;
      CHECK(ms_batcher_next_deadline(l->b, &d));
      long long armed = atomic_load(&l->armed);
      if (d < armed && atomic_compare_exchange_strong(&l->armed, &armed, d)) { /* once per earlier deadline */
        uint64_t one = 1;
        ssize_t w = write(l->kick, &one, sizeof one);
        (void)w;
        l->kicks++;
      }
    }
  }
  return NULL;
}

/* One handed-out batch: its lateness, or each request's timeout promptness. */
static void record(lat *l, int status, size_t n, const int64_t *submits, int64_t handed) {
  if (l->timeouts) {
    if (status != MS_ETIMEDOUT) return;
    for (size_t i = 0; i < n; i++) add(&l->s, handed - (submits[i] + TIMEOUT_US));
    l->batches++;
    l->requests += (long)n;
    return;
  }
  if (status != MS_OK) return;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    if (submits[i] < lo) lo = submits[i];
    if (submits[i] > hi) hi = submits[i];
  }
  int64_t due = n == BATCH ? hi : lo + LAT_DELAY_US;
  add(&l->s, handed - due);
  if (n < BATCH) add(&l->s_delay, handed - due);
  l->batches++;
  l->requests += (long)n;
}

static void record_batch(lat *l, ms_batch *x, int64_t handed) {
  size_t n = ms_batch_count(x);
  int64_t *sub = malloc((n ? n : 1) * sizeof *sub);
  for (size_t i = 0; i < n; i++) ms_batch_get(x, i, NULL, NULL, &sub[i]);
  record(l, ms_batch_status(x), n, sub, handed);
  free(sub);
  ms_batch_free(x);
}

static void *lat_consumer(void *arg) {
  lat *l = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (l->mode == 2) {
    uint64_t ids[BATCH];
    int64_t sub[BATCH];
    size_t n;
    while ((n = bl_get_batch(l->q, BATCH, LAT_DELAY_US, ids, sub)) > 0) record(l, MS_OK, n, sub, ms_clock_monotonic_us());
    return NULL;
  }
  if (l->mode == 1) {
    for (;;) {
      ms_batch *x = NULL;
      int st = ms_batcher_wait(l->b, -1, &x);
      if (st == MS_ECLOSED) return NULL;
      if (st) die("ms_batcher_wait", st);
      record_batch(l, x, ms_clock_monotonic_us());
    }
  }
  /* the epoll host: the batcher's eventfd, and a timerfd at next_deadline */
  int efd = -1;
  CHECK(ms_batcher_fd(l->b, &efd));
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
  epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
  ev.data.fd = tfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  ev.data.fd = l->kick;
  epoll_ctl(ep, EPOLL_CTL_ADD, l->kick, &ev);
  for (;;) {
    /* Publish the deadline, then read it again: a submit between the two
     * reads is seen here, one after them sees the new armed value. */
    int64_t d = 0, again = 0;
    CHECK(ms_batcher_next_deadline(l->b, &d));
    for (;;) {
      atomic_store(&l->armed, d);
      CHECK(ms_batcher_next_deadline(l->b, &again));
      if (again == d) break;
      d = again;
    }
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (d != INT64_MAX) {
      if (d <= 0) d = 1;
      its.it_value.tv_sec = (time_t)(d / 1000000);
      its.it_value.tv_nsec = (long)(d % 1000000) * 1000;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    struct epoll_event out[3];
    int k = epoll_wait(ep, out, 3, -1);
    for (int i = 0; i < k; i++) {
      if (out[i].data.fd == tfd || out[i].data.fd == l->kick) {
        uint64_t count;
        ssize_t r = read(out[i].data.fd, &count, sizeof count);
        (void)r;
      }
    }
    int64_t now = ms_clock_monotonic_us();
    for (;;) {
      ms_batch *x = NULL;
      int st = ms_batcher_poll(l->b, now, &x);
      if (st == MS_ECLOSED) {
        close(tfd);
        close(ep);
        return NULL;
      }
      if (st) die("ms_batcher_poll", st);
      if (!x) break;
      record_batch(l, x, ms_clock_monotonic_us());
    }
  }
}

static void lat_run(lat *l) {
  pthread_t c, p;
  pthread_create(&c, NULL, lat_consumer, l);
  pthread_create(&p, NULL, lat_producer, l);
  pthread_join(p, NULL);
  if (l->q) bl_close(l->q);
  else CHECK(ms_batcher_shutdown(l->b));
  pthread_join(c, NULL);
}

typedef struct lat_result {
  double p50, p99, max, mean_batch;
  long batches, requests;
  double delay_p99; /* section 2: the batches cut by the delay */
  long delay_batches, kicks;
} lat_result;

static lat_result lat_measure(int mode, int timeouts, const arrivals *arr) {
  lat l;
  memset(&l, 0, sizeof l);
  l.arr = arr;
  l.mode = mode;
  l.timeouts = timeouts;
  atomic_store(&l.armed, INT64_MAX);
  l.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l.kick < 0) die("eventfd", MS_EIO);
  if (mode == 2) {
    l.q = bl_queue_new(1 << 16);
  } else {
    CHECK(ms_batcher_new(&l.b));
    if (timeouts) { /* nothing is ever due to run */
      CHECK(ms_batcher_set_max_batch(l.b, 1 << 20));
      CHECK(ms_batcher_set_max_delay(l.b, MS_SEC(60)));
      CHECK(ms_batcher_set_queue_policy(l.b, 0, MS_TIMEOUT_REJECT, TIMEOUT_US, 0));
    } else {
      CHECK(ms_batcher_set_max_batch(l.b, BATCH));
      CHECK(ms_batcher_set_max_delay(l.b, LAT_DELAY_US));
    }
  }
  lat_run(&l);
  lat_result r;
  r.p50 = pct(&l.s, 50);
  r.p99 = pct(&l.s, 99);
  r.max = pct(&l.s, 100);
  r.batches = l.batches;
  r.requests = l.requests;
  r.mean_batch = l.batches ? (double)l.requests / (double)l.batches : 0;
  r.delay_batches = (long)l.s_delay.n;
  r.delay_p99 = pct(&l.s_delay, 99);
  r.kicks = l.kicks;
  close(l.kick);
  free(l.s.v);
  free(l.s_delay.v);
  if (l.q) bl_queue_free(l.q);
  else ms_batcher_free(l.b);
  return r;
}

/* The platform's own timer latency, as a reference for sections 2 and 3: a
 * timerfd armed 50..110 us ahead, awaited in epoll, no batcher involved. */
static lat_result raw_timer(int n) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = tfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  sample s = {NULL, 0, 0};
  for (int i = 0; i < n; i++) {
    int64_t d = ms_clock_monotonic_us() + 50 + (i % 7) * 10;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(d / 1000000);
    its.it_value.tv_nsec = (long)(d % 1000000) * 1000;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    epoll_wait(ep, &ev, 1, -1);
    add(&s, ms_clock_monotonic_us() - d);
    uint64_t x;
    ssize_t r = read(tfd, &x, sizeof x);
    (void)r;
  }
  close(tfd);
  close(ep);
  lat_result r = {pct(&s, 50), pct(&s, 99), pct(&s, 100), 0, 0, (long)n, 0, 0, 0};
  free(s.v);
  return r;
}

/* The platform's wake-up across threads, as the floor of section 2 (a batch
 * due by size is handed out by a thread that another thread's submit must
 * wake): a thread sleeps 50..110 us, reads the clock and wakes a second
 * one — through an eventfd it waits on in epoll (kind 0) or a condition
 * variable (kind 1) —, which reads the clock again. No batcher involved. */
typedef struct waker {
  int kind, n, efd;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t sent; /* guarded by mu; 0: nothing sent */
  atomic_llong sent_at;
  atomic_int acked;
} waker;

static void *waker_main(void *arg) {
  waker *w = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  for (int i = 0; i < w->n; i++) {
    while (atomic_load(&w->acked) != i) {
      const struct timespec ns = {0, 10000};
      nanosleep(&ns, NULL);
    }
    sleep_until_us(ms_clock_monotonic_us() + 50 + (i % 7) * 10);
    int64_t t = ms_clock_monotonic_us();
    if (w->kind == 0) {
      atomic_store(&w->sent_at, t);
      uint64_t one = 1;
      ssize_t r = write(w->efd, &one, sizeof one);
      (void)r;
    } else {
      pthread_mutex_lock(&w->mu);
      w->sent = t;
      pthread_cond_signal(&w->cv);
      pthread_mutex_unlock(&w->mu);
    }
  }
  return NULL;
}

static lat_result raw_wake(int kind, int n) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  waker w;
  memset(&w, 0, sizeof w);
  w.kind = kind;
  w.n = n;
  w.efd = eventfd(0, EFD_CLOEXEC);
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = w.efd};
  epoll_ctl(ep, EPOLL_CTL_ADD, w.efd, &ev);
  pthread_t th;
  pthread_create(&th, NULL, waker_main, &w);
  sample s = {NULL, 0, 0};
  for (int i = 0; i < n; i++) {
    int64_t sent;
    if (kind == 0) {
      epoll_wait(ep, &ev, 1, -1);
      int64_t t = ms_clock_monotonic_us();
      uint64_t x;
      ssize_t r = read(w.efd, &x, sizeof x);
      (void)r;
      sent = atomic_load(&w.sent_at);
      add(&s, t - sent);
    } else {
      pthread_mutex_lock(&w.mu);
      while (!w.sent) pthread_cond_wait(&w.cv, &w.mu);
      int64_t t = ms_clock_monotonic_us();
      sent = w.sent;
      w.sent = 0;
      pthread_mutex_unlock(&w.mu);
      add(&s, t - sent);
    }
    atomic_store(&w.acked, i + 1);
  }
  pthread_join(th, NULL);
  close(ep);
  close(w.efd);
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
  lat_result r = {pct(&s, 50), pct(&s, 99), pct(&s, 100), 0, 0, (long)n, 0, 0, 0};
  free(s.v);
  return r;
}

/* ---- 4 and 5: a deep queue ------------------------------------------------------- */

/* Queue n requests over 4 levels; every level has a default timeout and one
 * request in 10 its own shorter one (100 distinct values). */
static ms_batcher *deep_queue(long n, int64_t now) {
  ms_batcher *b = NULL;
  CHECK(ms_batcher_new(&b));
  CHECK(ms_batcher_set_max_batch(b, BATCH));
  CHECK(ms_batcher_set_max_delay(b, MS_SEC(3600)));
  CHECK(ms_batcher_set_priority_levels(b, LEVELS, LEVELS));
  CHECK(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS_SEC(3600), 1));
  uint64_t r = 12345;
  for (long i = 0; i < n; i++) {
    r = r * 6364136223846793005u + 1442695040888963407u;
    int prio = 1 + (int)((r >> 33) % LEVELS);
    int64_t timeout = (r >> 40) % 10 == 0 ? MS_SEC(1800) + (int64_t)((r >> 20) % 100) : 0;
    CHECK(ms_batcher_submit(b, (uint64_t)i, 1, prio, timeout, now));
  }
  return b;
}

typedef struct mem_result {
  double heap_per_request, own_per_request;
} mem_result;

static mem_result memory_at(long n) {
  struct mallinfo2 before = mallinfo2();
  ms_batcher *b = deep_queue(n, MS_SEC(10));
  struct mallinfo2 after = mallinfo2();
  mem_result m;
  double used = (double)(after.uordblks + after.hblkhd) - (double)(before.uordblks + before.hblkhd);
  m.heap_per_request = used / (double)n;
  m.own_per_request = (double)ms__batcher_bytes(b) / (double)n;
  ms_batcher_free(b);
  return m;
}

typedef struct poll_result {
  double median_ns, p99_ns;
} poll_result;

static poll_result poll_at_depth(long depth, int k) {
  int64_t now = MS_SEC(10);
  ms_batcher *b = deep_queue(depth, now);
  uint64_t next = (uint64_t)depth, r = 777;
  sample s = {NULL, 0, 0};
  for (int i = 0; i < k; i++) {
    ms_batch *x = NULL;
    int64_t t0 = now_ns();
    int st = ms_batcher_poll(b, now, &x);
    int64_t t1 = now_ns();
    if (st || !x || ms_batch_count(x) == 0) die("poll on a deep queue", st ? st : MS_EINTERNAL);
    size_t n = ms_batch_count(x);
    ms_batch_free(x);
    add(&s, t1 - t0);
    for (size_t j = 0; j < n; j++) { /* keep the depth */
      r = r * 6364136223846793005u + 1442695040888963407u;
      CHECK(ms_batcher_submit(b, next++, 1, 1 + (int)((r >> 33) % LEVELS), 0, now));
    }
  }
  poll_result p = {pct(&s, 50), pct(&s, 99)};
  free(s.v);
  ms_batcher_free(b);
  return p;
}

/* ---- main ------------------------------------------------------------------------- */

static void print_lat(const char *name, const lat_result *r) {
  printf("%-44s %9.0f %9.0f %9.0f %9ld\n", name, r->p50, r->p99, r->max, r->requests);
}

int main(int argc, char **argv) {
  cfg c = {0, 5, 4000000, 2.0, 20000, "bench-batcher.json"};
  int run[6] = {0, 1, 1, 1, 1, 1};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      c.quick = 1;
      c.repeat = 1;
      c.tp_requests = 400000;
      c.lat_seconds = 0.4;
      c.poll_k = 2000;
    } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
      c.repeat = atoi(argv[++i]);
      if (c.repeat < 1 || c.repeat > MAX_REPEAT) {
        fprintf(stderr, "bench-batcher: --repeat is 1..%d\n", MAX_REPEAT);
        return 2;
      }
    } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
      c.json = argv[++i];
    } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      const char *list = argv[++i];
      memset(run, 0, sizeof run);
      for (const char *q = list; *q; q++) {
        if (*q >= '1' && *q <= '5') run[*q - '0'] = 1;
        else if (*q != ',') {
          fprintf(stderr, "bench-batcher: --only takes sections 1..5, e.g. 2,3\n");
          return 2;
        }
      }
    } else {
      fprintf(stderr, "usage: bench-batcher [--quick] [--repeat K] [--json FILE] [--only 1,2,3,4,5]\n");
      return 2;
    }
  }

  /* 1 */
  static const int prod[2] = {1, 4};
  double tp_runs[3][2][MAX_REPEAT], tp_med[3][2];
  memset(tp_runs, 0, sizeof tp_runs);
  memset(tp_med, 0, sizeof tp_med);
  if (run[1]) {
    for (int pi = 0; pi < 2; pi++)
      for (int r = 0; r < c.repeat; r++)
        for (int kind = 0; kind < 3; kind++) {
          fprintf(stderr, "throughput: %s, %d producer(s), run %d/%d\r", kind == 2 ? "baseline" : "mserve", prod[pi],
                  r + 1, c.repeat);
          tp_runs[kind][pi][r] = tp_run(kind, prod[pi], c.tp_requests);
        }
    for (int kind = 0; kind < 3; kind++)
      for (int pi = 0; pi < 2; pi++) tp_med[kind][pi] = median(tp_runs[kind][pi], c.repeat);
    fprintf(stderr, "%60s\r", "");
  }

  /* 2 and 3 */
  lat_result lr[3], tr[2], raw, wake_efd, wake_cv;
  memset(lr, 0, sizeof lr);
  memset(tr, 0, sizeof tr);
  arrivals arr = {NULL, 0};
  if (run[2] || run[3]) {
    fprintf(stderr, "lateness and timeouts: %.1f s each ...\n", c.lat_seconds);
    arr = poisson(RATE, c.lat_seconds, 42);
  }
  if (run[2])
    for (int mode = 0; mode < 3; mode++) lr[mode] = lat_measure(mode, 0, &arr);
  if (run[3])
    for (int mode = 0; mode < 2; mode++) tr[mode] = lat_measure(mode, 1, &arr);
  int n_raw = c.quick ? 500 : 4000;
  if (run[2]) {
    wake_efd = raw_wake(0, n_raw);
    wake_cv = raw_wake(1, n_raw);
  }
  if (run[2] || run[3]) raw = raw_timer(n_raw);

  /* 4 and 5 */
  mem_result mem = {0, 0};
  poll_result p1k = {0, 0}, p1m = {0, 0};
  if (run[4] || run[5]) fprintf(stderr, "memory and deep-queue polls ...\n");
  if (run[4]) mem = memory_at(1000000);
  if (run[5]) {
    p1k = poll_at_depth(1000, c.poll_k);
    p1m = poll_at_depth(1000000, c.poll_k);
  }

  printf("\nbatcher benchmark: batch %d; libmserve %s%s; medians of %d\n", BATCH, ms_version(), c.quick ? " (quick)" : "",
         c.repeat);
  printf("(shared machine, expect noise of 10-30%% between runs)\n");
  if (run[1]) {
    printf("\n%-44s %14s %14s %9s\n", "1 throughput (requests/s)", "mserve", "baseline", "ratio");
    static const char *const tp_names[4] = {"  1 producer, host polls", "  1 producer, worker in ms_batcher_wait",
                                            "  4 producers, each polls", "  4 producers, worker in ms_batcher_wait"};
    for (int pi = 0; pi < 2; pi++)
      for (int kind = 0; kind < 2; kind++)
        printf("%-44s %11.2f M/s %11.2f M/s %8.1fx\n", tp_names[pi * 2 + kind], tp_med[kind][pi] / 1e6,
               tp_med[2][pi] / 1e6, tp_med[kind][pi] / tp_med[2][pi]);
    printf("  (both queues hold at most %d requests; a full batcher's producer backs off 20 us and submits again)\n",
           TP_CAPACITY);
  }
  static const char *const lat_names[3] = {"  mserve, epoll on fd + timerfd", "  mserve, worker in ms_batcher_wait",
                                           "  baseline (TorchServe)"};
  if (run[2]) {
    printf("\n%-44s %9s %9s %9s %9s %9s\n", "2 lateness at 20 k/s, delay 2 ms (us)", "p50", "p99", "max", "batches",
           "mean size");
    for (int m = 0; m < 3; m++)
      printf("%-44s %9.0f %9.0f %9.0f %9ld %9.1f\n", lat_names[m], lr[m].p50, lr[m].p99, lr[m].max, lr[m].batches,
             lr[m].mean_batch);
    printf("%-44s", "  of which cut by the delay: p99 (n)");
    for (int m = 0; m < 3; m++) printf(" %9.0f (%ld)", lr[m].delay_p99, lr[m].delay_batches);
    printf("\n  (the epoll host hears of an earlier deadline from the producer thread: %ld times)\n", lr[0].kicks);
    printf("%-44s %9s %9s %9s %9s\n", "  floor: one thread waking another", "p50", "p99", "max", "samples");
    print_lat("  reference: an eventfd write -> epoll wake-up", &wake_efd);
    print_lat("  reference: a condvar signal -> wake-up", &wake_cv);
  }
  if (run[3]) {
    printf("\n%-44s %9s %9s %9s %9s\n", "3 timeout -> MS_ETIMEDOUT batch (us)", "p50", "p99", "max", "requests");
    for (int m = 0; m < 2; m++) print_lat(lat_names[m], &tr[m]);
  }
  if (run[2] || run[3]) print_lat("  reference: a bare timerfd + epoll wake-up", &raw);
  if (run[4])
    printf("\n%-44s %9.1f B (own accounting %.1f B)\n", "4 memory per request, 1 M queued", mem.heap_per_request,
           mem.own_per_request);
  if (run[5]) {
    printf("\n%-44s %9s %9s\n", "5 one poll, 4 levels with timeouts (ns)", "median", "p99");
    printf("%-44s %9.0f %9.0f\n", "  1 k queued", p1k.median_ns, p1k.p99_ns);
    printf("%-44s %9.0f %9.0f\n", "  1 M queued", p1m.median_ns, p1m.p99_ns);
  }

  printf("\ntargets:");
  if (run[1])
    printf(" 1 producer >= 10 M/s: %s (host polls); 4 producers >= 3x baseline: %s (each polls), %s (worker);",
           tp_med[0][0] >= 10e6 ? "yes" : "NO", tp_med[0][1] >= 3 * tp_med[2][1] ? "yes" : "NO",
           tp_med[1][1] >= 3 * tp_med[2][1] ? "yes" : "NO");
  if (run[2])
    printf("\n         lateness p99 <= 50 us: %s (epoll), %s (wait) (the wake-up floor's p99: %.0f us eventfd, %.0f us "
           "condvar);",
           lr[0].p99 <= 50 ? "yes" : "NO", lr[1].p99 <= 50 ? "yes" : "NO", wake_efd.p99, wake_cv.p99);
  if (run[3])
    printf("\n         timeout p99 <= 100 us: %s (epoll), %s (wait) (the timer floor's p99: %.0f us);",
           tr[0].p99 <= 100 ? "yes" : "NO", tr[1].p99 <= 100 ? "yes" : "NO", raw.p99);
  double worst_mem = mem.heap_per_request > mem.own_per_request ? mem.heap_per_request : mem.own_per_request;
  if (run[4]) printf("\n         memory <= 64 B: %s;", worst_mem <= 64 ? "yes" : "NO");
  if (run[5])
    printf("\n         poll at 1 M / 1 k: %.2fx (the same instructions; the rest is cache misses)",
           p1m.median_ns / p1k.median_ns);
  printf("\n");

  FILE *f = fopen(c.json, "w");
  if (!f) {
    perror(c.json);
    return 2;
  }
  fprintf(f, "{\n  \"benchmark\": \"batcher\",\n  \"batch\": %d,\n  \"quick\": %s,\n  \"repeat\": %d,\n", BATCH,
          c.quick ? "true" : "false", c.repeat);
  fprintf(f, "  \"baseline\": \"TorchServe batching on a mutex + condvar bounded deque\",\n");
  static const char *const tp_keys[3] = {"mserve_host", "mserve_worker", "baseline"};
  fprintf(f, "  \"throughput_requests_per_s\": ");
  if (!run[1]) {
    fprintf(f, "null,\n");
  } else {
    fprintf(f, "{\n    \"queue_capacity\": %d,\n", TP_CAPACITY);
    for (int kind = 0; kind < 3; kind++) {
      fprintf(f, "    \"%s\": {", tp_keys[kind]);
      for (int pi = 0; pi < 2; pi++) {
        fprintf(f, "%s\"producers_%d\": {\"median\": %.0f, \"runs\": [", pi ? ", " : "", prod[pi], tp_med[kind][pi]);
        for (int r = 0; r < c.repeat; r++) fprintf(f, "%s%.0f", r ? ", " : "", tp_runs[kind][pi][r]);
        fprintf(f, "]}");
      }
      fprintf(f, "}%s\n", kind < 2 ? "," : "");
    }
    fprintf(f, "  },\n");
  }
  static const char *const lat_keys[3] = {"mserve_epoll", "mserve_wait", "baseline"};
  fprintf(f, "  \"lateness_us\": ");
  if (!run[2]) {
    fprintf(f, "null,\n");
  } else {
    fprintf(f, "{\"rate_per_s\": %.0f, \"max_delay_us\": %lld, \"seconds\": %.2f", RATE, (long long)LAT_DELAY_US,
            c.lat_seconds);
    for (int m = 0; m < 3; m++)
      fprintf(f,
              ",\n    \"%s\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f, \"batches\": %ld, \"mean_batch\": %.2f, "
              "\"delay_cut_batches\": %ld, \"delay_cut_p99\": %.0f}",
              lat_keys[m], lr[m].p50, lr[m].p99, lr[m].max, lr[m].batches, lr[m].mean_batch, lr[m].delay_batches,
              lr[m].delay_p99);
    fprintf(f, ",\n    \"epoll_host_deadline_kicks\": %ld", lr[0].kicks);
    fprintf(f, ",\n    \"reference_eventfd_wake\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f, \"samples\": %ld}",
            wake_efd.p50, wake_efd.p99, wake_efd.max, wake_efd.requests);
    fprintf(f, ",\n    \"reference_condvar_wake\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f, \"samples\": %ld}",
            wake_cv.p50, wake_cv.p99, wake_cv.max, wake_cv.requests);
    fprintf(f, "\n  },\n");
  }
  fprintf(f, "  \"timeout_promptness_us\": ");
  if (!run[3]) {
    fprintf(f, "null,\n");
  } else {
    fprintf(f, "{\"timeout_us\": %lld", (long long)TIMEOUT_US);
    for (int m = 0; m < 2; m++)
      fprintf(f, ",\n    \"%s\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f, \"requests\": %ld}", lat_keys[m],
              tr[m].p50, tr[m].p99, tr[m].max, tr[m].requests);
    fprintf(f,
            ",\n    \"reference_bare_timerfd_wake\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f, \"samples\": %ld}",
            raw.p50, raw.p99, raw.max, raw.requests);
    fprintf(f, "\n  },\n");
  }
  if (run[4])
    fprintf(f, "  \"memory_bytes_per_request_1m\": {\"heap\": %.2f, \"own_accounting\": %.2f},\n", mem.heap_per_request,
            mem.own_per_request);
  else
    fprintf(f, "  \"memory_bytes_per_request_1m\": null,\n");
  if (run[5])
    fprintf(f,
            "  \"poll_ns\": {\"queued_1k\": {\"median\": %.0f, \"p99\": %.0f}, \"queued_1m\": {\"median\": %.0f, "
            "\"p99\": %.0f}}\n}\n",
            p1k.median_ns, p1k.p99_ns, p1m.median_ns, p1m.p99_ns);
  else
    fprintf(f, "  \"poll_ns\": null\n}\n");
  fclose(f);
  printf("\nwrote %s\n", c.json);
  free(arr.at);
  return 0;
}
