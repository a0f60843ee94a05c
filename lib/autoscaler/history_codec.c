/* The blobs the autoscaler persists: one history entry, and an endpoint's
 * cooldown stamps. Both are versioned, little-endian and varint-packed (see
 * codec.h): a tick writes one entry per changed endpoint, so its size is most
 * of what a tick costs the store (about 8 bytes per rule instead of 42).
 *
 * History entry, version 1:
 *   u8 version, u64 at_us, uvar from, uvar to, svar applied rule id (-1: none),
 *   uvar rule count, then per rule (ascending ids):
 *     svar id - previous id (the first: id - 0),
 *     u8 flags: bits 0-2 outcome, bits 3-4 comparator,
 *               bits 5-6 value kind (0 missing, 1 integer svar, 2 f64),
 *               bit 7 threshold kind (0 integer svar, 1 f64),
 *     the value (unless missing), the threshold, svar step, svar proposed - from.
 *   A double is written as an integer only when that is exact (|v| <= 2^53,
 *   not -0), so every value reads back bit for bit.
 *
 * Cooldown stamps, version 1: u8 version, then per applied rule (ascending
 * ids): svar id - previous id, u64 last_applied_us. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/history_codec.h"
#include "common/error.h"

#define ENTRY_VERSION 1u
#define STAMPS_VERSION 1u
#define KIND_MISSING 0u
#define KIND_INT 1u
#define KIND_F64 2u

size_t ms__autoscaler_entry_max(size_t n_rules) {
  return 1 + 8 + 4 * AS_VARINT_MAX + n_rules * (1 + 5 * AS_VARINT_MAX);
}

static int exact_int(double v, int64_t *out) {
  if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0)) return 0; /* also false for NaN */
  int64_t i = (int64_t)v;
  if ((double)i != v || (i == 0 && signbit(v))) return 0;
  *out = i;
  return 1;
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

/* Writes a double as an integer svar or raw f64; returns the kind used. */
static unsigned put_num(unsigned char *out, size_t *n, double v) {
  int64_t i;
  if (exact_int(v, &i)) {
    *n += as_put_svar(out + *n, i);
    return KIND_INT;
  }
  *n += as_put_u64(out + *n, dbits(v));
  return KIND_F64;
}

static int get_num(as_reader *r, unsigned kind, double *v) {
  if (kind == KIND_INT) {
    int64_t i;
    if (!as_get_svar(r, &i)) return 0;
    *v = (double)i;
    return 1;
  }
  uint64_t u;
  if (kind != KIND_F64 || !as_get_u64(r, &u)) return 0;
  *v = bitsd(u);
  return 1;
}

size_t ms__autoscaler_entry_encode(unsigned char *out, int64_t at, int64_t from, int64_t to, int64_t applied,
                                   const as_dec_rule *rules, size_t n_rules) {
  size_t n = 0;
  out[n++] = ENTRY_VERSION;
  n += as_put_u64(out + n, (uint64_t)at);
  n += as_put_uvar(out + n, (uint64_t)from);
  n += as_put_uvar(out + n, (uint64_t)to);
  n += as_put_svar(out + n, applied);
  n += as_put_uvar(out + n, n_rules);
  int64_t prev = 0;
  for (size_t j = 0; j < n_rules; j++) {
    const as_dec_rule *r = &rules[j];
    n += as_put_svar(out + n, as_wrap_sub(r->rule_id, prev));
    prev = r->rule_id;
    size_t flags_at = n++;
    unsigned vk = KIND_MISSING;
    if (!isnan(r->value)) vk = put_num(out, &n, r->value);
    unsigned tk = put_num(out, &n, r->threshold) == KIND_F64 ? 1u : 0u;
    out[flags_at] = (unsigned char)((unsigned)r->outcome | (unsigned)r->cmp << 3 | vk << 5 | tk << 7);
    n += as_put_svar(out + n, r->step);
    n += as_put_svar(out + n, as_wrap_sub(r->proposed, from));
  }
  return n;
}

static int corrupt(void) { return MS_ECORRUPT; }

int ms__autoscaler_entry_decode(const unsigned char *blob, size_t len, as_entry_head *h, as_dec_rule **buf,
                                size_t *cap) {
  if (!blob) return corrupt(); /* SQLite gives NULL for an empty blob */
  as_reader r = {blob, blob + len};
  unsigned version = 0;
  uint64_t at, from, to, n;
  int64_t applied;
  if (!as_get_u8(&r, &version) || version != ENTRY_VERSION || !as_get_u64(&r, &at) ||
      !as_get_uvar(&r, &from) || !as_get_uvar(&r, &to) || !as_get_svar(&r, &applied) || !as_get_uvar(&r, &n))
    return corrupt();
  /* Replica counts are never negative; a rule takes at least 5 bytes. */
  if (from > INT64_MAX || to > INT64_MAX || n > len / 5) return corrupt();
  if (n > *cap) {
    as_dec_rule *p = realloc(*buf, (size_t)n * sizeof *p);
    if (!p) return ms__fail(MS_ENOMEM, "out of memory reading history");
    *buf = p;
    *cap = (size_t)n;
  }
  int64_t prev = 0, f = (int64_t)from;
  for (size_t j = 0; j < n; j++) {
    as_dec_rule *o = &(*buf)[j];
    int64_t delta, step, dprop;
    unsigned flags;
    if (!as_get_svar(&r, &delta) || !as_get_u8(&r, &flags)) return corrupt();
    o->rule_id = as_wrap_add(prev, delta);
    prev = o->rule_id;
    o->outcome = (int32_t)(flags & 7u);
    o->cmp = (int32_t)(flags >> 3 & 3u);
    unsigned vk = flags >> 5 & 3u;
    o->value = NAN;
    if (o->outcome > MS_RULE_DISABLED || (vk != KIND_MISSING && !get_num(&r, vk, &o->value)) ||
        !get_num(&r, (flags >> 7) ? KIND_F64 : KIND_INT, &o->threshold) || !isfinite(o->threshold) ||
        !as_get_svar(&r, &step) || !as_get_svar(&r, &dprop))
      return corrupt();
    o->step = step;
    o->proposed = as_wrap_add(f, dprop);
  }
  if (r.p != r.end) return corrupt();
  h->at = as_u64_to_i64(at);
  h->from = f;
  h->to = (int64_t)to;
  h->applied = applied;
  h->n_rules = (size_t)n;
  return MS_OK;
}

size_t ms__autoscaler_stamps_max(size_t n_rules) { return 1 + n_rules * (AS_VARINT_MAX + 8); }

size_t ms__autoscaler_stamps_encode(unsigned char *out, const as_endpoint *ep, size_t applied, int64_t now) {
  size_t n = 0;
  out[n++] = STAMPS_VERSION;
  int64_t prev = 0;
  for (size_t j = 0; j < ep->n_rules; j++) {
    const as_rule *r = &ep->rules[j];
    if (j != applied && !r->has_applied) continue;
    n += as_put_svar(out + n, as_wrap_sub(r->id, prev));
    prev = r->id;
    n += as_put_u64(out + n, (uint64_t)(j == applied ? now : ep->rules_cold[j].last_applied));
  }
  return n;
}

int ms__autoscaler_stamps_begin(as_stamp_iter *it, const unsigned char *blob, size_t len) {
  if (!blob) return MS_ECORRUPT;
  it->r = (as_reader){blob, blob + len};
  it->prev = 0;
  unsigned version = 0;
  return as_get_u8(&it->r, &version) && version == STAMPS_VERSION ? MS_OK : MS_ECORRUPT;
}

int ms__autoscaler_stamps_next(as_stamp_iter *it, int64_t *rule_id, int64_t *at) {
  if (it->r.p == it->r.end) return 0;
  int64_t delta;
  uint64_t u;
  if (!as_get_svar(&it->r, &delta) || !as_get_u64(&it->r, &u)) return -1;
  it->prev = as_wrap_add(it->prev, delta);
  *rule_id = it->prev;
  *at = as_u64_to_i64(u);
  return 1;
}
