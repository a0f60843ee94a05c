/* A series' observations: the latest value per replica and the endpoint-wide
 * one, in memory only, and the aggregation an evaluation reads.
 *
 * The steady-state record (a replica seen before) is one short scan of the
 * slots with hash compares: no allocation. It also refreshes the series'
 * aggregates (mean, max, min and the oldest time over the occupied slots)
 * while those slots are in cache, so an evaluation reads one cache line per
 * rule instead of walking every slot array: when the oldest slot is still
 * fresh, every slot is, and the cached aggregates are exactly what a walk
 * would compute (same slots, same order). Otherwise the evaluation walks the
 * slots, skipping the stale ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/series.h"
#include "common/error.h"
#include "common/text.h"

/* Not older than the TTL. An observation stamped after `now` counts as fresh
 * (a replay may evaluate at a time before an observation it already saw). */
static int fresh(int64_t at, int64_t now, int64_t ttl) {
  if (at >= now) return 1;
  return (uint64_t)now - (uint64_t)at <= (uint64_t)ttl;
}

/* The mean when the plain sum overflowed (values near +-DBL_MAX): the same
 * slots in the same order, each scaled by 2^-13 first. Scaling by a power of
 * two is exact for normal numbers, and with at most AS_MAX_REPLICAS values of
 * at most DBL_MAX each the scaled sum stays below DBL_MAX / 2, so it cannot
 * overflow. Only values below 2^-1009, which the scaling makes subnormal,
 * lose bits: an absolute error under 2^-1060 in the mean. The result is kept
 * within [min, max], where every mean lies, so rounding while scaling back
 * can never reach infinity. `all`: every occupied slot (the cached
 * aggregates); else only the slots fresh at `now` (the walk). Both visit the
 * slots in the same order, so when every slot is fresh they agree to the
 * bit. */
#define AS_MEAN_SCALE 0x1p-13
#define AS_MEAN_UNSCALE 0x1p13
_Static_assert(AS_MAX_REPLICAS <= 4096, "the scaled sum of AS_MAX_REPLICAS values of DBL_MAX stays finite");

static double scaled_mean(const as_series_cold *c, int all, int64_t now, int64_t ttl) {
  double sum = 0, max = 0, min = 0;
  size_t n = 0;
  for (uint32_t i = 0; i < c->n_slots; i++) {
    const as_slot *sl = &c->slots[i];
    if (!sl->replica || (!all && !fresh(sl->at, now, ttl))) continue;
    double v = sl->value;
    if (n == 0) {
      max = min = v;
    } else {
      max = v > max ? v : max;
      min = v < min ? v : min;
    }
    sum += v * AS_MEAN_SCALE;
    n++;
  }
  if (!n) return 0;
  double mean = sum / (double)n * AS_MEAN_UNSCALE;
  return mean > max ? max : mean < min ? min : mean;
}

/* Aggregate the occupied slots fresh at `now`. */
static size_t walk(const as_series_cold *c, int agg, int64_t now, int64_t ttl, double *out) {
  double acc = 0;
  size_t n = 0;
  for (uint32_t i = 0; i < c->n_slots; i++) {
    const as_slot *sl = &c->slots[i];
    if (!sl->replica || !fresh(sl->at, now, ttl)) continue;
    if (n == 0) acc = sl->value;
    else if (agg == MS_AGG_MAX) acc = sl->value > acc ? sl->value : acc;
    else if (agg == MS_AGG_MIN) acc = sl->value < acc ? sl->value : acc;
    else acc += sl->value;
    n++;
  }
  if (agg == MS_AGG_MEAN && n) acc = isfinite(acc) ? acc / (double)n : scaled_mean(c, 0, now, ttl);
  *out = acc;
  return n;
}

/* Refresh the cached aggregates after a slot changed: one pass computing
 * what walk() would for each aggregation, in the same slot order. */
static void recache(as_series *s, const as_series_cold *c) {
  if (c->n_slots > AS_CACHED_SLOTS) {
    s->cached = 0;
    return;
  }
  double sum = 0, max = 0, min = 0;
  int64_t oldest = INT64_MAX;
  uint32_t n = 0;
  for (uint32_t i = 0; i < c->n_slots; i++) {
    const as_slot *sl = &c->slots[i];
    if (!sl->replica) continue;
    if (n == 0) {
      sum = max = min = sl->value;
    } else {
      sum += sl->value;
      max = sl->value > max ? sl->value : max;
      min = sl->value < min ? sl->value : min;
    }
    if (sl->at < oldest) oldest = sl->at;
    n++;
  }
  s->mean = !n ? 0 : isfinite(sum) ? sum / (double)n : scaled_mean(c, 1, 0, 0);
  s->max = max;
  s->min = min;
  s->oldest_at = oldest;
  s->n_live = n;
  s->cached = 1;
}

int ms__autoscaler_series_value(const as_series *s, const as_series_cold *c, int agg, int64_t replicas, int64_t now,
                                int64_t ttl, double *value) {
  if (s->has_wide && fresh(s->wide_at, now, ttl)) {
    *value = s->wide_value / (double)(replicas > 1 ? replicas : 1);
    return 1;
  }
  if (s->cached) {
    if (!s->n_live) return 0;
    if (fresh(s->oldest_at, now, ttl)) {
      *value = agg == MS_AGG_MAX ? s->max : agg == MS_AGG_MIN ? s->min : s->mean;
      return 1;
    }
  }
  return walk(c, agg, now, ttl, value) != 0;
}

static int record_replica(as_series *s, as_series_cold *c, const char *replica, double value, int64_t now,
                          int64_t ttl, int *kept) {
  uint64_t h = ms__autoscaler_hash_str(replica);
  as_slot *reuse = NULL;
  for (uint32_t i = 0; i < c->n_slots; i++) {
    as_slot *sl = &c->slots[i];
    if (!sl->replica) {
      if (!reuse) reuse = sl;
      continue;
    }
    if (sl->hash == h && strcmp(sl->replica, replica) == 0) {
      *kept = now >= sl->at;
      if (*kept) { /* keep the latest; a late, older observation is ignored */
        sl->value = value;
        sl->at = now;
        recache(s, c);
      }
      return MS_OK;
    }
    if (!reuse && !fresh(sl->at, now, ttl)) reuse = sl; /* a replica that went away */
  }
  /* A replica not seen before: take a free or stale slot, else grow. */
  if (!reuse && c->n_slots >= AS_MAX_REPLICAS)
    return ms__fail(MS_EFULL, "metric '%s/%s': more than %d live replicas", c->source, c->metric, AS_MAX_REPLICAS);
  char *name = ms__strdup(replica);
  if (!name) return ms__fail(MS_ENOMEM, "out of memory");
  if (!reuse) {
    if (c->n_slots == c->cap_slots) {
      uint32_t cap = c->cap_slots ? c->cap_slots * 2 : 4;
      as_slot *p = realloc(c->slots, cap * sizeof *p);
      if (!p) {
        free(name);
        return ms__fail(MS_ENOMEM, "out of memory");
      }
      c->slots = p;
      c->cap_slots = cap;
    }
    reuse = &c->slots[c->n_slots++];
    reuse->replica = NULL;
  }
  free(reuse->replica);
  reuse->replica = name;
  reuse->hash = h;
  reuse->value = value;
  reuse->at = now;
  recache(s, c);
  *kept = 1;
  return MS_OK;
}

int ms__autoscaler_series_record(as_series *s, as_series_cold *c, const char *replica, double value, int64_t now,
                                 int64_t ttl, int *kept) {
  if (replica) return record_replica(s, c, replica, value, now, ttl, kept);
  *kept = !s->has_wide || now >= s->wide_at;
  if (*kept) {
    s->has_wide = 1;
    s->wide_value = value;
    s->wide_at = now;
  }
  return MS_OK;
}

int64_t ms__autoscaler_series_next_stale(const as_series *s, const as_series_cold *c, int64_t now, int64_t ttl) {
  int64_t next = INT64_MAX;
  if (s->has_wide) {
    int64_t t = ms__autoscaler_stale_at(s->wide_at, ttl);
    if (t > now && t < next) next = t;
  }
  /* The cached aggregates know the oldest occupied slot: while it is still
   * to go stale it goes first, and the slots need not be read. */
  if (s->cached) {
    int64_t t = s->n_live ? ms__autoscaler_stale_at(s->oldest_at, ttl) : INT64_MAX;
    if (!s->n_live || t > now) return t < next ? t : next;
  }
  for (uint32_t i = 0; i < c->n_slots; i++) {
    if (!c->slots[i].replica) continue;
    int64_t t = ms__autoscaler_stale_at(c->slots[i].at, ttl);
    if (t > now && t < next) next = t;
  }
  return next;
}
