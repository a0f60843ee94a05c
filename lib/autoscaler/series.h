/* Internal (autoscaler, layer 2): a metric series' observations (series.c):
 * the latest value per replica and the endpoint-wide one, the aggregates an
 * evaluation reads, and when its observations go stale. Depends on the
 * model's types. */
#ifndef MS_AUTOSCALER_SERIES_H
#define MS_AUTOSCALER_SERIES_H

#include <stdint.h>

#include "autoscaler/model.h"

/* Record `value` observed at `now` for `replica` (NULL: the endpoint-wide
 * value). An observation older than the one kept for that key is ignored
 * (*kept = 0, MS_OK); else *kept = 1. `ttl` decides which slots are stale and
 * may be reused. MS_EFULL or MS_ENOMEM with the cause as message; nothing
 * changes then. */
int ms__autoscaler_series_record(as_series *s, as_series_cold *c, const char *replica, double value, int64_t now,
                                 int64_t ttl, int *kept);

/* The value of a series at `now` for aggregation `agg` (endpoint-wide values
 * divided by max(1, replicas)); 0: missing (no fresh observation). */
int ms__autoscaler_series_value(const as_series *s, const as_series_cold *c, int agg, int64_t replicas, int64_t now,
                                int64_t ttl, double *value);

/* The first instant an observation made at `at` is stale (at + ttl + 1), or
 * INT64_MAX when that is past the end of time. */
static inline int64_t ms__autoscaler_stale_at(int64_t at, int64_t ttl) {
  return at > INT64_MAX - ttl - 1 ? INT64_MAX : at + ttl + 1;
}

/* The earliest instant after `now` at which one of the series' observations
 * goes stale (each replica's and the endpoint-wide one), or INT64_MAX: from
 * the cached aggregates while the oldest slot is still fresh, else a pass
 * over the slots. */
int64_t ms__autoscaler_series_next_stale(const as_series *s, const as_series_cold *c, int64_t now, int64_t ttl);

#endif
