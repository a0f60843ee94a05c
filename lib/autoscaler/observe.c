/* Observations: the latest value per (endpoint, source, metric, replica), in
 * memory only. The steady-state path (a key seen before) is two short hash
 * probes and string compares under the engine mutex: no allocation, no store. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/text.h"
#include "autoscaler_internal.h"

/* Not older than the TTL. An observation stamped after `now` counts as fresh
 * (a replay may evaluate at a time before an observation it already saw). */
static int fresh(int64_t at, int64_t now, int64_t ttl) {
  if (at >= now) return 1;
  return (uint64_t)now - (uint64_t)at <= (uint64_t)ttl;
}

int as_series_value(const as_series *s, int agg, int64_t replicas, int64_t now, int64_t ttl, double *value) {
  if (s->has_wide && fresh(s->wide_at, now, ttl)) {
    *value = s->wide_value / (double)(replicas > 1 ? replicas : 1);
    return 1;
  }
  double acc = 0;
  size_t n = 0;
  for (uint32_t i = 0; i < s->n_slots; i++) {
    const as_slot *sl = &s->slots[i];
    if (!sl->replica || !fresh(sl->at, now, ttl)) continue;
    if (n == 0) acc = sl->value;
    else if (agg == MS_AGG_MAX) acc = sl->value > acc ? sl->value : acc;
    else if (agg == MS_AGG_MIN) acc = sl->value < acc ? sl->value : acc;
    else acc += sl->value;
    n++;
  }
  if (!n) return 0;
  *value = agg == MS_AGG_MEAN ? acc / (double)n : acc;
  return 1;
}

static int store_replica(ms_autoscaler *a, as_endpoint *ep, as_series *s, const char *replica, double value,
                         int64_t now) {
  uint64_t h = as_hash_str(replica);
  as_slot *reuse = NULL;
  for (uint32_t i = 0; i < s->n_slots; i++) {
    as_slot *sl = &s->slots[i];
    if (!sl->replica) {
      if (!reuse) reuse = sl;
      continue;
    }
    if (sl->hash == h && strcmp(sl->replica, replica) == 0) {
      if (now >= sl->at) { /* keep the latest; a late, older observation is ignored */
        sl->value = value;
        sl->at = now;
      }
      return MS_OK;
    }
    if (!reuse && !fresh(sl->at, now, a->ttl_us)) reuse = sl; /* a replica that went away */
  }
  /* A replica not seen before: take a free or stale slot, else grow. */
  char *name = ms__strdup(replica);
  if (!name) return MS_ENOMEM;
  if (!reuse) {
    if (s->n_slots >= AS_MAX_REPLICAS) {
      free(name);
      return ms__fail(MS_EFULL, "autoscaler: endpoint '%s': metric '%s/%s': more than %d live replicas", ep->name,
                      s->source, s->metric, AS_MAX_REPLICAS);
    }
    if (s->n_slots == s->cap_slots) {
      uint32_t cap = s->cap_slots ? s->cap_slots * 2 : 4;
      as_slot *p = realloc(s->slots, cap * sizeof *p);
      if (!p) {
        free(name);
        return ms__fail(MS_ENOMEM, "autoscaler: endpoint '%s': out of memory", ep->name);
      }
      s->slots = p;
      s->cap_slots = cap;
    }
    reuse = &s->slots[s->n_slots++];
    reuse->replica = NULL;
  }
  free(reuse->replica);
  reuse->replica = name;
  reuse->hash = h;
  reuse->value = value;
  reuse->at = now;
  return MS_OK;
}

static int observe_locked(ms_autoscaler *a, const char *endpoint, const char *source, const char *metric,
                          const char *replica, double value, int64_t now) {
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep) return ms__fail(MS_ENOTFOUND, "autoscaler: observe: no endpoint '%s'", endpoint);
  uint64_t h = as_hash_pair(source, metric);
  as_series *s = as_find_series(ep, source, metric, h);
  if (!s) {
    if (ep->n_series >= AS_MAX_SERIES)
      return ms__fail(MS_EFULL, "autoscaler: endpoint '%s': more than %d metrics observed", endpoint, AS_MAX_SERIES);
    int st = as_ep_reserve(ep, 0, 1);
    if (st) return st;
    if (!(s = as_series_new(source, metric))) return MS_ENOMEM;
    ep->series[ep->n_series++] = s;
  }
  if (replica) return store_replica(a, ep, s, replica, value, now);
  if (!s->has_wide || now >= s->wide_at) {
    s->has_wide = 1;
    s->wide_value = value;
    s->wide_at = now;
  }
  return MS_OK;
}

int ms_autoscaler_observe(ms_autoscaler *a, const char *endpoint, const char *source, const char *metric,
                          const char *replica, double value, int64_t now_us) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st;
  if ((st = as_check_name("endpoint name", endpoint)) || (st = as_check_name("metric source", source)) ||
      (st = as_check_name("metric name", metric)))
    return st;
  if (replica && !*replica)
    return ms__fail(MS_EINVAL, "autoscaler: endpoint '%s': empty replica name (use NULL for an endpoint-wide value)",
                    endpoint);
  if (!isfinite(value))
    return ms__fail(MS_EINVAL, "autoscaler: endpoint '%s': metric '%s/%s': value is %s", endpoint, source, metric,
                    isnan(value) ? "NaN" : "infinite");
  if ((st = as_lock(a))) return st;
  st = observe_locked(a, endpoint, source, metric, replica, value, now_us);
  as_unlock(a);
  return st;
}
