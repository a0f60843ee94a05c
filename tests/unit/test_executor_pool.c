/* Unit tests: the skinny path's thread pool. Every chunk of every phase
 * runs exactly once per job and the caller sees all their writes when run
 * returns; no chunk of a phase starts before every chunk of the phase
 * before it completed; each thread starts a phase with the chunks it owns
 * (the same ones every job); jobs posted after the workers went to
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
  int busy_ns;                /* every chunk spins this long (so that both threads get to take part) */
  pthread_t caller;           /* the thread calling run (the pool's worker 0); 0/1 below: caller or not */
  int by[PHASES][MAXC];       /* 0 or 1: which thread ran the chunk in this job */
  int first[2][PHASES];       /* per thread and phase, the first chunk it ran in this job (-1: none) */
} job;

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  nanosleep(&ts, NULL);
}

static void chunk_fn(void *ctx, int phase, int c) {
  job *j = ctx;
  if (phase > 0 && atomic_load(&j->count[phase - 1]) != CHUNKS[phase - 1]) atomic_fetch_add(&j->early, 1);
  if (j->slow_us && pthread_equal(pthread_self(), j->slow_thread)) sleep_us(j->slow_us);
  if (j->busy_ns) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < j->busy_ns);
  }
  j->ran[phase][c] = j->job_no;
  pthread_t self = pthread_self();
  if (j->job_no > 1 && !pthread_equal(j->owner[phase][c], self)) atomic_fetch_add(&j->moved, 1);
  j->owner[phase][c] = self;
  int t = pthread_equal(self, j->caller) ? 0 : 1;
  j->by[phase][c] = t;
  if (j->first[t][phase] < 0) j->first[t][phase] = c;
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

/* Owners first: in every phase each thread starts with the chunks it owns
 * (worker t of n owns [t C / n, (t + 1) C / n)), so a chunk runs on the same
 * core from job to job. Checked as the rule itself, not as a share of
 * stable jobs, so a preempted worker cannot make it fail: a thread whose
 * first chunk of a phase lies outside its own range found that range
 * already taken, every chunk of it by the other thread. A pool that handed
 * chunks out first come, first served breaks this within a few jobs. */
static void test_chunks_stay_with_owners(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  j->caller = pthread_self();
  j->busy_ns = 3000;
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(2, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  enum { JOBS = 300, N = 2 };
  int both_ran = 0;
  for (int k = 1; k <= JOBS; k++) {
    memset(j->first, -1, sizeof j->first);
    run_job(p, j, k);
    for (int i = 0; i < PHASES; i++) {
      const int C = CHUNKS[i];
      for (int t = 0; t < N; t++) {
        int f = j->first[t][i], lo = t * C / N, hi = (t + 1) * C / N;
        if (f < 0 || (f >= lo && f < hi)) continue;
        for (int c = lo; c < hi; c++) {
          if (j->by[i][c] == t)
            print_error("job %d phase %d: thread %d began with chunk %d outside its own [%d, %d) yet ran its chunk %d\n",
                        k, i, t, f, lo, hi, c);
          assert_int_equal(j->by[i][c], 1 - t);
        }
      }
      both_ran += i == 0 && j->first[0][0] >= 0 && j->first[1][0] >= 0;
    }
  }
  /* Not an assertion on scheduling: how often both threads took part only says how much the rule was exercised. */
  print_message("owners first held in %d jobs; both threads ran chunks of phase 0 in %d of them\n", JOBS, both_ran);
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

/* A host that forks (a pre-fork server, a worker manager) and uses or
 * frees the executor in the child: the child has none of the pool's worker
 * threads, so a run must not wait for them (the caller takes every chunk)
 * and destroy must not join them. The child runs under an alarm, so a hang
 * fails the test instead of stalling it. */
static void test_fork_child_runs_and_destroys(void **state) {
  (void)state;
  job *j = calloc(1, sizeof *j);
  ms__executor_pool *p = NULL;
  assert_int_equal(ms__executor_pool_create(3, PHASES, CHUNKS, chunk_fn, j, &p), MS_OK);
  run_job(p, j, 1);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(10);
    int ok = 1;
    for (int k = 2; k <= 20 && ok; k++) {
      j->job_no = k;
      for (int i = 0; i < PHASES; i++) atomic_store(&j->count[i], 0);
      ms__executor_pool_run(p);
      for (int i = 0; i < PHASES; i++) ok &= atomic_load(&j->count[i]) == CHUNKS[i];
    }
    ms__executor_pool_destroy(p);
    _exit(ok ? 0 : 3);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st)) print_error("the child died of signal %d (14: SIGALRM, it hung)\n", WTERMSIG(st));
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  run_job(p, j, 21); /* the parent's pool is untouched */
  ms__executor_pool_destroy(p);
  free(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_chunk_once_in_order), cmocka_unit_test(test_chunks_stay_with_owners),
      cmocka_unit_test(test_slow_worker_loses_its_share), cmocka_unit_test(test_idle_workers_sleep),
      cmocka_unit_test(test_wake_races),                cmocka_unit_test(test_create_destroy),
      cmocka_unit_test(test_fork_child_runs_and_destroys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
