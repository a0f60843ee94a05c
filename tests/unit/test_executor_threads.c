/* Unit tests: executors and threads. Several executors of one model run in
 * parallel threads and each gets the reference result; threads that share one
 * executor either run or get MS_EBUSY, never a wrong output; an executor
 * moves between threads (opened on one, run on another, closed on a third). */
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

#include "mserve.h"
#include "test_executor_gen.h"

enum { IN = 48, OUT = 12, ROWS = 16 };
static const int64_t DIMS[4] = {IN, 64, 32, OUT};

static char *g_dir, *g_model;
static gen_net g_net;
static float *g_x;
static double g_ref[ROWS * OUT];

static int group_setup(void **state) {
  (void)state;
  g_dir = ms_test_tmpdir("executor-threads");
  g_model = ms_test_path(g_dir, "m");
  gen_net_random(&g_net, 3, DIMS, GEN_F32, "gelu", "softmax", 2.0, 77);
  gen_model_dir(g_model, &g_net);
  g_x = gen_input(ROWS, IN, 2.0, 78);
  gen_reference(&g_net, g_x, ROWS, g_ref);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  gen_net_free(&g_net);
  free(g_x);
  ms_test_rmtree(g_dir);
  free(g_dir);
  free(g_model);
  return 0;
}

typedef struct worker {
  ms_executor *ex;
  int iters, ok, busy, wrong, other;
} worker;

static void *run_many(void *arg) {
  worker *w = arg;
  float y[ROWS * OUT];
  for (int i = 0; i < w->iters; i++) {
    int rows = 1 + i % ROWS;
    int st = ms_executor_run(w->ex, g_x, rows, y);
    if (st == MS_OK) {
      w->ok++;
      if (!(gen_max_rel_err(y, g_ref, rows, OUT) <= 1e-5)) w->wrong++;
    } else if (st == MS_EBUSY) {
      w->busy++;
    } else {
      w->other++;
    }
  }
  return NULL;
}

static void test_parallel_instances(void **state) {
  (void)state;
  enum { T = 4 };
  pthread_t th[T];
  worker w[T];
  for (int i = 0; i < T; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].iters = ms_test_scale(200);
    assert_int_equal(ms_executor_open(g_model, "cpu", &w[i].ex), MS_OK);
    assert_int_equal(ms_executor_set_threads(w[i].ex, 1), MS_OK);
  }
  for (int i = 0; i < T; i++) assert_int_equal(pthread_create(&th[i], NULL, run_many, &w[i]), 0);
  for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < T; i++) {
    assert_int_equal(w[i].ok, w[i].iters); /* its own executor: never busy */
    assert_int_equal(w[i].wrong, 0);
    assert_int_equal(w[i].other, 0);
    ms_executor_close(w[i].ex);
  }
}

static void test_shared_executor_is_busy_not_wrong(void **state) {
  (void)state;
  enum { T = 3 };
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(g_model, "cpu", &ex), MS_OK);
  assert_int_equal(ms_executor_set_threads(ex, 1), MS_OK);
  pthread_t th[T];
  worker w[T];
  for (int i = 0; i < T; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].ex = ex;
    w[i].iters = ms_test_scale(300);
  }
  for (int i = 0; i < T; i++) assert_int_equal(pthread_create(&th[i], NULL, run_many, &w[i]), 0);
  int ok = 0, busy = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].wrong, 0);
    assert_int_equal(w[i].other, 0);
    ok += w[i].ok, busy += w[i].busy;
  }
  assert_true(ok > 0);
  assert_int_equal(ok + busy, T * w[0].iters);
  print_message("shared executor: %d runs, %d MS_EBUSY\n", ok, busy);
  ms_executor_close(ex);
}

static void *open_one(void *arg) {
  ms_executor **ex = arg;
  return (void *)(intptr_t)ms_executor_open(g_model, "cpu", ex);
}

static void *run_one(void *arg) {
  worker w = {.ex = arg, .iters = 5};
  run_many(&w);
  return (void *)(intptr_t)(w.ok == 5 && !w.wrong ? 0 : 1);
}

static void *close_one(void *arg) {
  ms_executor_close(arg);
  return NULL;
}

static void test_moves_between_threads(void **state) {
  (void)state;
  ms_executor *ex = NULL;
  pthread_t t;
  void *ret = NULL;
  assert_int_equal(pthread_create(&t, NULL, open_one, &ex), 0);
  pthread_join(t, &ret);
  assert_int_equal((intptr_t)ret, MS_OK);
  assert_int_equal(pthread_create(&t, NULL, run_one, ex), 0);
  pthread_join(t, &ret);
  assert_int_equal((intptr_t)ret, 0);
  assert_int_equal(pthread_create(&t, NULL, close_one, ex), 0);
  pthread_join(t, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parallel_instances),
      cmocka_unit_test(test_shared_executor_is_busy_not_wrong),
      cmocka_unit_test(test_moves_between_threads),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
