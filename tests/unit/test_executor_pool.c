/* Unit tests: the skinny path's thread pool. Every chunk of every phase
 * runs exactly once per job and the caller sees all their writes when run
 * returns; no chunk of a phase starts before every chunk of the phase
 * before it completed; with every worker running, each runs the chunks it
 * owns (the same ones every job); jobs posted after the workers went to
 * sleep still run (the futex wake); an idle pool uses no CPU (its workers
 * sleep after a short spin); a worker held up inside a chunk delays a job
 * by that chunk only (the others take the rest of its share); pools of 1..5
 * threads, created and destroyed repeatedly (ASan checks that nothing
 * leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor/pool.h"
#include "mserve.h"

enum { MAXT = 5, PHASES = 4, MAXC = 40 };
static const int CHUNKS[PHASES] = {40, 1, 7, 13};

typedef struct job {
  int job_no;
  int ran[PHASES][MAXC];      /* the job number that last ran the chunk (plain: run must publish it) */
  atomic_int count[PHASES];   /* chunks of the phase completed in this job */
  atomic_int early;           /* chunks that started before their phase's predecessor completed */
  pthread_t owner[PHASES][MAXC];
  atomic_int moved;           /* chunks that ran on another thread than in the previous job */
  pthread_t slow_thread;      /* chunks on this thread sleep slow_us (0: none) */
  int slow_us;
} job;

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  nanosleep(&ts, NULL);
}

static void chunk_fn(void *ctx, int phase, int c) {
  job *j = ctx;
  if (phase > 0 && atomic_load(&j->count[phase - 1]) != CHUNKS[phase - 1]) atomic_fetch_add(&j->early, 1);
  if (j->slow_us && pthread_equal(pthread_self(), j->slow_thread)) sleep_us(j->slow_us);
  j->ran[phase][c] = j->job_no;
  pthread_t self = pthread_self();
  if (j->job_no > 1 && !pthread_equal(j->owner[phase][c], self)) atomic_fetch_add(&j->moved, 1);
  j->owner[phase][c] = self;
  atomic_fetch_add(&j->count[phase], 1);
}

static void run_job(ms__executor_pool *p, job *j, int no) {
  j->job_no = no;
  for (int i = 0; i < PHASES; i++) atomic_store(&j->count[i], 0);
  ms__executor_pool_run(p);
  for (int i = 0; i < PHASES; i++) {
    assert_int_equal(atomic_load(&j->count[i]), CHUNKS[i]);
    for (int c = 0; c < CHUNKS[i]; c++) assert_int_equal(j->ran[i][c], no);
  }
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_every_chunk_once_in_order(void **state) {
  (void)state;
  for (int n = 1; n <= MAXT; n++) {
    job *j = calloc(1, sizeof *j);
    ms__executor_pool *p = NULL;
    assert_int_equal(ms__executor_pool_create(n, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
    assert_int_equal(ms__executor_pool_threads(p), n);
    for (int k = 1; k <= 300; k++) run_job(p, j, k);
    assert_int_equal(atomic_load(&j->early), 0);
    ms__executor_pool_destroy(p);
    free(j);
  }
}

/* The chunks stay with their owners: a pool that handed chunks out first
 * come, first served would move about half of them every job. A busy
 * machine preempts a worker now and then (the caller then takes its share),
 * so only most jobs need to keep nearly every chunk where it was. */
static void test_chunks_stay_with_owners(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(2, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  enum { JOBS = 200 };
  int per_job = CHUNKS[0] + CHUNKS[1] + CHUNKS[2] + CHUNKS[3], stable = 0;
  run_job(p, j, 1);
  for (int k = 2; k <= JOBS; k++) {
    atomic_store(&j->moved, 0);
    run_job(p, j, k);
    stable += atomic_load(&j->moved) <= per_job / 4;
  }
  if (stable < JOBS / 5) print_error("only %d of %d jobs kept 3/4 of their chunks on the same threads\n", stable, JOBS);
  assert_true(stable >= JOBS / 5);
  ms__executor_pool_destroy(p);
  free(j);
}

/* The calling thread's chunks each sleep 2 ms: the workers take the rest, so
 * the caller runs only a few of its own 20 chunks of phase 0, and a job
 * takes far less than 20 x 2 ms. A worker the machine does not run for the
 * whole job cannot take anything, so on a loaded machine one job in a few may
 * keep its chunks; without stealing every job would (all 20 of them). */
static void test_slow_worker_loses_its_share(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(2, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  run_job(p, j, 1);
  j->slow_thread = pthread_self();
  j->slow_us = 2000;
  enum { JOBS = 6 };
  int lost = 0;
  for (int k = 2; k < 2 + JOBS; k++) {
    run_job(p, j, k);
    int mine = 0;
    for (int c = 0; c < CHUNKS[0]; c++) mine += pthread_equal(j->owner[0][c], pthread_self());
    if (mine > 10) print_error("job %d: the slow thread ran %d of its 20 chunks of phase 0\n", k, mine);
    lost += mine <= 10; /* the worker took at least half of the slow thread's share */
  }
  assert_true(lost >= JOBS / 2);
  assert_int_equal(atomic_load(&j->early), 0);
  ms__executor_pool_destroy(p);
  free(j);
}

/* Workers asleep (well past the spin) still take the next job, and while
 * they sleep the process uses next to no CPU: spinning workers would burn
 * their whole wall time. */
static void test_idle_workers_sleep(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(3, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  for (int round = 1; round <= 3; round++) {
    run_job(p, j, round);
    sleep_us(50000); /* far past the spin: the workers are asleep */
    double c0 = cpu_s();
    sleep_us(200000);
    double used = cpu_s() - c0;
    if (used > 0.05) print_error("an idle pool of 3 threads used %.3f s of CPU in 0.2 s\n", used);
    assert_true(used <= 0.05);
  }
  run_job(p, j, 4);
  ms__executor_pool_destroy(p);
  free(j);
}

/* Jobs spaced around the spin time: some find the workers spinning, some
 * asleep, some falling asleep. */
static void test_wake_races(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(2, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  for (int k = 1; k <= 200; k++) {
    run_job(p, j, k);
    sleep_us((k % 7) * 30); /* 0..180 us */
  }
  assert_int_equal(atomic_load(&j->early), 0);
  ms__executor_pool_destroy(p);
  free(j);
}

static void test_create_destroy(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  for (int k = 0; k < 50; k++) {
    ms__executor_pool *p = NULL;
    assert_int_equal(ms__executor_pool_create(1 + k % 4, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
    if (k % 2) run_job(p, j, k);
    ms__executor_pool_destroy(p);
  }
  ms__executor_pool_destroy(NULL);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(0, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK); /* the caller alone */
  assert_int_equal(ms__executor_pool_threads(p), 1);
  run_job(p, j, 99);
  ms__executor_pool_destroy(p);
  free(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_chunk_once_in_order), cmocka_unit_test(test_chunks_stay_with_owners),
      cmocka_unit_test(test_slow_worker_loses_its_share), cmocka_unit_test(test_idle_workers_sleep),
      cmocka_unit_test(test_wake_races),                cmocka_unit_test(test_create_destroy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
