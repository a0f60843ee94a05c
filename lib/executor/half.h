/* Internal: IEEE binary16 (F16) and bfloat16 (BF16) <-> binary32 (F32).
 * Widening is exact (NaN payloads kept); narrowing rounds to nearest, ties
 * to even, overflows to infinity and keeps NaN a NaN (quiet, sign kept).
 * Plain C on the bit patterns: no dependency, same results everywhere. */
#ifndef MS_EXECUTOR_HALF_H
#define MS_EXECUTOR_HALF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

float ms__executor_f16_to_f32(uint16_t h);
uint16_t ms__executor_f32_to_f16(float f);
float ms__executor_bf16_to_f32(uint16_t b);
uint16_t ms__executor_f32_to_bf16(float f);

/* Convert n little-endian stored elements (src may be unaligned) of dtype
 * MS__ST_F32 / MS__ST_F16 / MS__ST_BF16 to F32. */
void ms__executor_to_f32(int st_dtype, const void *src, size_t n, float *dst);

#ifdef __cplusplus
}
#endif

#endif
