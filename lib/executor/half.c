/* F16 / BF16 conversions on bit patterns (see half.h). */
#include "executor/half.h"

#include <string.h>

#include "executor/safetensors.h"

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float ms__executor_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return bits_f32(sign | 0x7F800000u | (man << 13)); /* inf, NaN (payload kept) */
  if (exp == 0) {
    if (man == 0) return bits_f32(sign); /* +-0 */
    /* subnormal: man * 2^-24, exact in F32 */
    int e = -1;
    do {
      man <<= 1;
      e++;
    } while (!(man & 0x400u));
    man &= 0x3FFu;
    return bits_f32(sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13));
  }
  return bits_f32(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

uint16_t ms__executor_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t exp = (u >> 23) & 0xFFu;
  uint32_t man = u & 0x7FFFFFu;
  if (exp == 0xFF) {
    if (man == 0) return (uint16_t)(sign | 0x7C00u);                       /* inf */
    return (uint16_t)(sign | 0x7C00u | 0x200u | ((man >> 13) & 0x3FFu)); /* quiet NaN */
  }
  int e = (int)exp - 127 + 15; /* biased F16 exponent */
  if (e >= 0x1F) return (uint16_t)(sign | 0x7C00u); /* too large even before rounding */
  if (e <= 0) {
    /* subnormal or zero in F16: value = (1.man) * 2^(exp-127); F16 unit 2^-24 */
    if (e < -10) return sign; /* below half the smallest subnormal: rounds to 0 */
    uint32_t m = man | 0x800000u;           /* 24-bit significand */
    unsigned shift = (unsigned)(14 - e);    /* 2^(exp-127) * m / 2^23 in units of 2^-24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q); /* q may carry into the smallest normal: still right */
  }
  uint32_t q = ((uint32_t)e << 10) | (man >> 13);
  uint32_t rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++; /* may carry into the exponent, up to inf */
  return (uint16_t)(sign | q);
}

float ms__executor_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

uint16_t ms__executor_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x7FFFFFu)) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  uint32_t lsb = (u >> 16) & 1u;
  u += 0x7FFFu + lsb; /* round to nearest even; overflow goes to inf */
  return (uint16_t)(u >> 16);
}

static uint16_t load16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t load32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void ms__executor_to_f32(int st_dtype, const void *src, size_t n, float *dst) {
  const unsigned char *p = src;
  switch (st_dtype) {
    case MS__ST_F16:
      for (size_t i = 0; i < n; i++) dst[i] = ms__executor_f16_to_f32(load16(p + 2 * i));
      break;
    case MS__ST_BF16:
      for (size_t i = 0; i < n; i++) dst[i] = ms__executor_bf16_to_f32(load16(p + 2 * i));
      break;
    default: /* MS__ST_F32 */
      for (size_t i = 0; i < n; i++) dst[i] = bits_f32(load32(p + 4 * i));
      break;
  }
}
