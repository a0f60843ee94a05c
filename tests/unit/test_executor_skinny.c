/* Unit tests: the CPU's skinny path. The skinny GEMM against a double dot
 * product at odd sizes (vector body and masked tail, short blocks, output
 * sub-ranges, 1..9 rows: every tile shape), on each instruction set this
 * CPU has, writing nothing outside its range; then whole networks on the
 * skinny path and on the sgemm path, every activation, 1..20 rows, 1, 2, 3
 * and 5 threads (more threads than some layers have blocks), both within the
 * header's tolerance of the double reference and of each other; and the
 * public ms_executor_set_threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"
#include "mserve.h"
#include "test_executor_gen.h"

#define CANARY (-12345.0f)

static void check_gemm(int64_t in, int64_t out, int64_t rows, int64_t o0, int64_t o1, int level) {
  gen_seed((uint64_t)(in * 1000003 + out * 101 + rows));
  float *w = malloc((size_t)(in * out) * sizeof *w), *x = malloc((size_t)(rows * in) * sizeof *x);
  float *y = malloc((size_t)(rows * out) * sizeof *y);
  for (int64_t i = 0; i < in * out; i++) w[i] = (float)gen_uniform();
  for (int64_t i = 0; i < rows * in; i++) x[i] = (float)(gen_uniform() * 2.0);
  for (int64_t i = 0; i < rows * out; i++) y[i] = CANARY;
  ms__executor_skinny_gemm(w, in, o0, o1, x, in, rows, y, out);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t o = 0; o < out; o++) {
      float got = y[r * out + o];
      if (o < o0 || o >= o1) {
        if (got != CANARY) print_error("level %d in %lld out %lld rows %lld: wrote [%lld][%lld] outside [%lld, %lld)\n",
                                       level, (long long)in, (long long)out, (long long)rows, (long long)r,
                                       (long long)o, (long long)o0, (long long)o1);
        assert_true(got == CANARY);
        continue;
      }
      double s = 0, mag = 0;
      for (int64_t k = 0; k < in; k++) {
        s += (double)w[o * in + k] * x[r * in + k];
        mag += fabs((double)w[o * in + k] * x[r * in + k]);
      }
      /* F32 accumulation in lanes of at least 8 partial sums, then a tree:
       * within (in / 8 + 8) half-ulps of the sum of magnitudes. A missing or
       * doubled term is about mag / in, far above it. */
      double tol = ((double)in / 8.0 + 8.0) * (FLT_EPSILON / 2) * mag + 1e-30;
      if (!(fabs(got - s) <= tol))
        print_error("level %d in %lld out %lld rows %lld [%lld][%lld]: %.9g, want %.9g\n", level, (long long)in,
                    (long long)out, (long long)rows, (long long)r, (long long)o, got, s);
      assert_true(fabs(got - s) <= tol);
    }
  free(w), free(x), free(y);
}

static void test_gemm_odd_sizes(void **state) {
  (void)state;
  static const int64_t INS[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 784};
  static const int64_t OUTS[] = {1, 2, 5, 8, 9, 13, 17, 40};
  for (int lv = 0; lv <= 2; lv++) {
    if (ms__executor_cpu_force_isa(lv) != lv) continue;
    for (size_t a = 0; a < sizeof INS / sizeof *INS; a++)
      for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
        for (int64_t rows = 1; rows <= 9; rows++) {
          int64_t out = OUTS[b];
          check_gemm(INS[a], out, rows, 0, out, lv);
          if (out >= 5) check_gemm(INS[a], out, rows, 3, out - 1, lv); /* a slice: unaligned start, short end */
        }
  }
  ms__executor_cpu_force_isa(2);
}

/* An empty range writes nothing. */
static void test_gemm_empty_range(void **state) {
  (void)state;
  float w[4] = {1, 2, 3, 4}, x[2] = {1, 1}, y[2] = {CANARY, CANARY};
  ms__executor_skinny_gemm(w, 2, 1, 1, x, 2, 1, y, 2);
  ms__executor_skinny_gemm(w, 2, 0, 2, x, 2, 0, y, 2);
  assert_true(y[0] == CANARY && y[1] == CANARY);
}

/* ---- whole networks: skinny path against sgemm path -------------------------------------------- */

enum { MAXR = 20 };

typedef struct net_case {
  size_t n;
  int64_t dims[5];
  const char *act, *output;
} net_case;

static void check_paths(const net_case *nc, uint64_t seed) {
  char *dir = ms_test_tmpdir("executor-skinny");
  char *model = ms_test_path(dir, "m");
  gen_net g;
  gen_net_random(&g, nc->n, nc->dims, GEN_F32, nc->act, nc->output, 2.0, seed);
  gen_model_dir(model, &g);
  int64_t in = nc->dims[0], out = nc->dims[nc->n];
  float *x = gen_input(MAXR, in, 2.0, seed + 1);
  double *ref = malloc((size_t)(MAXR * out) * sizeof *ref);
  gen_reference(&g, x, MAXR, ref);
  float *ys = malloc((size_t)(MAXR * out) * sizeof *ys), *yg = malloc((size_t)(MAXR * out) * sizeof *yg);

  ms__executor_model *m = NULL;
  ms__executor_cpu *c = NULL;
  assert_int_equal(ms__executor_model_load(model, &m), MS_OK);
  assert_int_equal(ms__executor_cpu_open(m, MAXR, &c), MS_OK);
  static const int THREADS[] = {1, 2, 3, 5};
  for (size_t ti = 0; ti < sizeof THREADS / sizeof *THREADS; ti++) {
    assert_int_equal(ms__executor_cpu_set_threads(c, THREADS[ti]), MS_OK);
    assert_int_equal(ms__executor_cpu_threads(c), THREADS[ti]);
    for (int64_t rows = 1; rows <= MAXR; rows++) {
      ms__executor_cpu_set_skinny_max(c, MAXR);
      ms__executor_cpu_run(c, x, rows, ys, THREADS[ti]);
      ms__executor_cpu_set_skinny_max(c, 0);
      ms__executor_cpu_run(c, x, rows, yg, THREADS[ti]);
      double es = gen_max_rel_err(ys, ref, rows, out), eg = gen_max_rel_err(yg, ref, rows, out);
      double d = 0;
      for (int64_t i = 0; i < rows * out; i++) {
        double e = fabs((double)ys[i] - yg[i]);
        d = e > d || e != e ? e : d;
      }
      if (!(es <= 1e-5 && eg <= 1e-5 && d <= 2e-5))
        print_error("%s/%s %zu layers, %d threads, %lld rows: skinny %.3g, sgemm %.3g from the reference, %.3g apart\n",
                    nc->act, nc->output, nc->n, THREADS[ti], (long long)rows, es, eg, d);
      assert_true(es <= 1e-5);
      assert_true(eg <= 1e-5);
      assert_true(d <= 2e-5);
    }
  }
  ms__executor_cpu_close(c);
  ms__executor_model_free(m);
  free(x), free(ref), free(ys), free(yg);
  gen_net_free(&g);
  ms_test_rmtree(dir);
  free(dir);
  free(model);
}

static void test_paths_every_activation(void **state) {
  (void)state;
  static const char *const ACTS[] = {"none", "relu", "gelu", "tanh"};
  for (int a = 0; a < 4; a++) {
    net_case nc = {3, {37, 29, 45, 11, 0}, ACTS[a], a % 2 ? "softmax" : "none"};
    check_paths(&nc, 100u + (uint64_t)a);
    nc.output = a % 2 ? "none" : "softmax";
    check_paths(&nc, 200u + (uint64_t)a);
  }
}

static void test_paths_layer_counts(void **state) {
  (void)state;
  net_case one = {1, {50, 7, 0, 0, 0}, "relu", "softmax"};
  check_paths(&one, 300);
  net_case four = {4, {16, 64, 3, 33, 8}, "gelu", "none"}; /* a 3-wide layer: most workers get nothing */
  check_paths(&four, 301);
}

/* Every instruction set gives the same network result within the tolerance. */
static void test_paths_each_level(void **state) {
  (void)state;
  for (int lv = 0; lv <= 2; lv++) {
    if (ms__executor_cpu_force_isa(lv) != lv) continue;
    net_case nc = {3, {31, 24, 17, 9, 0}, "tanh", "softmax"};
    check_paths(&nc, 400u + (uint64_t)lv);
  }
  ms__executor_cpu_force_isa(2);
}

/* ---- the public thread count -------------------------------------------------------------------- */

static void test_set_threads_public(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("executor-skinny-api");
  char *model = ms_test_path(dir, "m");
  static const int64_t DIMS[4] = {40, 33, 27, 6};
  gen_net g;
  gen_net_random(&g, 3, DIMS, GEN_F32, "relu", "softmax", 2.0, 500);
  gen_model_dir(model, &g);
  enum { R = 32 };
  float *x = gen_input(R, 40, 2.0, 501), y[R * 6];
  double ref[R * 6];
  gen_reference(&g, x, R, ref);
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(model, "cpu", &ex), MS_OK);
  static const int THREADS[] = {1, 2, 3, 0, 2};
  for (size_t t = 0; t < sizeof THREADS / sizeof *THREADS; t++) {
    assert_int_equal(ms_executor_set_threads(ex, THREADS[t]), MS_OK);
    for (int64_t rows = 1; rows <= R; rows++) { /* both paths: the skinny one below the crossover */
      assert_int_equal(ms_executor_run(ex, x, rows, y), MS_OK);
      assert_true(gen_max_rel_err(y, ref, rows, 6) <= 1e-5);
    }
  }
  assert_int_equal(ms_executor_set_threads(ex, -1), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "ms_executor_set_threads"));
  assert_int_equal(ms_executor_set_threads(ex, 1025), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK); /* a refused count changes nothing */
  assert_true(gen_max_rel_err(y, ref, 1, 6) <= 1e-5);
  ms_executor_close(ex);
  free(x);
  gen_net_free(&g);
  ms_test_rmtree(dir);
  free(dir);
  free(model);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_odd_sizes),        cmocka_unit_test(test_gemm_empty_range),
      cmocka_unit_test(test_paths_every_activation), cmocka_unit_test(test_paths_layer_counts),
      cmocka_unit_test(test_paths_each_level),      cmocka_unit_test(test_set_threads_public),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
