/* SHA-256 (FIPS 180-4). Written here so content hashes need no crypto
 * dependency; checked against the FIPS test vectors, and the accelerated
 * block function against the portable one, in tests/unit/test_archive.c.
 *
 * Two block functions compute the same thing: a portable one, and on x86-64
 * one built on the SHA extensions (SHA256RNDS2 does two rounds,
 * SHA256MSG1/MSG2 the message schedule), compiled with a target attribute so
 * the rest of the library needs no special flags, and picked at run time
 * from CPUID. */
#include "common/sha256.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MS__SHA_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

/* ---- portable ------------------------------------------------------------ */

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static void blocks_portable(uint32_t hs[8], const unsigned char *p, size_t n) {
  for (; n; n--, p += 64) {
    uint32_t w[64];
    for (unsigned i = 0; i < 16; i++)
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
             (uint32_t)p[4 * i + 3];
    for (unsigned i = 16; i < 64; i++) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = hs[0], b = hs[1], c = hs[2], d = hs[3];
    uint32_t e = hs[4], f = hs[5], g = hs[6], h = hs[7];
    for (unsigned i = 0; i < 64; i++) {
      uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    hs[0] += a;
    hs[1] += b;
    hs[2] += c;
    hs[3] += d;
    hs[4] += e;
    hs[5] += f;
    hs[6] += g;
    hs[7] += h;
  }
}

const ms__sha256_blocks_fn ms__sha256_blocks_portable = blocks_portable;

/* ---- x86-64 SHA extensions ----------------------------------------------- */

#ifdef MS__SHA_X86
/*
 * The instructions keep the eight state words in two registers laid out as
 * (A,B,E,F) and (C,D,G,H), highest lane first. SHA256RNDS2 runs two rounds
 * from the (C,D,G,H) and (A,B,E,F) halves and the low two lanes of W+K,
 * returning the new (A,B,E,F); after two rounds the new (C,D,G,H) is the old
 * (A,B,E,F), so alternating the two registers needs no moves. The message
 * schedule W[t..t+3] = MSG2(MSG1(W[t-16..], W[t-12..]) + W[t-7..t-4],
 * W[t-4..t-1]) is computed four words at a time, in a ring of four
 * registers, as the rounds consume them.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t hs[8], const unsigned char *p,
                                                                   size_t n) {
  /* Big-endian words: reverse the bytes of each 32-bit lane. */
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i dcba = _mm_loadu_si128((const __m128i *)(const void *)&hs[0]); /* lanes a b c d */
  __m128i hgfe = _mm_loadu_si128((const __m128i *)(const void *)&hs[4]); /* lanes e f g h */
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);                         /* b a d c */
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);                         /* h g f e */
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);                        /* f e b a */
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);                     /* h g d c */
  for (; n; n--, p += 64) {
    const __m128i abef0 = abef, cdgh0 = cdgh;
    __m128i m[4];
    for (int i = 0; i < 4; i++)
      m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)), bswap);
    for (int g = 0; g < 16; g++) {
      __m128i wk = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)(const void *)&K[4 * g]));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
      if (g < 12) {
        __m128i w7 = _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4);
        __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]), w7);
        m[g & 3] = _mm_sha256msg2_epu32(t, m[(g + 3) & 3]);
      }
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);           /* a b e f */
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);           /* g h c d */
  dcba = _mm_blend_epi16(feba, dchg, 0xF0);               /* a b c d */
  hgfe = _mm_alignr_epi8(dchg, feba, 8);                  /* e f g h */
  _mm_storeu_si128((__m128i *)(void *)&hs[0], dcba);
  _mm_storeu_si128((__m128i *)(void *)&hs[4], hgfe);
}

static int cpu_has_sha(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return ssse3 && sse41 && ((b >> 29) & 1);
}
#endif

ms__sha256_blocks_fn ms__sha256_blocks_accel(void) {
#ifdef MS__SHA_X86
  /* 0 unknown, 1 portable, 2 SHA extensions. Racing first callers compute
   * the same answer, so a relaxed atomic is enough. */
  static atomic_int choice;
  int c = atomic_load_explicit(&choice, memory_order_relaxed);
  if (c == 0) {
    c = cpu_has_sha() ? 2 : 1;
    atomic_store_explicit(&choice, c, memory_order_relaxed);
  }
  return c == 2 ? blocks_shani : NULL;
#else
  return NULL;
#endif
}

static ms__sha256_blocks_fn blocks_fn(void) {
  ms__sha256_blocks_fn f = ms__sha256_blocks_accel();
  return f ? f : blocks_portable;
}

const char *ms__sha256_impl(void) { return ms__sha256_blocks_accel() ? "sha-ni" : "portable"; }

/* ---- the streaming interface --------------------------------------------- */

void ms__sha256_init(ms__sha256 *c) {
  static const uint32_t H0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
  memcpy(c->h, H0, sizeof H0);
  c->total = 0;
  c->used = 0;
}

void ms__sha256_update(ms__sha256 *c, const void *data, size_t len) {
  const unsigned char *p = data;
  if (!len) return;
  ms__sha256_blocks_fn blocks = blocks_fn();
  c->total += len;
  if (c->used) {
    size_t take = 64 - c->used < len ? 64 - c->used : len;
    memcpy(c->buf + c->used, p, take);
    c->used += take;
    p += take;
    len -= take;
    if (c->used < 64) return;
    blocks(c->h, c->buf, 1);
    c->used = 0;
  }
  /* Whole blocks straight from the caller's buffer, in one call. */
  if (len >= 64) {
    blocks(c->h, p, len / 64);
    p += len & ~(size_t)63;
    len &= 63;
  }
  if (len) {
    memcpy(c->buf, p, len);
    c->used = len;
  }
}

void ms__sha256_final(ms__sha256 *c, unsigned char out[32]) {
  ms__sha256_blocks_fn blocks = blocks_fn();
  uint64_t bits = c->total * 8u;
  c->buf[c->used++] = 0x80;
  if (c->used > 56) {
    memset(c->buf + c->used, 0, 64 - c->used);
    blocks(c->h, c->buf, 1);
    c->used = 0;
  }
  memset(c->buf + c->used, 0, 56 - c->used);
  for (unsigned i = 0; i < 8; i++) c->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
  blocks(c->h, c->buf, 1);
  for (unsigned i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(c->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)c->h[i];
  }
}

void ms__sha256_final_hex(ms__sha256 *c, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char d[32];
  ms__sha256_final(c, d);
  for (unsigned i = 0; i < 32; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[64] = '\0';
}
