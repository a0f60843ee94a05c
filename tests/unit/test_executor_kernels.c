/* Unit tests: the CPU's fused bias + activation pass and softmax at edge
 * values (infinities, NaN, signed zeros, huge logits), and the accuracy of
 * its exp, gelu and tanh against double precision over a sweep. The kernels
 * exist per instruction set (baseline, AVX2+FMA, AVX-512): the edge tests run
 * on each one this CPU has, through the vector loop and its scalar tail, and
 * the variants must agree with one another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "executor/executor_internal.h"

static int g_level; /* the instruction set of the current pass */

/* act(x) through a row of 37 copies (vector body and scalar tail); all must agree. */
static float act1(int act, float x) {
  float y[37];
  for (int i = 0; i < 37; i++) y[i] = x;
  ms__executor_cpu_bias_act(y, 1, 37, NULL, act);
  for (int i = 1; i < 37; i++) {
    if (memcmp(&y[i], &y[0], sizeof(float)) != 0 && !(isnan(y[i]) && isnan(y[0])))
      print_error("level %d act %d x=%g: lane %d gives %g, lane 0 %g\n", g_level, act, x, i, y[i], y[0]);
    assert_true(memcmp(&y[i], &y[0], sizeof(float)) == 0 || (isnan(y[i]) && isnan(y[0])));
  }
  return y[0];
}

/* Run `body` once per instruction set the CPU has. */
static void each_level(void (*body)(void)) {
  for (int lv = 0; lv <= 2; lv++) {
    if (ms__executor_cpu_force_isa(lv) != lv) continue;
    g_level = lv;
    body();
  }
  ms__executor_cpu_force_isa(2);
}

static void relu_edges_body(void) {
  assert_true(act1(MS__ACT_RELU, -1.0f) == 0.0f);
  assert_true(act1(MS__ACT_RELU, 2.5f) == 2.5f);
  assert_true(act1(MS__ACT_RELU, -INFINITY) == 0.0f);
  assert_true(act1(MS__ACT_RELU, INFINITY) == INFINITY);
  assert_true(isnan(act1(MS__ACT_RELU, NAN))); /* NaN propagates, as in PyTorch */
  float z = act1(MS__ACT_RELU, -0.0f);
  assert_true(z == 0.0f && signbit(z)); /* relu(-0) = -0, as in PyTorch */
  assert_true(act1(MS__ACT_RELU, FLT_MIN / 4) == FLT_MIN / 4);
  assert_true(act1(MS__ACT_RELU, -FLT_MIN / 4) == 0.0f);
}

static void test_relu_edges(void **state) {
  (void)state;
  each_level(relu_edges_body);
}

static void gelu_edges_body(void) {
  assert_true(act1(MS__ACT_GELU, 0.0f) == 0.0f);
  assert_true(act1(MS__ACT_GELU, INFINITY) == INFINITY);
  assert_true(act1(MS__ACT_GELU, -INFINITY) == 0.0f); /* the limit (PyTorch: NaN) */
  assert_true(isnan(act1(MS__ACT_GELU, NAN)));
  assert_true(act1(MS__ACT_GELU, -1e30f) == 0.0f);
  assert_true(act1(MS__ACT_GELU, -20.0f) == 0.0f || fabsf(act1(MS__ACT_GELU, -20.0f)) < 1e-37f);
  assert_true(act1(MS__ACT_GELU, 1e30f) == 1e30f);
  assert_true(act1(MS__ACT_GELU, 20.0f) == 20.0f);
  /* near 0: gelu(x) = x/2 + x^2/sqrt(2 pi) + ... */
  float tiny = 1e-30f;
  assert_true(fabsf(act1(MS__ACT_GELU, tiny) - tiny / 2) <= tiny * 1e-6f);
  assert_true(fabsf(act1(MS__ACT_GELU, -tiny) + tiny / 2) <= tiny * 1e-6f);
}

static void test_gelu_edges(void **state) {
  (void)state;
  each_level(gelu_edges_body);
}

static void tanh_edges_body(void) {
  assert_true(act1(MS__ACT_TANH, INFINITY) == 1.0f);
  assert_true(act1(MS__ACT_TANH, -INFINITY) == -1.0f);
  assert_true(act1(MS__ACT_TANH, 50.0f) == 1.0f);
  assert_true(isnan(act1(MS__ACT_TANH, NAN)));
  float z = act1(MS__ACT_TANH, -0.0f);
  assert_true(z == 0.0f && signbit(z));
}

static void test_tanh_edges(void **state) {
  (void)state;
  each_level(tanh_edges_body);
}

static void bias_then_activation_body(void) {
  /* 2 rows x 3 cols; bias added before the activation, in one pass */
  float y[6] = {1, -2, 3, -4, 5, -6};
  const float b[3] = {0.5f, 1.5f, -3.5f};
  ms__executor_cpu_bias_act(y, 2, 3, b, MS__ACT_RELU);
  const float want[6] = {1.5f, 0.0f, 0.0f, 0.0f, 6.5f, 0.0f};
  assert_memory_equal(y, want, sizeof want);
  float y2[3] = {1, 2, 3};
  ms__executor_cpu_bias_act(y2, 1, 3, b, MS__ACT_NONE);
  assert_true(y2[0] == 1.5f && y2[1] == 3.5f && y2[2] == -0.5f);
  float y3[3] = {1, 2, 3};
  ms__executor_cpu_bias_act(y3, 1, 3, NULL, MS__ACT_NONE); /* nothing to do */
  assert_true(y3[0] == 1 && y3[1] == 2 && y3[2] == 3);
}

static void test_bias_then_activation(void **state) {
  (void)state;
  each_level(bias_then_activation_body);
}

static void softmax_large_logits_body(void) {
  float y[4 * 3] = {1000.0f, 999.0f, -1000.0f,  /* exp(1000) overflows without the shift */
                    1e30f, 1e30f, 0.0f,          /* ties at huge values */
                    -INFINITY, 0.0f, 0.0f,       /* -inf is probability 0 */
                    -1e30f, -1e30f, -1e30f};     /* all equal and hugely negative */
  ms__executor_cpu_softmax(y, 4, 3);
  double e = exp(-1.0);
  assert_true(fabs(y[0] - 1.0 / (1.0 + e)) < 1e-6);
  assert_true(fabs(y[1] - e / (1.0 + e)) < 1e-6);
  assert_true(y[2] == 0.0f);
  assert_true(fabsf(y[3] - 0.5f) < 1e-7f && fabsf(y[4] - 0.5f) < 1e-7f && y[5] == 0.0f);
  assert_true(y[6] == 0.0f && fabsf(y[7] - 0.5f) < 1e-7f && fabsf(y[8] - 0.5f) < 1e-7f);
  for (int j = 9; j < 12; j++) assert_true(fabsf(y[j] - 1.0f / 3) < 1e-7f);
  for (int j = 0; j < 12; j++) assert_true(!isnan(y[j]));
}

static void test_softmax_large_logits(void **state) {
  (void)state;
  each_level(softmax_large_logits_body);
}

static void softmax_nan_and_inf_body(void) {
  float y[2 * 3] = {INFINITY, 0.0f, 0.0f, NAN, 1.0f, 2.0f};
  ms__executor_cpu_softmax(y, 2, 3);
  for (int j = 0; j < 6; j++) assert_true(isnan(y[j])); /* as PyTorch */
  float one = 42.0f;
  ms__executor_cpu_softmax(&one, 1, 1);
  assert_true(one == 1.0f);
}

static void test_softmax_nan_and_inf(void **state) {
  (void)state;
  each_level(softmax_nan_and_inf_body);
}

static void test_exp_accuracy(void **state) {
  (void)state;
  double worst = 0;
  for (int i = -870000; i <= 880000; i++) {
    float x = (float)i / 10000.0f;
    double want = exp((double)x);
    double got = ms__executor_expf(x);
    if (want < FLT_MIN) { /* results below 2^-126 flush to 0 */
      assert_true(got <= want * 1.000001);
      continue;
    }
    double rel = fabs(got - want) / want;
    if (rel > worst) worst = rel;
  }
  assert_true(worst < 4e-7); /* about 3 ulp */
  assert_true(ms__executor_expf(0.0f) == 1.0f);
  assert_true(ms__executor_expf(-INFINITY) == 0.0f);
  assert_true(ms__executor_expf(INFINITY) == INFINITY);
  assert_true(ms__executor_expf(100.0f) == INFINITY);
  assert_true(ms__executor_expf(-200.0f) == 0.0f);
  assert_true(isnan(ms__executor_expf(NAN)));
}

static void test_gelu_accuracy(void **state) {
  (void)state;
  /* relative to max(|gelu(x)|, 1e-3 |x|): the tolerance a row max gives */
  double worst = 0;
  for (int i = -200000; i <= 200000; i++) {
    float x = (float)i / 10000.0f;
    double want = 0.5 * (double)x * erfc(-(double)x / sqrt(2.0));
    double got = ms__executor_gelu(x);
    double scale = fmax(fabs(want), 1e-3 * fabs((double)x));
    if (scale == 0) {
      assert_true(got == 0.0);
      continue;
    }
    double rel = fabs(got - want) / scale;
    if (rel > worst) worst = rel;
  }
  print_message("gelu: worst relative error %.3g\n", worst);
  assert_true(worst < 2e-6); /* about 1.3e-6 in the far negative tail, where Phi is tiny */
}

static void test_tanh_accuracy(void **state) {
  (void)state;
  double worst = 0;
  for (int i = -200000; i <= 200000; i++) {
    float x = (float)i / 10000.0f;
    double want = tanh((double)x), got = ms__executor_tanh(x);
    double rel = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
    if (rel > worst) worst = rel;
  }
  print_message("tanh: worst relative error %.3g\n", worst);
  assert_true(worst < 1e-6);
  for (float x = 1e-30f; x < 1e-3f; x *= 3.7f) assert_true(fabs(ms__executor_tanh(x) - tanh((double)x)) <= 2e-7 * x);
}

/* The vector variants against the baseline on one array of varied values. */
static void test_levels_agree(void **state) {
  (void)state;
  enum { N = 4099 };
  static float base[3][N], cur[N], bias[N];
  for (int i = 0; i < N; i++) bias[i] = (float)(i % 13) * 0.1f - 0.6f;
  const int acts[3] = {MS__ACT_RELU, MS__ACT_GELU, MS__ACT_TANH};
  for (int lv = 0; lv <= 2; lv++) {
    if (ms__executor_cpu_force_isa(lv) != lv) continue;
    for (int a = 0; a < 3; a++) {
      for (int i = 0; i < N; i++) cur[i] = (float)(i - N / 2) * 0.007f;
      ms__executor_cpu_bias_act(cur, 1, N, bias, acts[a]);
      if (lv == 0) {
        memcpy(base[a], cur, sizeof cur);
        continue;
      }
      for (int i = 0; i < N; i++) assert_true(fabsf(cur[i] - base[a][i]) <= 1e-6f * fmaxf(1.0f, fabsf(base[a][i])));
    }
    print_message("kernels: level %d (%s) agrees with the baseline\n", lv, ms__executor_cpu_isa());
  }
  ms__executor_cpu_force_isa(2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relu_edges),           cmocka_unit_test(test_gelu_edges),
      cmocka_unit_test(test_tanh_edges),           cmocka_unit_test(test_bias_then_activation),
      cmocka_unit_test(test_softmax_large_logits), cmocka_unit_test(test_softmax_nan_and_inf),
      cmocka_unit_test(test_exp_accuracy),         cmocka_unit_test(test_gelu_accuracy),
      cmocka_unit_test(test_tanh_accuracy),        cmocka_unit_test(test_levels_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
