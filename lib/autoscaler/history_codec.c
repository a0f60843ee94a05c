/* The rules blob of a history row: AS_DEC_RULE_BYTES per rule, little-endian,
 * fixed layout, so rows read back the same on any host:
 *   i64 rule_id, f64 value (NaN: missing), f64 threshold, i64 step,
 *   i64 proposed, u8 outcome, u8 comparator. */
#include <math.h>
#include <string.h>

#include "autoscaler_internal.h"

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double bitsd(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

void as_encode_rules(const as_dec_rule *r, size_t n, unsigned char *out) {
  for (size_t i = 0; i < n; i++, out += AS_DEC_RULE_BYTES) {
    put64(out, (uint64_t)r[i].rule_id);
    put64(out + 8, dbits(r[i].value));
    put64(out + 16, dbits(r[i].threshold));
    put64(out + 24, (uint64_t)r[i].step);
    put64(out + 32, (uint64_t)r[i].proposed);
    out[40] = (unsigned char)r[i].outcome;
    out[41] = (unsigned char)r[i].cmp;
  }
}

int as_decode_rules(const unsigned char *blob, size_t len, as_dec_rule *out, size_t *n) {
  if (len % AS_DEC_RULE_BYTES) return MS_ECORRUPT;
  size_t k = len / AS_DEC_RULE_BYTES;
  for (size_t i = 0; i < k; i++, blob += AS_DEC_RULE_BYTES) {
    as_dec_rule *r = &out[i];
    r->rule_id = (int64_t)get64(blob);
    r->value = bitsd(get64(blob + 8));
    r->threshold = bitsd(get64(blob + 16));
    r->step = (int64_t)get64(blob + 24);
    r->proposed = (int64_t)get64(blob + 32);
    r->outcome = blob[40];
    r->cmp = blob[41];
    if (r->outcome > MS_RULE_DISABLED || r->cmp > MS_CMP_GE || !isfinite(r->threshold)) return MS_ECORRUPT;
  }
  *n = k;
  return MS_OK;
}
