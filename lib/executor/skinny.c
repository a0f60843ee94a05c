/* The skinny GEMM: y = x W^T for a few rows of x, the CPU backend's path
 * for small batches. The weights are [out, in] row-major, so every output
 * is a contiguous dot product of a weight row with an input row; a batch of
 * one is a GEMV that reads each weight once, and at a few rows the work is
 * still bound by reading the weights. A BLAS call costs more than that
 * there: OpenBLAS's sgemm packs both operands and its thread hand-over
 * alone takes microseconds, and the weights of a small model stay in the
 * L2 cache of the core whose output rows they are when the split never
 * changes (the caller splits by output rows).
 *
 * Blocking: 8 weight rows at a time (8 x in floats, in L1 while they are
 * used), against every input row in tiles of 1-4 rows, so the weights are
 * read from L2 once per run whatever the row count; the tile keeps R x NW
 * accumulators in registers (NW weight rows), enough independent FMA
 * chains to hide the FMA latency. Each accumulator is a vector of partial
 * sums, reduced at the end of the row. Compiled for AVX-512 and AVX2+FMA
 * with target attributes (intrinsics, chosen at run time with the fused
 * kernels' level) and in portable C. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* full unrolling of the tiles' constant loops at any build type */
#endif

#include <stdint.h>

#include "executor/executor_internal.h"

#if defined(__GNUC__)
#define MS_INLINE static inline __attribute__((always_inline))
#else
#define MS_INLINE static inline
#endif

#define BLOCK 8 /* weight rows per block */

/* The rows of a tile: j < valid is row j, beyond that the last valid row
 * again (read, never stored), so a short block runs the same code. */
#define TILE_ROWS(wr, w, in, valid, NW)                                \
  for (int j = 0; j < (NW); j++) (wr)[j] = (w) + (int64_t)(j < (valid) ? j : (valid) - 1) * (in)

/* ---- portable ---------------------------------------------------------------------------------- */

static void block_base(const float *restrict w, int64_t in, int valid, const float *restrict x, int64_t ldx,
                       int64_t rows, float *restrict y, int64_t ldy) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * ldx;
    for (int j = 0; j < valid; j++) {
      const float *wj = w + (int64_t)j * in;
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}; /* lanes the compiler can keep in one vector */
      int64_t k = 0;
      for (; k + 8 <= in; k += 8)
        for (int l = 0; l < 8; l++) s[l] += wj[k + l] * xr[k + l];
      float t = 0.0f;
      for (; k < in; k++) t += wj[k] * xr[k];
      y[r * ldy + j] = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + t;
    }
  }
}

static void skinny_base(const float *w, int64_t in, int64_t o0, int64_t o1, const float *x, int64_t ldx,
                        int64_t rows, float *y, int64_t ldy) {
  for (int64_t o = o0; o < o1; o += BLOCK) {
    int valid = o1 - o < BLOCK ? (int)(o1 - o) : BLOCK;
    block_base(w + o * in, in, valid, x, ldx, rows, y + o, ldy);
  }
}

/* ---- x86: AVX2+FMA and AVX-512 ----------------------------------------------------------------- */

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MS_SKINNY_X86 1
#include <immintrin.h>

#define T2 __attribute__((target("avx2,fma")))
#define T5 __attribute__((target("avx512f,avx2,fma")))

/* Four vectors of partial sums -> their four totals. */
MS_INLINE T2 __m128 hsum4_256(__m256 a, __m256 b, __m256 c, __m256 d) {
  __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  __m128 b4 = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  __m128 c4 = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  __m128 d4 = _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
  return _mm_hadd_ps(_mm_hadd_ps(a4, b4), _mm_hadd_ps(c4, d4));
}

MS_INLINE T5 __m256 half512(__m512 a) {
  return _mm256_add_ps(_mm512_castps512_ps256(a),
                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}

MS_INLINE T5 __m128 hsum4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
  return hsum4_256(half512(a), half512(b), half512(c), half512(d));
}

/* Store the first n (<= 4) lanes of v. */
MS_INLINE T2 void store_n(float *y, __m128 v, int n) {
  float t[4];
  _mm_storeu_ps(t, v);
  for (int j = 0; j < n; j++) y[j] = t[j];
}

/* One tile: R input rows x NW weight rows (valid of them stored). */
MS_INLINE T2 void tile_avx2(const float *w, int64_t in, int valid, const float *x, int64_t ldx, float *y,
                            int64_t ldy, const int R, const int NW) {
  const float *wr[8];
  TILE_ROWS(wr, w, in, valid, NW);
  __m256 acc[4][8];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < NW; j++) acc[r][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= in; k += 8) {
    __m256 wv[8];
    for (int j = 0; j < NW; j++) wv[j] = _mm256_loadu_ps(wr[j] + k);
    for (int r = 0; r < R; r++) {
      __m256 xv = _mm256_loadu_ps(x + r * ldx + k);
      for (int j = 0; j < NW; j++) acc[r][j] = _mm256_fmadd_ps(wv[j], xv, acc[r][j]);
    }
  }
  if (k < in) {
    const int left = (int)(in - k);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 wv[8];
    for (int j = 0; j < NW; j++) wv[j] = _mm256_maskload_ps(wr[j] + k, m);
    for (int r = 0; r < R; r++) {
      __m256 xv = _mm256_maskload_ps(x + r * ldx + k, m);
      for (int j = 0; j < NW; j++) acc[r][j] = _mm256_fmadd_ps(wv[j], xv, acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < NW && j < valid; j += 4) {
      __m128 s;
      if (NW == 2) s = hsum4_256(acc[r][0], acc[r][1], acc[r][0], acc[r][1]); /* lanes 2, 3 unused */
      else s = hsum4_256(acc[r][j], acc[r][j + 1], acc[r][j + 2], acc[r][j + 3]);
      store_n(y + r * ldy + j, s, valid - j < 4 ? valid - j : 4);
    }
}

MS_INLINE T5 void tile_avx512(const float *w, int64_t in, int valid, const float *x, int64_t ldx, float *y,
                              int64_t ldy, const int R, const int NW) {
  const float *wr[8];
  TILE_ROWS(wr, w, in, valid, NW);
  __m512 acc[4][8];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < NW; j++) acc[r][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= in; k += 16) {
    __m512 wv[8];
    for (int j = 0; j < NW; j++) wv[j] = _mm512_loadu_ps(wr[j] + k);
    for (int r = 0; r < R; r++) {
      __m512 xv = _mm512_loadu_ps(x + r * ldx + k);
      for (int j = 0; j < NW; j++) acc[r][j] = _mm512_fmadd_ps(wv[j], xv, acc[r][j]);
    }
  }
  if (k < in) {
    const __mmask16 m = (__mmask16)((1u << (in - k)) - 1u);
    __m512 wv[8];
    for (int j = 0; j < NW; j++) wv[j] = _mm512_maskz_loadu_ps(m, wr[j] + k);
    for (int r = 0; r < R; r++) {
      __m512 xv = _mm512_maskz_loadu_ps(m, x + r * ldx + k);
      for (int j = 0; j < NW; j++) acc[r][j] = _mm512_fmadd_ps(wv[j], xv, acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < NW && j < valid; j += 4) {
      __m128 s = hsum4_512(acc[r][j], acc[r][j + 1], acc[r][j + 2], acc[r][j + 3]);
      store_n(y + r * ldy + j, s, valid - j < 4 ? valid - j : 4);
    }
}

/* The tiles of one block of up to 8 weight rows against every input row.
 * Tile shapes (rows x weight rows) keep the accumulators, the weight
 * vectors and an input vector in the 16 (AVX2) or 32 (AVX-512) registers. */
static T2 void block_avx2(const float *w, int64_t in, int valid, const float *x, int64_t ldx, int64_t rows, float *y,
                          int64_t ldy) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    for (int j = 0; j < valid; j += 2)
      tile_avx2(w + (int64_t)j * in, in, valid - j < 2 ? valid - j : 2, x + r * ldx, ldx, y + r * ldy + j, ldy, 4, 2);
  switch (rows - r) {
    case 3:
      for (int j = 0; j < valid; j += 2)
        tile_avx2(w + (int64_t)j * in, in, valid - j < 2 ? valid - j : 2, x + r * ldx, ldx, y + r * ldy + j, ldy, 3,
                  2);
      break;
    case 2:
      for (int j = 0; j < valid; j += 4)
        tile_avx2(w + (int64_t)j * in, in, valid - j < 4 ? valid - j : 4, x + r * ldx, ldx, y + r * ldy + j, ldy, 2,
                  4);
      break;
    case 1:
      tile_avx2(w, in, valid, x + r * ldx, ldx, y + r * ldy, ldy, 1, 8);
      break;
    default:
      break;
  }
}

static T5 void block_avx512(const float *w, int64_t in, int valid, const float *x, int64_t ldx, int64_t rows,
                            float *y, int64_t ldy) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    for (int j = 0; j < valid; j += 4)
      tile_avx512(w + (int64_t)j * in, in, valid - j < 4 ? valid - j : 4, x + r * ldx, ldx, y + r * ldy + j, ldy, 4,
                  4);
  switch (rows - r) {
    case 3:
      for (int j = 0; j < valid; j += 4)
        tile_avx512(w + (int64_t)j * in, in, valid - j < 4 ? valid - j : 4, x + r * ldx, ldx, y + r * ldy + j, ldy,
                    3, 4);
      break;
    case 2:
      tile_avx512(w, in, valid, x + r * ldx, ldx, y + r * ldy, ldy, 2, 8);
      break;
    case 1:
      tile_avx512(w, in, valid, x + r * ldx, ldx, y + r * ldy, ldy, 1, 8);
      break;
    default:
      break;
  }
}

static T2 void skinny_avx2(const float *w, int64_t in, int64_t o0, int64_t o1, const float *x, int64_t ldx,
                           int64_t rows, float *y, int64_t ldy) {
  for (int64_t o = o0; o < o1; o += BLOCK)
    block_avx2(w + o * in, in, o1 - o < BLOCK ? (int)(o1 - o) : BLOCK, x, ldx, rows, y + o, ldy);
}

static T5 void skinny_avx512(const float *w, int64_t in, int64_t o0, int64_t o1, const float *x, int64_t ldx,
                             int64_t rows, float *y, int64_t ldy) {
  for (int64_t o = o0; o < o1; o += BLOCK)
    block_avx512(w + o * in, in, o1 - o < BLOCK ? (int)(o1 - o) : BLOCK, x, ldx, rows, y + o, ldy);
}
#endif

void ms__executor_skinny_gemm(const float *w, int64_t in, int64_t o0, int64_t o1, const float *x, int64_t ldx,
                              int64_t rows, float *y, int64_t ldy) {
  if (o0 >= o1 || rows < 1) return;
#ifdef MS_SKINNY_X86
  int level = ms__executor_cpu_isa_level();
  if (level == 2) {
    skinny_avx512(w, in, o0, o1, x, ldx, rows, y, ldy);
    return;
  }
  if (level == 1) {
    skinny_avx2(w, in, o0, o1, x, ldx, rows, y, ldy);
    return;
  }
#endif
  skinny_base(w, in, o0, o1, x, ldx, rows, y, ldy);
}
