/* Unit tests: the skinny path's thread pool. Every worker runs each job
 * exactly once and the caller sees all their writes when run returns;
 * barriers inside a job separate phases (no worker reads a slot of the next
 * phase early, none is missed); jobs posted after the workers went to sleep
 * still run (the futex wake); an idle pool uses no CPU (its workers sleep
 * after a short spin instead of spinning on); pools of 1..5 threads, created
 * and destroyed repeatedly (ASan checks that nothing leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "executor/pool.h"
#include "mserve.h"

enum { MAXT = 5, PHASES = 50 };

typedef struct job {
  ms__executor_pool *pool;
  atomic_int runs[MAXT];
  int slot[MAXT];
  atomic_int wrong;
  int n_seen[MAXT];
  int job_no;
} job;

static void count_job(void *ctx, int t, int n) {
  job *j = ctx;
  j->n_seen[t] = n;
  atomic_fetch_add(&j->runs[t], 1);
  j->slot[t] = j->job_no * 1000 + t; /* plain write: run must publish it */
}

static void phases_job(void *ctx, int t, int n) {
  job *j = ctx;
  for (int ph = 0; ph < PHASES; ph++) {
    j->slot[t] = ph * 1000 + t;
    ms__executor_pool_barrier(j->pool);
    for (int u = 0; u < n; u++)
      if (j->slot[u] != ph * 1000 + u) atomic_fetch_add(&j->wrong, 1);
    ms__executor_pool_barrier(j->pool); /* nobody overwrites a slot another still reads */
  }
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_every_worker_once(void **state) {
  (void)state;
  for (int n = 1; n <= MAXT; n++) {
    ms__executor_pool *p = NULL;
    assert_int_equal(ms__executor_pool_create(n, &p), MS_OK);
    assert_int_equal(ms__executor_pool_threads(p), n);
    job j;
    memset(&j, 0, sizeof j);
    j.pool = p;
    for (int k = 1; k <= 300; k++) {
      j.job_no = k;
      ms__executor_pool_run(p, count_job, &j);
      for (int t = 0; t < n; t++) {
        assert_int_equal(atomic_load(&j.runs[t]), k);
        assert_int_equal(j.slot[t], k * 1000 + t);
        assert_int_equal(j.n_seen[t], n);
      }
    }
    for (int t = n; t < MAXT; t++) assert_int_equal(atomic_load(&j.runs[t]), 0);
    ms__executor_pool_destroy(p);
  }
}

static void test_barrier_phases(void **state) {
  (void)state;
  for (int n = 1; n <= MAXT; n++) {
    ms__executor_pool *p = NULL;
    assert_int_equal(ms__executor_pool_create(n, &p), MS_OK);
    job j;
    memset(&j, 0, sizeof j);
    j.pool = p;
    for (int k = 0; k < 20; k++) ms__executor_pool_run(p, phases_job, &j);
    assert_int_equal(atomic_load(&j.wrong), 0);
    ms__executor_pool_destroy(p);
  }
}

/* Workers asleep (well past the spin) still take the next job, and while
 * they sleep the process uses next to no CPU: spinning workers would burn
 * their whole wall time. */
static void test_idle_workers_sleep(void **state) {
  (void)state;
  enum { N = 3 };
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(N, &p), MS_OK);
  job j;
  memset(&j, 0, sizeof j);
  j.pool = p;
  for (int round = 1; round <= 3; round++) {
    j.job_no = round;
    ms__executor_pool_run(p, count_job, &j);
    sleep_ms(50); /* far past the spin: the workers are asleep */
    double c0 = cpu_s();
    sleep_ms(200);
    double used = cpu_s() - c0;
    if (used > 0.05) print_error("an idle pool of %d threads used %.3f s of CPU in 0.2 s\n", N, used);
    assert_true(used <= 0.05);
  }
  j.job_no = 9;
  ms__executor_pool_run(p, count_job, &j);
  for (int t = 0; t < N; t++) assert_int_equal(atomic_load(&j.runs[t]), 4);
  ms__executor_pool_destroy(p);
}

/* Jobs spaced around the spin time: some find the workers spinning, some
 * asleep, some falling asleep. */
static void test_wake_races(void **state) {
  (void)state;
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(2, &p), MS_OK);
  job j;
  memset(&j, 0, sizeof j);
  j.pool = p;
  for (int k = 1; k <= 200; k++) {
    j.job_no = k;
    ms__executor_pool_run(p, count_job, &j);
    struct timespec ts = {0, (long)(k % 7) * 30000L}; /* 0..180 us */
    nanosleep(&ts, NULL);
  }
  assert_int_equal(atomic_load(&j.runs[0]), 200);
  assert_int_equal(atomic_load(&j.runs[1]), 200);
  ms__executor_pool_destroy(p);
}

static void test_create_destroy(void **state) {
  (void)state;
  for (int k = 0; k < 50; k++) {
    ms__executor_pool *p = NULL;
    assert_int_equal(ms__executor_pool_create(1 + k % 4, &p), MS_OK);
    if (k % 2) {
      job j;
      memset(&j, 0, sizeof j);
      ms__executor_pool_run(p, count_job, &j);
    }
    ms__executor_pool_destroy(p);
  }
  ms__executor_pool_destroy(NULL);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(0, &p), MS_OK); /* clamped to the caller alone */
  assert_int_equal(ms__executor_pool_threads(p), 1);
  ms__executor_pool_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_worker_once), cmocka_unit_test(test_barrier_phases),
      cmocka_unit_test(test_idle_workers_sleep), cmocka_unit_test(test_wake_races),
      cmocka_unit_test(test_create_destroy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
