/* Unit tests: the built-in MLP on the CPU, through the public API, on model
 * folders generated here: tiny networks checked by hand, then seeded random
 * networks of every activation, output and dtype against a double-precision
 * reference (tolerance of the header: 1e-5 of each row's largest |output|),
 * batch sizes 1..max, misaligned weights, the max batch and thread settings,
 * and the device choices. */
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
  g_dir = ms_test_tmpdir("executor-mlp");
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

/* A folder with the given config body and weights image. */
static char *folder(const char *yaml, gen_buf w) {
  char *d = new_dir();
  gen_manifest(d, "mserve:mlp", "model.safetensors", "model-config.yaml");
  gen_write_str(d, "model-config.yaml", yaml);
  gen_write(d, "model.safetensors", w.p, w.n);
  free(w.p);
  return d;
}

static ms_executor *open_ok(const char *dir, const char *device) {
  ms_executor *ex = NULL;
  int st = ms_executor_open(dir, device, &ex);
  if (st) print_error("open %s: %s %s\n", dir, ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_OK);
  return ex;
}

/* ---- hand-checked networks ---------------------------------------------------- */

/* 2 -> 2 -> 1 with relu:
 *   h = relu(W1 x + b1), W1 = [[1, -1], [2, 0.5]], b1 = [0, -1]
 *   y = W2 h + b2,      W2 = [[3, -2]],           b2 = [0.25]
 * x = (1, 2): W1 x = (-1, 3), + b1 = (-1, 2), relu = (0, 2), y = -4 + 0.25 = -3.75
 * x = (3, -1): W1 x = (4, 5.5), + b1 = (4, 4.5), y = 12 - 9 + 0.25 = 3.25 */
static void test_hand_checked_relu(void **state) {
  (void)state;
  const float w1[4] = {1, -1, 2, 0.5f}, b1[2] = {0, -1}, w2[2] = {3, -2}, b2[1] = {0.25f};
  gen_st s;
  memset(&s, 0, sizeof s);
  const uint64_t s22[2] = {2, 2}, s2[1] = {2}, s12[2] = {1, 2}, s1[1] = {1};
  gen_st_add(&s, "l1.weight", "F32", 2, s22, w1, sizeof w1);
  gen_st_add(&s, "l1.bias", "F32", 1, s2, b1, sizeof b1);
  gen_st_add(&s, "l2.weight", "F32", 2, s12, w2, sizeof w2);
  gen_st_add(&s, "l2.bias", "F32", 1, s1, b2, sizeof b2);
  char *d = folder("mlp:\n  layers: [l1, l2]\n  activation: relu\n", gen_st_image(&s));
  ms_executor *ex = open_ok(d, "cpu");
  int64_t in = 0, out = 0;
  assert_int_equal(ms_executor_dims(ex, &in, &out), MS_OK);
  assert_int_equal(in, 2);
  assert_int_equal(out, 1);
  assert_string_equal(ms_executor_device(ex), "cpu");
  const float x[4] = {1, 2, 3, -1};
  float y[2] = {0, 0};
  assert_int_equal(ms_executor_run(ex, x, 2, y), MS_OK);
  assert_true(y[0] == -3.75f);
  assert_true(y[1] == 3.25f);
  /* one row takes the sgemv path: same numbers */
  float y1 = 0;
  assert_int_equal(ms_executor_run(ex, x + 2, 1, &y1), MS_OK);
  assert_true(y1 == 3.25f);
  ms_executor_close(ex);
  free(d);
}

/* One layer, no bias, softmax: logits W x with W = [[1000, 0], [0, 1000]]:
 * x = (1, 0.999) gives logits (1000, 999): probabilities 1/(1+e^-1), e^-1/(1+e^-1). */
static void test_hand_checked_softmax_large_logits(void **state) {
  (void)state;
  const float w[4] = {1000, 0, 0, 1000};
  gen_st s;
  memset(&s, 0, sizeof s);
  const uint64_t s22[2] = {2, 2};
  gen_st_add(&s, "out.weight", "F32", 2, s22, w, sizeof w);
  char *d = folder("mlp:\n  layers: [out]\n  output: softmax\n", gen_st_image(&s));
  ms_executor *ex = open_ok(d, "cpu");
  const float x[2] = {1.0f, 0.999f};
  float y[2];
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK);
  double l1 = (float)(1000.0f * 0.999f); /* the logit, as F32 arithmetic rounds it */
  double p0 = 1.0 / (1.0 + exp(l1 - 1000.0));
  assert_true(fabs(y[0] - p0) < 1e-6);
  assert_true(fabs(y[1] - (1.0 - p0)) < 1e-6);
  ms_executor_close(ex);
  free(d);
}

/* gelu, tanh and none on a 1 -> 3 -> 1 network with identity-like weights. */
static void test_hand_checked_activations(void **state) {
  (void)state;
  const char *acts[] = {"gelu", "tanh", "none"};
  const float w1[3] = {1, -1, 0.5f}, b1[3] = {0, 0.5f, -0.25f}, w2[3] = {1, 10, 100};
  for (int a = 0; a < 3; a++) {
    gen_st s;
    memset(&s, 0, sizeof s);
    const uint64_t s31[2] = {3, 1}, s3[1] = {3}, s13[2] = {1, 3};
    gen_st_add(&s, "a.weight", "F32", 2, s31, w1, sizeof w1);
    gen_st_add(&s, "a.bias", "F32", 1, s3, b1, sizeof b1);
    gen_st_add(&s, "b.weight", "F32", 2, s13, w2, sizeof w2);
    char yaml[128];
    snprintf(yaml, sizeof yaml, "mlp:\n  layers: [a, b]\n  activation: %s\n  output: none\n", acts[a]);
    char *d = folder(yaml, gen_st_image(&s));
    ms_executor *ex = open_ok(d, "cpu");
    const float xs[4] = {0.0f, 1.0f, -2.0f, 3.5f};
    for (int i = 0; i < 4; i++) {
      double want = 0;
      for (int j = 0; j < 3; j++) want += w2[j] * gen_act(acts[a], (double)w1[j] * xs[i] + b1[j]);
      float y;
      assert_int_equal(ms_executor_run(ex, &xs[i], 1, &y), MS_OK);
      if (fabs(y - want) > 1e-5 * fmax(1.0, fabs(want)))
        print_error("%s x=%g: got %.9g want %.9g\n", acts[a], xs[i], y, want);
      assert_true(fabs(y - want) <= 1e-5 * fmax(1.0, fabs(want)));
    }
    ms_executor_close(ex);
    free(d);
  }
}

/* ---- random networks against the double reference --------------------------------- */

static double run_random(const char *device, int dtype, const char *act, const char *output, size_t n_layers,
                         const int64_t *dims, int64_t rows, uint64_t seed, char *device_out, size_t dlen) {
  gen_net g;
  gen_net_random(&g, n_layers, dims, dtype, act, output, 2.0, seed);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *ex = open_ok(d, device);
  if (device_out) snprintf(device_out, dlen, "%s", ms_executor_device(ex));
  if (rows > 256) assert_int_equal(ms_executor_set_max_batch(ex, rows), MS_OK);
  float *x = gen_input(rows, dims[0], 3.0, seed + 1);
  float *y = malloc((size_t)(rows * dims[n_layers]) * sizeof(float));
  double *ref = malloc((size_t)(rows * dims[n_layers]) * sizeof(double));
  assert_int_equal(ms_executor_run(ex, x, rows, y), MS_OK);
  gen_reference(&g, x, rows, ref);
  double err = gen_max_rel_err(y, ref, rows, dims[n_layers]);
  ms_executor_close(ex);
  free(x);
  free(y);
  free(ref);
  free(d);
  gen_net_free(&g);
  return err;
}

static void test_random_networks_cpu(void **state) {
  (void)state;
  const char *acts[] = {"relu", "gelu", "tanh", "none"};
  const char *outs[] = {"none", "softmax"};
  const int64_t dims[4] = {37, 64, 29, 11};
  const int64_t rows[] = {1, 2, 7, 64, 256};
  uint64_t seed = 100;
  for (int dt = 0; dt < 3; dt++)
    for (int a = 0; a < 4; a++)
      for (int o = 0; o < 2; o++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
          double err = run_random("cpu", dt, acts[a], outs[o], 3, dims, rows[r], seed++, NULL, 0);
          if (!(err <= 1e-5))
            print_error("%s %s %s rows %lld: error %.3g\n", GEN_DTYPE_NAME[dt], acts[a], outs[o],
                        (long long)rows[r], err);
          assert_true(err <= 1e-5);
        }
}

/* Widths of the benchmark's small MLP, one and many rows, and a batch above the default max. */
static void test_wide_network_cpu(void **state) {
  (void)state;
  const int64_t dims[4] = {784, 512, 512, 10};
  assert_true(run_random("cpu", GEN_F32, "relu", "softmax", 3, dims, 1, 7, NULL, 0) <= 1e-5);
  assert_true(run_random("cpu", GEN_F32, "relu", "softmax", 3, dims, 300, 8, NULL, 0) <= 1e-5);
  const int64_t dims2[3] = {256, 1024, 128};
  assert_true(run_random("cpu", GEN_BF16, "gelu", "none", 2, dims2, 33, 9, NULL, 0) <= 1e-5);
}

/* An F32 tensor whose data is not 4-byte aligned in the file is copied once and still right. */
static void test_misaligned_weights(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {5, 4, 3};
  gen_net_random(&g, 2, dims, GEN_F32, "relu", "none", 1.0, 11);
  gen_st s;
  memset(&s, 0, sizeof s);
  s.extra_pad = 3; /* the data section starts at 8 + 8k + 3 */
  const uint64_t w1[2] = {4, 5}, b1[1] = {4}, w2[2] = {3, 4}, b2[1] = {3};
  gen_st_add(&s, "fc1.weight", "F32", 2, w1, g.wraw[0], 80);
  gen_st_add(&s, "fc1.bias", "F32", 1, b1, g.braw[0], 16);
  gen_st_add(&s, "fc2.weight", "F32", 2, w2, g.wraw[1], 48);
  gen_st_add(&s, "fc2.bias", "F32", 1, b2, g.braw[1], 12);
  char *d = folder("mlp:\n  layers: [fc1, fc2]\n  activation: relu\n", gen_st_image(&s));
  ms_executor *ex = open_ok(d, "cpu");
  float *x = gen_input(3, 5, 2.0, 12);
  float y[9];
  double ref[9];
  assert_int_equal(ms_executor_run(ex, x, 3, y), MS_OK);
  gen_reference(&g, x, 3, ref);
  assert_true(gen_max_rel_err(y, ref, 3, 3) <= 1e-5);
  ms_executor_close(ex);
  free(x);
  free(d);
  gen_net_free(&g);
}

/* Weights stored in another order than the layers, and without biases. */
static void test_order_and_no_bias(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {3, 2, 2};
  gen_net_random(&g, 2, dims, GEN_F16, "tanh", "softmax", 1.0, 13);
  g.has_bias[0] = 0;
  gen_st s;
  memset(&s, 0, sizeof s);
  const uint64_t w1[2] = {2, 3}, w2[2] = {2, 2}, b2[1] = {2};
  gen_st_add(&s, "head.bias", "F16", 1, b2, g.braw[1], 4);
  gen_st_add(&s, "head.weight", "F16", 2, w2, g.wraw[1], 8);
  gen_st_add(&s, "body.weight", "F16", 2, w1, g.wraw[0], 12);
  gen_st_add(&s, "unused.tensor", "I64", 1, b2, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
  char *d = folder("mlp:\n  layers: [body, head]\n  activation: tanh\n  output: softmax\n", gen_st_image(&s));
  ms_executor *ex = open_ok(d, "cpu");
  float *x = gen_input(4, 3, 2.0, 14);
  float y[8];
  double ref[8];
  assert_int_equal(ms_executor_run(ex, x, 4, y), MS_OK);
  gen_reference(&g, x, 4, ref);
  assert_true(gen_max_rel_err(y, ref, 4, 2) <= 1e-5);
  ms_executor_close(ex);
  free(x);
  free(d);
  gen_net_free(&g);
}

/* ---- batch limits, threads, devices ---------------------------------------------------- */

static void test_batch_limits_and_bad_input(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {4, 8, 2};
  gen_net_random(&g, 2, dims, GEN_F32, "relu", "none", 1.0, 21);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *ex = open_ok(d, "cpu");
  int64_t mb = 0;
  assert_int_equal(ms_executor_get_max_batch(ex, &mb), MS_OK);
  assert_int_equal(mb, MS_EXECUTOR_DEFAULT_MAX_BATCH);
  float *x = gen_input(600, 4, 1.0, 22);
  float *y = calloc(600 * 2, sizeof(float));
  assert_int_equal(ms_executor_run(ex, x, 0, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, -3, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 257, y), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "257 rows"));
  assert_non_null(strstr(ms_errmsg(), "executor: ms_executor_run"));
  assert_int_equal(ms_executor_run(ex, NULL, 1, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 1, NULL), MS_EINVAL);
  assert_int_equal(ms_executor_run(NULL, x, 1, y), MS_EINVAL);
  assert_int_equal(ms_executor_set_max_batch(ex, 0), MS_EINVAL);
  assert_int_equal(ms_executor_set_max_batch(ex, ((int64_t)1 << 24) + 1), MS_EINVAL);
  assert_int_equal(ms_executor_set_max_batch(NULL, 4), MS_EINVAL);
  assert_int_equal(ms_executor_get_max_batch(ex, NULL), MS_EINVAL);
  assert_int_equal(ms_executor_set_max_batch(ex, 600), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 600, y), MS_OK);
  double *ref = malloc(600 * 2 * sizeof(double));
  gen_reference(&g, x, 600, ref);
  assert_true(gen_max_rel_err(y, ref, 600, 2) <= 1e-5);
  assert_int_equal(ms_executor_set_max_batch(ex, 3), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 4, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 3, y), MS_OK);
  assert_true(gen_max_rel_err(y, ref, 3, 2) <= 1e-5);
  assert_int_equal(ms_executor_dims(NULL, NULL, NULL), MS_EINVAL);
  assert_int_equal(ms_executor_dims(ex, NULL, NULL), MS_OK);
  assert_string_equal(ms_executor_device(NULL), "");
  ms_executor_close(ex);
  ms_executor_close(NULL);
  free(ref);
  free(x);
  free(y);
  free(d);
  gen_net_free(&g);
}

static void test_threads(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {64, 128, 16};
  gen_net_random(&g, 2, dims, GEN_F32, "gelu", "softmax", 1.0, 31);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *ex = open_ok(d, "cpu");
  assert_int_equal(ms_executor_set_threads(ex, -1), MS_EINVAL);
  assert_int_equal(ms_executor_set_threads(ex, 1025), MS_EINVAL);
  assert_int_equal(ms_executor_set_threads(NULL, 1), MS_EINVAL);
  float *x = gen_input(100, 64, 1.0, 32);
  float *y1 = malloc(100 * 16 * sizeof(float)), *y2 = malloc(100 * 16 * sizeof(float));
  double *ref = malloc(100 * 16 * sizeof(double));
  gen_reference(&g, x, 100, ref);
  assert_int_equal(ms_executor_set_threads(ex, 1), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 100, y1), MS_OK);
  assert_int_equal(ms_executor_set_threads(ex, 2), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 100, y2), MS_OK);
  assert_true(gen_max_rel_err(y1, ref, 100, 16) <= 1e-5);
  assert_true(gen_max_rel_err(y2, ref, 100, 16) <= 1e-5);
  assert_int_equal(ms_executor_set_threads(ex, 0), MS_OK);
  ms_executor_close(ex);
  free(x);
  free(y1);
  free(y2);
  free(ref);
  free(d);
  gen_net_free(&g);
}

static void test_devices(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {6, 9, 4};
  gen_net_random(&g, 2, dims, GEN_F32, "relu", "softmax", 1.0, 41);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *ex = (ms_executor *)(uintptr_t)0x1;
  assert_int_equal(ms_executor_open(d, "gpu", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, "cuda:", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, "cuda:x", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, "cuda:01", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, "CPU", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(NULL, "cpu", &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, NULL, &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open(d, "cpu", NULL), MS_EINVAL);
  assert_ptr_equal(ex, (ms_executor *)(uintptr_t)0x1);
  int have_cuda = ms_executor_cuda_available(0);
  if (!have_cuda) {
    char why[1024];
    snprintf(why, sizeof why, "%s", ms_errmsg());
    assert_true(strlen(why) > 0);
    int st = ms_executor_open(d, "cuda", &ex);
    assert_int_equal(st, MS_ENODEV);
    assert_ptr_equal(ex, (ms_executor *)(uintptr_t)0x1);
    assert_non_null(strstr(ms_errmsg(), "executor: ms_executor_open"));
    assert_non_null(strstr(ms_errmsg(), "cuda:0"));
    assert_int_equal(ms_executor_open(d, "cuda:3", &ex), MS_ENODEV);
    assert_non_null(strstr(ms_errmsg(), "cuda:3"));
  }
  assert_int_equal(ms_executor_cuda_available(-1), 0);
  /* auto: the GPU when there is one, else the CPU; the device says which */
  char dev[300];
  const int64_t d2[3] = {6, 9, 4};
  double err = run_random("auto", GEN_F32, "relu", "softmax", 2, d2, 5, 41, dev, sizeof dev);
  if (have_cuda) assert_int_equal(strncmp(dev, "cuda:0 (", 8), 0);
  else assert_string_equal(dev, "cpu");
  assert_true(err <= 1e-5);
  free(d);
  gen_net_free(&g);
}

/* Two executors of one folder run side by side and agree with each other. */
static void test_two_instances(void **state) {
  (void)state;
  gen_net g;
  const int64_t dims[3] = {8, 16, 4};
  gen_net_random(&g, 2, dims, GEN_BF16, "gelu", "none", 1.0, 51);
  char *d = new_dir();
  gen_model_dir(d, &g);
  ms_executor *a = open_ok(d, "cpu"), *b = open_ok(d, "cpu");
  float *x = gen_input(10, 8, 1.0, 52);
  float ya[40], yb[40];
  assert_int_equal(ms_executor_run(a, x, 10, ya), MS_OK);
  ms_executor_close(a); /* b keeps its own mapping */
  assert_int_equal(ms_executor_run(b, x, 10, yb), MS_OK);
  assert_memory_equal(ya, yb, sizeof ya);
  ms_executor_close(b);
  free(x);
  free(d);
  gen_net_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_checked_relu),
      cmocka_unit_test(test_hand_checked_softmax_large_logits),
      cmocka_unit_test(test_hand_checked_activations),
      cmocka_unit_test(test_random_networks_cpu),
      cmocka_unit_test(test_wide_network_cpu),
      cmocka_unit_test(test_misaligned_weights),
      cmocka_unit_test(test_order_and_no_bias),
      cmocka_unit_test(test_batch_limits_and_bad_input),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_devices),
      cmocka_unit_test(test_two_instances),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
