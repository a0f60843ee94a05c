/* The skinny path's thread pool (see pool.h).
 *
 * Hand-over: the caller resets the job's counters, then bumps `job` (a
 * generation number); workers wait for it to change. A batch-1 run of a
 * small model takes tens of microseconds, about what a futex wake-up costs,
 * so workers spin SPIN_US on the number before they sleep on it: back-to-
 * back runs never sleep, an idle executor stops using the CPU within
 * SPIN_US. The futex word is the number itself and `sleepers` says whether
 * a wake is needed, so a run of a busy pool makes no system call at all.
 *
 * Chunks: per phase and owner a counter of the owner's chunks taken, per
 * phase a counter of chunks completed. Each counter carries the job's
 * generation in its high 32 bits, so a worker still in an old job (it was
 * not running when that job ended) cannot take a chunk of the next one: its
 * compare-and-swap expects the old generation and fails, and it moves on to
 * the new job. The caller only waits for completed chunks, never for a
 * worker, and starts the next job only when every chunk is done, so what a
 * chunk reads of the job (through ctx) does not change under it.
 *
 * Waits inside a job never block, but yield after a while: with more
 * workers than free cores a spinning one would otherwise hold the core that
 * the one it waits for needs. */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/wait.h"
#include "executor/pool.h"
#include "mserve/common.h"

#define SPIN_US 100             /* idle workers spin this long before they sleep */
#define SPINS_BEFORE_YIELD 2000 /* in-job waits: pauses before each further try yields */

typedef struct counter {
  _Alignas(64) _Atomic uint64_t v; /* generation << 32 | count; a line each (owners take theirs often) */
} counter;

typedef struct worker {
  ms__executor_pool *pool;
  int t;
  pthread_t th;
} worker;

struct ms__executor_pool {
  int n, phases;
  int *chunks;
  ms__executor_pool_fn fn;
  void *ctx;
  counter *next; /* [phase][owner]: chunks of the owner taken */
  counter *done; /* [phase]: chunks completed */
  uint32_t gen;  /* the caller's: generation of the last job */
  _Alignas(64) _Atomic uint32_t job; /* generation of the posted job; also the futex word */
  _Atomic int sleepers;
  _Atomic int stop;
  worker *w; /* n - 1 started threads */
  int started;
  pid_t pid; /* the process that started them: a forked child has none of them */
};

static inline uint64_t tag(uint32_t g, uint32_t count) { return (uint64_t)g << 32 | count; }

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void backoff(unsigned i) {
  if (i < SPINS_BEFORE_YIELD) ms__cpu_relax();
  else sched_yield();
}

/* Take the next of `limit` chunks from c: its index, -1 when none is left,
 * -2 when the job is no longer generation g. */
static int take(counter *c, uint32_t g, uint32_t limit) {
  uint64_t v = atomic_load_explicit(&c->v, memory_order_acquire);
  for (;;) {
    if ((uint32_t)(v >> 32) != g) return -2;
    uint32_t k = (uint32_t)v;
    if (k >= limit) return -1;
    if (atomic_compare_exchange_weak_explicit(&c->v, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
      return (int)k;
  }
}

/* Wait until phase i of job g has completed: 1, or 0 when the job is over. */
static int wait_phase(ms__executor_pool *p, uint32_t g, int i) {
  const uint64_t want = tag(g, (uint32_t)p->chunks[i]);
  for (unsigned k = 0;; k++) {
    uint64_t v = atomic_load_explicit(&p->done[i].v, memory_order_acquire);
    if (v == want) return 1;
    if ((uint32_t)(v >> 32) != g) return 0;
    backoff(k);
  }
}

/* Worker t's part of job g: per phase its own chunks, then the others'. */
static void work(ms__executor_pool *p, uint32_t g, int t) {
  const int n = p->n;
  for (int i = 0; i < p->phases; i++) {
    if (i > 0 && !wait_phase(p, g, i - 1)) return;
    const int C = p->chunks[i];
    for (int k = 0; k < n; k++) {
      int o = (t + k) % n, lo = (int)((int64_t)o * C / n), hi = (int)((int64_t)(o + 1) * C / n);
      for (;;) {
        int c = take(&p->next[i * n + o], g, (uint32_t)(hi - lo));
        if (c == -2) return;
        if (c < 0) break;
        p->fn(p->ctx, i, lo + c);
        atomic_fetch_add_explicit(&p->done[i].v, 1, memory_order_release);
      }
    }
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  ms__executor_pool *p = w->pool;
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = atomic_load_explicit(&p->job, memory_order_acquire);
    if (g == seen) {
      /* spin, then sleep on the number */
      int64_t until = mono_ns() + (int64_t)SPIN_US * 1000;
      for (unsigned i = 1; (g = atomic_load_explicit(&p->job, memory_order_acquire)) == seen; i++) {
        ms__cpu_relax();
        if (i % 64 == 0 && mono_ns() > until) {
          atomic_fetch_add(&p->sleepers, 1); /* seq_cst: ordered against post's bump and check */
          while ((g = atomic_load(&p->job)) == seen) ms__futex_wait(&p->job, seen, -1, MS__FUTEX_PRIVATE);
          atomic_fetch_sub(&p->sleepers, 1);
          break;
        }
      }
    }
    seen = g;
    if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
    work(p, g, w->t);
  }
  return NULL;
}

static void post(ms__executor_pool *p, uint32_t g) {
  atomic_store(&p->job, g); /* seq_cst: see worker_main's sleepers */
  if (atomic_load(&p->sleepers) > 0) ms__futex_wake(&p->job, INT_MAX, MS__FUTEX_PRIVATE);
}

void ms__executor_pool_destroy(ms__executor_pool *p) {
  if (!p) return;
  /* In a child of fork the workers do not exist: joining them would wait on
   * (or free) thread descriptors that belong to the parent. Runs there need
   * no change: the caller takes every chunk itself. */
  if (p->started && getpid() == p->pid) {
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    post(p, ++p->gen);
    for (int i = 0; i < p->started; i++) pthread_join(p->w[i].th, NULL);
  }
  free(p->w);
  free(p->next);
  free(p->done);
  free(p->chunks);
  free(p);
}

static void *alloc_lines(size_t count, size_t size) {
  size_t bytes = (count * size + 63) / 64 * 64;
  void *q = aligned_alloc(64, bytes ? bytes : 64);
  if (q) memset(q, 0, bytes ? bytes : 64);
  return q;
}

int ms__executor_pool_create(int threads, int phases, const int *chunks, ms__executor_pool_fn fn, void *ctx,
                             ms__executor_pool **out) {
  if (threads < 1) threads = 1;
  ms__executor_pool *p = alloc_lines(1, sizeof *p);
  if (!p) return ms__fail(MS_ENOMEM, "cpu: out of memory for a pool of %d threads", threads);
  p->n = threads;
  p->phases = phases;
  p->fn = fn;
  p->ctx = ctx;
  p->pid = getpid();
  atomic_init(&p->job, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->stop, 0);
  p->chunks = malloc((size_t)(phases > 0 ? phases : 1) * sizeof *p->chunks);
  p->next = alloc_lines((size_t)phases * (size_t)threads, sizeof *p->next);
  p->done = alloc_lines((size_t)phases, sizeof *p->done);
  if (threads > 1) p->w = calloc((size_t)threads - 1, sizeof *p->w);
  if (!p->chunks || !p->next || !p->done || (threads > 1 && !p->w)) {
    ms__executor_pool_destroy(p);
    return ms__fail(MS_ENOMEM, "cpu: out of memory for a pool of %d threads", threads);
  }
  for (int i = 0; i < phases; i++) p->chunks[i] = chunks[i] > 0 ? chunks[i] : 1;
  for (int i = 0; i + 1 < threads; i++) {
    p->w[i].pool = p;
    p->w[i].t = i + 1;
    int e = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]);
    if (e) {
      ms__executor_pool_destroy(p);
      return ms__fail(MS_ENOMEM, "cpu: starting worker %d of %d: %s", i + 1, threads, strerror(e));
    }
    p->started++;
  }
  *out = p;
  return MS_OK;
}

int ms__executor_pool_threads(const ms__executor_pool *p) { return p->n; }

void ms__executor_pool_run(ms__executor_pool *p) {
  if (p->phases < 1) return;
  uint32_t g = ++p->gen;
  if (g == 0) g = ++p->gen; /* 0 is the workers' "seen nothing yet" */
  for (int i = 0; i < p->phases * p->n; i++) atomic_store_explicit(&p->next[i].v, tag(g, 0), memory_order_release);
  for (int i = 0; i < p->phases; i++) atomic_store_explicit(&p->done[i].v, tag(g, 0), memory_order_release);
  if (p->n > 1) post(p, g);
  work(p, g, 0);
  wait_phase(p, g, p->phases - 1);
}
