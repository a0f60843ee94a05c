/* Internal (autoscaler, layer 0): byte-level primitives of the persisted
 * blobs (history entries, cooldown stamps). Little-endian fixed 64-bit words
 * and LEB128 varints, so a blob reads back the same on any host, and small
 * numbers (replica counts, steps, rule-id deltas) take one byte.
 *
 * Writers are given a buffer sized with the *_MAX constants. Readers take a
 * cursor that never moves past its end: every get returns 0 on a truncated or
 * malformed input, so a damaged row is reported, never read out of bounds.
 * Header only (static inline); depends on nothing of the part. */
#ifndef MS_AUTOSCALER_CODEC_H
#define MS_AUTOSCALER_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define AS_VARINT_MAX 10 /* bytes of the longest 64-bit varint */

typedef struct as_reader {
  const unsigned char *p, *end;
} as_reader;

static inline size_t as_put_u64(unsigned char *out, uint64_t v) {
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
  return 8;
}

static inline size_t as_put_uvar(unsigned char *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (unsigned char)v;
  return n;
}

/* Zig-zag: small magnitudes of either sign become small unsigned numbers. The
 * shifts are done on the unsigned value so nothing relies on signed overflow. */
static inline uint64_t as_zigzag(int64_t v) {
  uint64_t u = (uint64_t)v;
  return (u << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static inline int64_t as_unzigzag(uint64_t u) {
  uint64_t m = (u >> 1) ^ (0 - (u & 1));
  int64_t v;
  memcpy(&v, &m, sizeof v); /* two's complement reinterpretation, no implementation-defined cast */
  return v;
}

static inline size_t as_put_svar(unsigned char *out, int64_t v) { return as_put_uvar(out, as_zigzag(v)); }

static inline int as_get_u8(as_reader *r, unsigned *v) {
  if (r->p >= r->end) return 0;
  *v = *r->p++;
  return 1;
}

static inline int as_get_u64(as_reader *r, uint64_t *v) {
  if (r->end - r->p < 8) return 0;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[i] << (8 * i);
  r->p += 8;
  *v = x;
  return 1;
}

static inline int as_get_uvar(as_reader *r, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return 0;
    unsigned b = *r->p++;
    if (shift == 63 && b > 1) return 0; /* more than 64 bits */
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

static inline int as_get_svar(as_reader *r, int64_t *v) {
  uint64_t u;
  if (!as_get_uvar(r, &u)) return 0;
  *v = as_unzigzag(u);
  return 1;
}

/* Two's complement helpers for deltas between ids: wrapping arithmetic on
 * uint64_t is defined, and the result is reinterpreted, not converted. */
static inline int64_t as_wrap_sub(int64_t a, int64_t b) {
  uint64_t d = (uint64_t)a - (uint64_t)b;
  int64_t v;
  memcpy(&v, &d, sizeof v);
  return v;
}

static inline int64_t as_wrap_add(int64_t a, int64_t b) {
  uint64_t s = (uint64_t)a + (uint64_t)b;
  int64_t v;
  memcpy(&v, &s, sizeof v);
  return v;
}

static inline int64_t as_u64_to_i64(uint64_t u) {
  int64_t v;
  memcpy(&v, &u, sizeof v);
  return v;
}

#endif
