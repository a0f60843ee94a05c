/* The skinny path's thread pool (see pool.h).
 *
 * Hand-over: the caller publishes fn/ctx and bumps `job` (a generation
 * counter); workers wait for it to change. A batch-1 run of a small model
 * takes tens of microseconds, about what a futex wake-up costs, so workers
 * spin SPIN_US on the counter before they sleep on it: back-to-back runs
 * never sleep, an idle executor stops using the CPU within SPIN_US. The
 * futex word is the counter itself and `sleepers` says whether a wake is
 * needed, so a run of a busy pool makes no system call at all.
 *
 * Inside a job the workers meet at a central barrier (a count and a
 * generation). Waits inside a job never block, but yield after a while:
 * with more workers than free cores a spinning worker would otherwise hold
 * the core the one it waits for needs. */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/wait.h"
#include "executor/pool.h"
#include "mserve/common.h"

#define SPIN_US 100          /* idle workers spin this long before they sleep */
#define SPINS_BEFORE_YIELD 2000 /* in-job waits: pauses before each further try yields */

typedef struct worker {
  ms__executor_pool *pool;
  int t;
  pthread_t th;
} worker;

struct ms__executor_pool {
  int n;
  /* the job: written by the caller before `job` is bumped */
  ms__executor_pool_fn fn;
  void *ctx;
  int stop;
  _Alignas(64) _Atomic uint32_t job; /* generation of the posted job; also the futex word */
  _Atomic int sleepers;
  _Alignas(64) _Atomic int done; /* workers (other than the caller) finished with the job */
  _Alignas(64) _Atomic int bar_count;
  _Atomic uint32_t bar_gen;
  worker *w; /* n - 1 started threads */
  int started;
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spin (yielding after a while) until *v != old. */
static void wait_change_u32(_Atomic uint32_t *v, uint32_t old) {
  for (unsigned i = 0; atomic_load_explicit(v, memory_order_acquire) == old; i++) {
    if (i < SPINS_BEFORE_YIELD) ms__cpu_relax();
    else sched_yield();
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  ms__executor_pool *p = w->pool;
  uint32_t seen = 0;
  for (;;) {
    uint32_t g = atomic_load_explicit(&p->job, memory_order_acquire);
    if (g == seen) {
      /* spin, then sleep on the counter */
      int64_t until = mono_ns() + (int64_t)SPIN_US * 1000;
      for (unsigned i = 1; (g = atomic_load_explicit(&p->job, memory_order_acquire)) == seen; i++) {
        ms__cpu_relax();
        if (i % 64 == 0 && mono_ns() > until) {
          atomic_fetch_add(&p->sleepers, 1); /* seq_cst: ordered against the caller's bump and check */
          while ((g = atomic_load(&p->job)) == seen) ms__futex_wait(&p->job, seen, -1, MS__FUTEX_PRIVATE);
          atomic_fetch_sub(&p->sleepers, 1);
          break;
        }
      }
    }
    seen = g;
    if (p->stop) break;
    p->fn(p->ctx, w->t, p->n);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
  }
  return NULL;
}

static void post(ms__executor_pool *p) {
  atomic_fetch_add(&p->job, 1); /* seq_cst: see worker_main's sleepers */
  if (atomic_load(&p->sleepers) > 0) ms__futex_wake(&p->job, INT_MAX, MS__FUTEX_PRIVATE);
}

void ms__executor_pool_destroy(ms__executor_pool *p) {
  if (!p) return;
  if (p->started) {
    p->stop = 1;
    post(p);
    for (int i = 0; i < p->started; i++) pthread_join(p->w[i].th, NULL);
  }
  free(p->w);
  free(p);
}

int ms__executor_pool_create(int threads, ms__executor_pool **out) {
  if (threads < 1) threads = 1;
  ms__executor_pool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
  if (!p) return ms__fail(MS_ENOMEM, "cpu: out of memory for a pool of %d threads", threads);
  memset(p, 0, sizeof *p);
  p->n = threads;
  atomic_init(&p->job, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->bar_count, 0);
  atomic_init(&p->bar_gen, 0);
  if (threads > 1 && !(p->w = calloc((size_t)threads - 1, sizeof *p->w))) {
    free(p);
    return ms__fail(MS_ENOMEM, "cpu: out of memory for a pool of %d threads", threads);
  }
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

void ms__executor_pool_run(ms__executor_pool *p, ms__executor_pool_fn fn, void *ctx) {
  if (p->n == 1) {
    fn(ctx, 0, 1);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed); /* published by post's seq_cst bump */
  post(p);
  fn(ctx, 0, p->n);
  for (unsigned i = 0; atomic_load_explicit(&p->done, memory_order_acquire) != p->n - 1; i++) {
    if (i < SPINS_BEFORE_YIELD) ms__cpu_relax();
    else sched_yield();
  }
}

void ms__executor_pool_barrier(ms__executor_pool *p) {
  if (p->n == 1) return;
  uint32_t g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
  if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
    atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
    atomic_store_explicit(&p->bar_gen, g + 1, memory_order_release);
  } else {
    wait_change_u32(&p->bar_gen, g);
  }
}
