/* Unit tests: F16 and BF16 conversions. Every 16-bit pattern round-trips
 * through F32; narrowing rounds to nearest even at every halfway point,
 * overflows to infinity and keeps NaN a NaN; where the compiler has
 * _Float16, a few million F32 values agree with its conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "executor/half.h"
#include "executor/safetensors.h"

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static int f16_is_nan(uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu); }
static int bf16_is_nan(uint16_t h) { return (h & 0x7F80u) == 0x7F80u && (h & 0x7Fu); }

/* The value of an F16 pattern, computed independently in double. */
static double f16_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

static void test_f16_widen_exact(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ms__executor_f16_to_f32((uint16_t)h);
    double want = f16_value((uint16_t)h);
    if (f16_is_nan((uint16_t)h)) {
      assert_true(isnan(f));
      assert_int_equal(signbit(f) != 0, (h >> 15) != 0);
    } else {
      assert_true((double)f == want);
      assert_int_equal(signbit(f) != 0, (h >> 15) != 0); /* -0 stays -0 */
    }
  }
}

static void test_f16_round_trip(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    uint16_t back = ms__executor_f32_to_f16(ms__executor_f16_to_f32((uint16_t)h));
    if (f16_is_nan((uint16_t)h)) {
      assert_true(f16_is_nan(back));
      assert_int_equal(back & 0x8000u, h & 0x8000u);
    } else {
      assert_int_equal(back, h);
    }
  }
}

static void test_f16_halfway_ties_to_even(void **state) {
  (void)state;
  /* Between every pair of adjacent finite F16 values of one sign, the F32
   * midpoint rounds to the even one, and the F32 values just beside it to the
   * nearer. Midpoints are exact in F32 (11 + 1 significant bits). */
  for (uint32_t h = 0; h < 0x7BFF; h++) {
    double a = f16_value((uint16_t)h), b = f16_value((uint16_t)(h + 1));
    float mid = (float)((a + b) / 2);
    assert_true((double)mid == (a + b) / 2);
    uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
    assert_int_equal(ms__executor_f32_to_f16(mid), even);
    assert_int_equal(ms__executor_f32_to_f16(-mid), even | 0x8000u);
    assert_int_equal(ms__executor_f32_to_f16(nextafterf(mid, 0.0f)), h);
    assert_int_equal(ms__executor_f32_to_f16(nextafterf(mid, INFINITY)), h + 1);
  }
}

static void test_f16_edges(void **state) {
  (void)state;
  assert_int_equal(ms__executor_f32_to_f16(65504.0f), 0x7BFF);
  assert_int_equal(ms__executor_f32_to_f16(65519.99f), 0x7BFF);
  assert_int_equal(ms__executor_f32_to_f16(65520.0f), 0x7C00); /* halfway to 2^16 rounds up: inf */
  assert_int_equal(ms__executor_f32_to_f16(1e30f), 0x7C00);
  assert_int_equal(ms__executor_f32_to_f16(-1e30f), 0xFC00);
  assert_int_equal(ms__executor_f32_to_f16(INFINITY), 0x7C00);
  assert_int_equal(ms__executor_f32_to_f16(-INFINITY), 0xFC00);
  assert_true(f16_is_nan(ms__executor_f32_to_f16(NAN)));
  assert_true(f16_is_nan(ms__executor_f32_to_f16(from_bits(0x7F800001u)))); /* a payload only in low bits */
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1, -24)), 0x0001);     /* smallest subnormal */
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1, -25)), 0x0000);     /* halfway: ties to even 0 */
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1.5f, -25)), 0x0001);
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1, -26)), 0x0000);
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1, -14)), 0x0400);     /* smallest normal */
  assert_int_equal(ms__executor_f32_to_f16(ldexpf(1023, -24) + ldexpf(1, -25) * 1.0f), 0x0400); /* carry */
  assert_int_equal(ms__executor_f32_to_f16(-0.0f), 0x8000);
  assert_int_equal(ms__executor_f32_to_f16(1e-45f), 0x0000);
}

#ifdef __FLT16_MANT_DIG__
__extension__ typedef _Float16 compiler_f16;

static void test_f16_matches_compiler(void **state) {
  (void)state;
  uint32_t x = 12345;
  for (int i = 0; i < (1 << 22); i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    float f = from_bits(x);
    if (isnan(f)) continue;
    compiler_f16 h = (compiler_f16)f;
    uint16_t want;
    memcpy(&want, &h, 2);
    uint16_t got = ms__executor_f32_to_f16(f);
    if (got != want) print_error("f32 %08x: got %04x, compiler %04x\n", x, got, want);
    assert_int_equal(got, want);
  }
}
#endif

static void test_bf16_all_patterns(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ms__executor_bf16_to_f32((uint16_t)h);
    assert_int_equal(bits(f), h << 16); /* widening is the bit pattern shifted */
    uint16_t back = ms__executor_f32_to_bf16(f);
    if (bf16_is_nan((uint16_t)h)) {
      assert_true(bf16_is_nan(back));
      assert_int_equal(back & 0x8000u, h & 0x8000u);
    } else {
      assert_int_equal(back, h);
    }
  }
}

static void test_bf16_rounding(void **state) {
  (void)state;
  /* every halfway point between adjacent finite BF16 values */
  for (uint32_t h = 0; h < 0x7F7F; h++) {
    uint32_t mid = (h << 16) | 0x8000u;
    uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
    assert_int_equal(ms__executor_f32_to_bf16(from_bits(mid)), even);
    assert_int_equal(ms__executor_f32_to_bf16(from_bits(mid - 1)), h);
    assert_int_equal(ms__executor_f32_to_bf16(from_bits(mid + 1)), h + 1);
  }
  assert_int_equal(ms__executor_f32_to_bf16(from_bits(0x7F7FFFFFu)), 0x7F80); /* FLT_MAX rounds to inf */
  assert_int_equal(ms__executor_f32_to_bf16(INFINITY), 0x7F80);
  assert_int_equal(ms__executor_f32_to_bf16(-0.0f), 0x8000);
  assert_true(bf16_is_nan(ms__executor_f32_to_bf16(from_bits(0x7F800001u)))); /* not rounded into inf */
  assert_true(bf16_is_nan(ms__executor_f32_to_bf16(from_bits(0xFFFFFFFFu))));
}

/* Stored little-endian bytes, possibly unaligned, to F32. */
static void test_to_f32_unaligned(void **state) {
  (void)state;
  unsigned char buf[1 + 3 * 4];
  float v[3] = {1.0f, -2.5f, 3e-38f};
  memcpy(buf + 1, v, sizeof v);
  float out[3];
  ms__executor_to_f32(MS__ST_F32, buf + 1, 3, out);
  assert_memory_equal(out, v, sizeof v);
  unsigned char h[1 + 4] = {0, 0x00, 0x3C, 0x00, 0xC0}; /* F16 1.0, -2.0 */
  ms__executor_to_f32(MS__ST_F16, h + 1, 2, out);
  assert_true(out[0] == 1.0f && out[1] == -2.0f);
  unsigned char b[1 + 4] = {0, 0x80, 0x3F, 0x20, 0x41}; /* BF16 1.0, 10.0 */
  ms__executor_to_f32(MS__ST_BF16, b + 1, 2, out);
  assert_true(out[0] == 1.0f && out[1] == 10.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f16_widen_exact),
      cmocka_unit_test(test_f16_round_trip),
      cmocka_unit_test(test_f16_halfway_ties_to_even),
      cmocka_unit_test(test_f16_edges),
#ifdef __FLT16_MANT_DIG__
      cmocka_unit_test(test_f16_matches_compiler),
#endif
      cmocka_unit_test(test_bf16_all_patterns),
      cmocka_unit_test(test_bf16_rounding),
      cmocka_unit_test(test_to_f32_unaligned),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
