/* The CPU's pass over each layer's output: bias + activation in one sweep,
 * and the stable softmax. exp, Phi and tanh are written branch-free so the
 * compiler vectorizes the loops (glibc's erff/expf/tanhf calls would not
 * be); each loop is compiled three times — baseline x86-64, AVX2+FMA and
 * AVX-512 — and the best the CPU has is chosen once at run time.
 *
 * exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-7 Taylor
 * polynomial (error < 1e-9 relative before rounding), 2^n built in the
 * exponent bits; results below 2^-126 flush to 0 (negligible next to any
 * row's max). Phi(x) = 0.5 erfc(-x / sqrt 2), with erfc(z) = t exp(-z^2 +
 * P(t)), t = 1 / (1 + z/2), P a degree-10 least-squares fit of ours (max
 * relative error 8e-8 on [0, 14]); gelu(x) = x Phi(x), within 1.3e-6 of
 * |gelu(x)| evaluated in float (the worst in the negative tail, x near -3).
 * tanh: an odd Taylor polynomial below |x| = 1/4, 1 - 2 / (exp(2|x|) + 1)
 * above, within 1e-6 relative. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the fused loops are worth vectorizing at any build type */
#endif

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "executor/executor_internal.h"

#if defined(__GNUC__)
#define MS_INLINE static inline __attribute__((always_inline))
#else
#define MS_INLINE static inline
#endif

MS_INLINE float bits_to_f32(int32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

MS_INLINE float exp_core(float x) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  xc = xc != xc ? 0.0f : xc; /* NaN: keep the int conversion below defined; the result is x */
  float n = (xc * log2e + round_magic) - round_magic;
  float r = xc - n * ln2_hi;
  r = r - n * ln2_lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  float scale = bits_to_f32(((int32_t)n + 127) * (1 << 23));
  float y = p * scale;
  y = x < -87.0f ? 0.0f : y;    /* underflow (and -inf) */
  y = x > 88.0f ? INFINITY : y; /* overflow (and +inf) */
  return x != x ? x : y;        /* NaN */
}

MS_INLINE float phi_core(float x) {
  /* least-squares fit of log(erfc(z) / t) + z^2 in t = 1 / (1 + z/2), z in [0, 14] */
  float z = fabsf(x) * 0.70710678118654752f;
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = -0.08863902719425251f;
  p = p * t + 0.6686331730099985f;
  p = p * t - 2.033452077298198f;
  p = p * t + 3.1625658450545377f;
  p = p * t - 2.58210481278612f;
  p = p * t + 1.090779913490848f;
  p = p * t - 0.48364434870099804f;
  p = p * t + 0.16641768435882848f;
  p = p * t + 0.36418848801374115f;
  p = p * t + 1.000792196775917f;
  p = p * t - 1.2655369574826378f;
  float erfc_z = t * exp_core(p - z * z);
  return x < 0.0f ? 0.5f * erfc_z : 1.0f - 0.5f * erfc_z;
}

MS_INLINE float gelu_core(float x) {
  float phi = phi_core(x);
  float y = x * phi;
  return phi == 0.0f ? 0.0f : y; /* the limit at -inf (x * 0 would be NaN) */
}

MS_INLINE float tanh_core(float x) {
  float a = fabsf(x);
  float x2 = x * x;
  /* tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - ... */
  float p = 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  float small = x + x * x2 * p;
  float e = exp_core(2.0f * a);
  float big = 1.0f - 2.0f / (e + 1.0f); /* 1 for large |x| and +-inf */
  big = x < 0.0f ? -big : big;
  float y = a < 0.25f ? small : big;
  y = x == 0.0f ? x : y; /* keeps -0 */
  return x != x ? x : y;
}

float ms__executor_expf(float x) { return exp_core(x); }
float ms__executor_gelu(float x) { return gelu_core(x); }
float ms__executor_tanh(float x) { return tanh_core(x); }

/* ---- the loops, once per instruction set ---- */

#define MS_KERNELS(SFX, TARGET)                                                                  \
  TARGET static void bias_act_row_##SFX(float *restrict y, const float *restrict b, int64_t n,  \
                                        int act) {                                               \
    switch (act) {                                                                               \
      case MS__ACT_RELU:                                                                         \
        if (b)                                                                                   \
          for (int64_t j = 0; j < n; j++) {                                                      \
            float v = y[j] + b[j];                                                               \
            y[j] = v < 0.0f ? 0.0f : v; /* NaN and -0 pass through, as in PyTorch */           \
          }                                                                                      \
        else                                                                                     \
          for (int64_t j = 0; j < n; j++) y[j] = y[j] < 0.0f ? 0.0f : y[j];                      \
        break;                                                                                   \
      case MS__ACT_GELU:                                                                         \
        if (b)                                                                                   \
          for (int64_t j = 0; j < n; j++) y[j] = gelu_core(y[j] + b[j]);                         \
        else                                                                                     \
          for (int64_t j = 0; j < n; j++) y[j] = gelu_core(y[j]);                                \
        break;                                                                                   \
      case MS__ACT_TANH:                                                                         \
        if (b)                                                                                   \
          for (int64_t j = 0; j < n; j++) y[j] = tanh_core(y[j] + b[j]);                         \
        else                                                                                     \
          for (int64_t j = 0; j < n; j++) y[j] = tanh_core(y[j]);                                \
        break;                                                                                   \
      default:                                                                                   \
        if (b)                                                                                   \
          for (int64_t j = 0; j < n; j++) y[j] += b[j];                                          \
        break;                                                                                   \
    }                                                                                            \
  }                                                                                              \
  TARGET static void softmax_row_##SFX(float *restrict row, int64_t n) {                        \
    float m = row[0];                                                                            \
    int nan = 0;                                                                                 \
    for (int64_t j = 0; j < n; j++) {                                                            \
      nan |= row[j] != row[j];                                                                   \
      m = row[j] > m ? row[j] : m;                                                               \
    }                                                                                            \
    float s = 0.0f;                                                                              \
    for (int64_t j = 0; j < n; j++) {                                                            \
      float e = exp_core(row[j] - m);                                                            \
      row[j] = e;                                                                                \
      s += e;                                                                                    \
    }                                                                                            \
    float inv = nan ? NAN : 1.0f / s;                                                            \
    for (int64_t j = 0; j < n; j++) row[j] *= inv;                                               \
  }

MS_KERNELS(base, )
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MS_KERNELS_X86 1
MS_KERNELS(avx2, __attribute__((target("avx2,fma"))))
MS_KERNELS(avx512, __attribute__((target("avx512f,avx2,fma"))))
#endif

typedef void (*bias_act_fn)(float *restrict, const float *restrict, int64_t, int);
typedef void (*softmax_fn)(float *restrict, int64_t);

/* 0 = baseline, 1 = AVX2+FMA, 2 = AVX-512; -1 until first use. */
static atomic_int g_isa = -1;

static int isa(void) {
  int v = atomic_load_explicit(&g_isa, memory_order_relaxed);
  if (v >= 0) return v;
  v = 0;
#ifdef MS_KERNELS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) v = 2;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v = 1;
#endif
  atomic_store_explicit(&g_isa, v, memory_order_relaxed);
  return v;
}

int ms__executor_cpu_force_isa(int level) {
  int have = 0;
#ifdef MS_KERNELS_X86
  __builtin_cpu_init();
  have = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
#endif
  int v = level < 0 ? 0 : level > have ? have : level;
  atomic_store_explicit(&g_isa, v, memory_order_relaxed);
  return v;
}

int ms__executor_cpu_isa_level(void) { return isa(); }

const char *ms__executor_cpu_isa(void) {
  static const char *const names[] = {"baseline", "AVX2+FMA", "AVX-512"};
  return names[isa()];
}

void ms__executor_cpu_bias_act(float *y, int64_t rows, int64_t cols, const float *b, int act) {
  if (!b && act == MS__ACT_NONE) return;
  bias_act_fn f = bias_act_row_base;
#ifdef MS_KERNELS_X86
  int level = isa();
  f = level == 2 ? bias_act_row_avx512 : level == 1 ? bias_act_row_avx2 : f;
#endif
  for (int64_t r = 0; r < rows; r++) f(y + r * cols, b, cols, act);
}

void ms__executor_cpu_softmax(float *y, int64_t rows, int64_t cols) {
  softmax_fn f = softmax_row_base;
#ifdef MS_KERNELS_X86
  int level = isa();
  f = level == 2 ? softmax_row_avx512 : level == 1 ? softmax_row_avx2 : f;
#endif
  for (int64_t r = 0; r < rows; r++) f(y + r * cols, cols);
}
