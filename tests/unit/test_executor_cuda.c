/* Unit tests: the CUDA backend against a double-precision reference, with
 * the header's tolerances (F32: 1e-5 of each row's largest |output|; F16,
 * BF16 and TF32: 4 x L x the dtype's unit roundoff), every batch bucket, a
 * larger max batch, mixed dtypes, and CPU and CUDA agreeing. Built in every
 * build; without a usable CUDA device (or in a CPU-only build) it exits 77,
 * which ctest reports as skipped, and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "test_executor_gen.h"

static char *g_dir;
static int g_seq;

static int group_setup(void **state) {
  (void)state;
  g_dir = ms_test_tmpdir("executor-cuda");
  return g_dir ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  ms_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

static char *new_dir(void) {
  char name[32];
  snprintf(name, sizeof name, "m%d", g_seq++);
  char *d = ms_test_path(g_dir, name);
  mkdir(d, 0755);
  return d;
}

static double tolerance(int dtype, size_t layers, int tf32) {
  if (dtype == GEN_BF16) return 4.0 * (double)layers * ldexp(1, -8);
  if (dtype == GEN_F16 || tf32) return 4.0 * (double)layers * ldexp(1, -11);
  return 1e-5;
}

static ms_executor *open_dev(const char *dir, const char *device) {
  ms_executor *ex = NULL;
  int st = ms_executor_open(dir, device, &ex);
  if (st) print_error("open %s on %s: %s %s\n", dir, device, ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_OK);
  return ex;
}

/* Run g on CUDA at each row count and compare with the reference. */
static void check_net(const gen_net *g, const int64_t *rows, size_t n_rows, int64_t max_batch, int tf32) {
  char *d = new_dir();
  gen_model_dir(d, g);
  if (tf32) {
    gen_buf y = {0};
    gen_printf(&y, "mlp:\n  layers: [");
    for (size_t k = 0; k < g->n; k++) gen_printf(&y, "%s%s", k ? ", " : "", GEN_PREFIXES[k]);
    gen_printf(&y, "]\n  activation: %s\n  output: %s\n  allow_tf32: true\n", g->act, g->output);
    gen_write(d, "model-config.yaml", y.p, y.n);
    free(y.p);
  }
  ms_executor *ex = open_dev(d, "cuda");
  assert_int_equal(strncmp(ms_executor_device(ex), "cuda:0 (", 8), 0);
  if (max_batch != MS_EXECUTOR_DEFAULT_MAX_BATCH) assert_int_equal(ms_executor_set_max_batch(ex, max_batch), MS_OK);
  int64_t in = g->dims[0], out = g->dims[g->n];
  for (size_t i = 0; i < n_rows; i++) {
    int64_t r = rows[i];
    float *x = gen_input(r, in, 3.0, (uint64_t)(1000 + r));
    float *y = malloc((size_t)(r * out) * sizeof(float));
    double *ref = malloc((size_t)(r * out) * sizeof(double));
    assert_int_equal(ms_executor_run(ex, x, r, y), MS_OK);
    gen_reference(g, x, r, ref);
    double err = gen_max_rel_err(y, ref, r, out), tol = tolerance(g->dtype, g->n, tf32);
    if (!(err <= tol))
      print_error("%s %s/%s rows %lld: error %.3g over %.3g\n", GEN_DTYPE_NAME[g->dtype], g->act, g->output,
                  (long long)r, err, tol);
    assert_true(err <= tol);
    free(x);
    free(y);
    free(ref);
  }
  ms_executor_close(ex);
  free(d);
}

static void test_every_activation_and_dtype(void **state) {
  (void)state;
  const char *acts[] = {"relu", "gelu", "tanh", "none"};
  const char *outs[] = {"none", "softmax"};
  const int64_t dims[4] = {37, 64, 48, 11};
  const int64_t rows[] = {1, 2, 3, 8, 100, 255, 256};
  uint64_t seed = 500;
  for (int dt = 0; dt < 3; dt++)
    for (int a = 0; a < 4; a++)
      for (int o = 0; o < 2; o++) {
        gen_net g;
        gen_net_random(&g, 3, dims, dt, acts[a], outs[o], 2.0, seed++);
        check_net(&g, rows, sizeof rows / sizeof rows[0], MS_EXECUTOR_DEFAULT_MAX_BATCH, 0);
        gen_net_free(&g);
      }
}

static void test_tf32_and_big_batch(void **state) {
  (void)state;
  const int64_t dims[3] = {256, 512, 64};
  const int64_t rows[] = {1, 5, 512, 700, 1000};
  gen_net g;
  gen_net_random(&g, 2, dims, GEN_F32, "gelu", "softmax", 2.0, 600);
  check_net(&g, rows, sizeof rows / sizeof rows[0], 1000, 1);
  check_net(&g, rows, sizeof rows / sizeof rows[0], 1000, 0);
  gen_net_free(&g);
}

static void test_benchmark_shapes(void **state) {
  (void)state;
  const int64_t small[4] = {784, 512, 512, 10}, large[4] = {1024, 4096, 4096, 1024};
  const int64_t rows[] = {1, 8, 64, 256};
  for (int dt = 0; dt < 3; dt++) {
    gen_net g;
    gen_net_random(&g, 3, small, dt, "relu", "softmax", 2.0, 700 + (uint64_t)dt);
    check_net(&g, rows, 4, MS_EXECUTOR_DEFAULT_MAX_BATCH, 0);
    gen_net_free(&g);
    gen_net_random(&g, 3, large, dt, "gelu", "none", 2.0, 710 + (uint64_t)dt);
    check_net(&g, rows, 4, MS_EXECUTOR_DEFAULT_MAX_BATCH, 0);
    gen_net_free(&g);
  }
}

/* F16, then F32, then BF16 layers: conversions between them on the device. */
static void test_mixed_dtypes(void **state) {
  (void)state;
  const int64_t dims[4] = {16, 24, 20, 6};
  gen_net a, b, c;
  gen_net_random(&a, 3, dims, GEN_F16, "relu", "none", 2.0, 801);
  gen_net_random(&b, 3, dims, GEN_F32, "relu", "none", 2.0, 802);
  gen_net_random(&c, 3, dims, GEN_BF16, "relu", "none", 2.0, 803);
  gen_net ref = a; /* layer 0 from a, 1 from b, 2 from c */
  ref.w[1] = b.w[1], ref.b[1] = b.b[1], ref.w[2] = c.w[2], ref.b[2] = c.b[2];
  gen_st s;
  memset(&s, 0, sizeof s);
  const uint64_t w1[2] = {24, 16}, b1[1] = {24}, w2[2] = {20, 24}, b2[1] = {20}, w3[2] = {6, 20}, b3[1] = {6};
  gen_st_add(&s, "fc1.weight", "F16", 2, w1, a.wraw[0], 24 * 16 * 2);
  gen_st_add(&s, "fc1.bias", "F16", 1, b1, a.braw[0], 24 * 2);
  gen_st_add(&s, "fc2.weight", "F32", 2, w2, b.wraw[1], 20 * 24 * 4);
  gen_st_add(&s, "fc2.bias", "F32", 1, b2, b.braw[1], 20 * 4);
  gen_st_add(&s, "fc3.weight", "BF16", 2, w3, c.wraw[2], 6 * 20 * 2);
  gen_st_add(&s, "fc3.bias", "BF16", 1, b3, c.braw[2], 6 * 2);
  char *d = new_dir();
  gen_manifest(d, "mserve:mlp", "model.safetensors", "model-config.yaml");
  gen_write_str(d, "model-config.yaml", "mlp:\n  layers: [fc1, fc2, fc3]\n  activation: relu\n");
  gen_buf img = gen_st_image(&s);
  gen_write(d, "model.safetensors", img.p, img.n);
  free(img.p);
  const char *devices[2] = {"cuda", "cpu"};
  for (int k = 0; k < 2; k++) {
    ms_executor *ex = open_dev(d, devices[k]);
    float *x = gen_input(9, 16, 2.0, 804);
    float y[9 * 6];
    double r[9 * 6];
    assert_int_equal(ms_executor_run(ex, x, 9, y), MS_OK);
    gen_reference(&ref, x, 9, r);
    assert_true(gen_max_rel_err(y, r, 9, 6) <= (k ? 1e-5 : tolerance(GEN_BF16, 3, 0)));
    ms_executor_close(ex);
    free(x);
  }
  free(d);
  gen_net_free(&a);
  gen_net_free(&b);
  gen_net_free(&c);
}

static void test_cpu_and_cuda_agree(void **state) {
  (void)state;
  const int64_t dims[4] = {100, 200, 150, 30};
  gen_net g;
  gen_net_random(&g, 3, dims, GEN_F32, "tanh", "softmax", 2.0, 900);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *gpu = open_dev(d, "cuda:0"), *cpu = open_dev(d, "cpu"), *au = open_dev(d, "auto");
  assert_string_equal(ms_executor_device(au), ms_executor_device(gpu));
  float *x = gen_input(77, 100, 2.0, 901);
  float *a = malloc(77 * 30 * sizeof(float)), *b = malloc(77 * 30 * sizeof(float));
  double *da = malloc(77 * 30 * sizeof(double));
  assert_int_equal(ms_executor_run(gpu, x, 77, a), MS_OK);
  assert_int_equal(ms_executor_run(cpu, x, 77, b), MS_OK);
  for (int i = 0; i < 77 * 30; i++) da[i] = b[i];
  assert_true(gen_max_rel_err(a, da, 77, 30) <= 2e-5); /* each within 1e-5 of the reference */
  ms_executor_close(gpu);
  ms_executor_close(cpu);
  ms_executor_close(au);
  free(x);
  free(a);
  free(b);
  free(da);
  free(d);
  gen_net_free(&g);
}

static void test_device_index_and_limits(void **state) {
  (void)state;
  const int64_t dims[2] = {4, 3};
  gen_net g;
  gen_net_random(&g, 1, dims, GEN_F32, "none", "none", 1.0, 950);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(d, "cuda:999", &ex), MS_ENODEV);
  assert_non_null(strstr(ms_errmsg(), "cuda:999"));
  ex = open_dev(d, "cuda");
  float x[4 * 6] = {0}, y[3 * 6];
  assert_int_equal(ms_executor_set_max_batch(ex, 5), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 6, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 5, y), MS_OK);
  assert_int_equal(ms_executor_set_max_batch(ex, 1), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK);
  ms_executor_close(ex);
  free(d);
  gen_net_free(&g);
}

int main(void) {
  if (!ms_executor_cuda_available(0)) {
    printf("unit_executor_cuda: skipped: no usable CUDA device: %s\n", ms_errmsg());
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_activation_and_dtype), cmocka_unit_test(test_tf32_and_big_batch),
      cmocka_unit_test(test_benchmark_shapes),           cmocka_unit_test(test_mixed_dtypes),
      cmocka_unit_test(test_cpu_and_cuda_agree),         cmocka_unit_test(test_device_index_and_limits),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
