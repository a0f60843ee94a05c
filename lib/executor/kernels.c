/* The CPU's pass over each layer's output: bias + activation in one sweep,
 * and the stable softmax. exp and Phi are written branch-free so the
 * compiler vectorizes the loops (glibc's erff/expf calls would not be).
 *
 * exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-7 Taylor
 * polynomial (error < 1e-9 relative before rounding), 2^n built in the
 * exponent bits; results below 2^-126 flush to 0 (negligible next to any
 * row's max). Phi(x) = 0.5 erfc(-x / sqrt 2), with erfc(z) = t exp(-z^2 +
 * P(t)), t = 1 / (1 + z/2), P a degree-10 least-squares fit of ours (max
 * relative error 8e-8 on [0, 14]); gelu(x) = x Phi(x), within 1.3e-6 of
 * |gelu(x)| evaluated in float (the worst in the negative tail, x near -3). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the fused loops are worth vectorizing at any build type */
#endif

#include <math.h>
#include <string.h>

#include "executor_internal.h"

static inline float bits_to_f32(int32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline float exp_core(float x) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = floorf(xc * log2e + 0.5f);
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
  y = x < -87.0f ? 0.0f : y;     /* underflow (and -inf) */
  y = x > 88.0f ? INFINITY : y;  /* overflow (and +inf) */
  return x != x ? x : y;         /* NaN */
}

float ms__executor_expf(float x) { return exp_core(x); }

static inline float phi_core(float x) {
  /* least-squares fit of log(erfc(z) / t) + z^2 in t = 1 / (1 + z/2), z in [0, 14] */
  static const float P[11] = {-1.2655369574826378f, 1.000792196775917f,   0.36418848801374115f,
                              0.16641768435882848f, -0.48364434870099804f, 1.090779913490848f,
                              -2.58210481278612f,   3.1625658450545377f,   -2.033452077298198f,
                              0.6686331730099985f,  -0.08863902719425251f};
  float z = fabsf(x) * 0.70710678118654752f;
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = P[10];
  for (int i = 9; i >= 0; i--) p = p * t + P[i];
  float erfc_z = t * exp_core(p - z * z);
  return x < 0.0f ? 0.5f * erfc_z : 1.0f - 0.5f * erfc_z;
}

static inline float gelu_core(float x) {
  float phi = phi_core(x);
  float y = x * phi;
  return phi == 0.0f ? 0.0f : y; /* the limit at -inf (x * 0 would be NaN) */
}

float ms__executor_gelu(float x) { return gelu_core(x); }

static void bias_act_row(float *restrict y, const float *restrict b, int64_t n, int act) {
  switch (act) {
    case MS__ACT_RELU:
      if (b)
        for (int64_t j = 0; j < n; j++) {
          float v = y[j] + b[j];
          y[j] = v < 0.0f ? 0.0f : v; /* NaN and -0 pass through, as in PyTorch */
        }
      else
        for (int64_t j = 0; j < n; j++) y[j] = y[j] < 0.0f ? 0.0f : y[j];
      break;
    case MS__ACT_GELU:
      for (int64_t j = 0; j < n; j++) y[j] = gelu_core(b ? y[j] + b[j] : y[j]);
      break;
    case MS__ACT_TANH:
      for (int64_t j = 0; j < n; j++) y[j] = tanhf(b ? y[j] + b[j] : y[j]);
      break;
    default:
      if (b)
        for (int64_t j = 0; j < n; j++) y[j] += b[j];
      break;
  }
}

void ms__executor_cpu_bias_act(float *y, int64_t rows, int64_t cols, const float *b, int act) {
  if (!b && act == MS__ACT_NONE) return;
  for (int64_t r = 0; r < rows; r++) bias_act_row(y + r * cols, b, cols, act);
}

void ms__executor_cpu_softmax(float *y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    float *row = y + r * cols;
    float m = row[0];
    int nan = 0;
    for (int64_t j = 0; j < cols; j++) {
      nan |= row[j] != row[j];
      m = row[j] > m ? row[j] : m;
    }
    float s = 0.0f;
    for (int64_t j = 0; j < cols; j++) {
      float e = exp_core(row[j] - m);
      row[j] = e;
      s += e;
    }
    float inv = nan ? NAN : 1.0f / s;
    for (int64_t j = 0; j < cols; j++) row[j] *= inv;
  }
}
