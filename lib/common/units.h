/* Internal: checked conversions of user-given numbers (seconds,
 * milliseconds) into microseconds, the unit of every duration in libmserve.
 *
 * The core conversions are static inline and depend on nothing but
 * <stdint.h> and <math.h>, so the command-line tools under examples/ (which
 * link the public library only) use the very same rules for their flags.
 * ms__units_to_us (units.c) adds the library's error message. */
#ifndef MS_COMMON_UNITS_H
#define MS_COMMON_UNITS_H

#include <math.h>
#include <stdint.h>

#define MS__US_PER_US ((int64_t)1)
#define MS__US_PER_MS ((int64_t)1000)
#define MS__US_PER_S ((int64_t)1000000)

/*
 * ms__units_mul - *out = value * factor (factor >= 1) when the product fits
 * in int64_t, on the negative side as on the positive one. Returns 0, or
 * -1 when it does not fit or factor < 1 (*out untouched). No message.
 */
static inline int ms__units_mul(int64_t value, int64_t factor, int64_t *out) {
  if (factor < 1) return -1;
  if (value > INT64_MAX / factor || value < INT64_MIN / factor) return -1;
  *out = value * factor;
  return 0;
}

/*
 * ms__units_from_double - a finite duration `value` in a unit of `factor`
 * microseconds (1e-6 s: factor 1) to whole microseconds, rounded to the
 * nearest; a positive value that rounds to 0 becomes 1 µs (never "no
 * duration"), likewise a negative one becomes -1. Returns 0, or -1 for NaN,
 * infinities and results outside int64_t (*out untouched). No message.
 */
static inline int ms__units_from_double(double value, int64_t factor, int64_t *out) {
  if (factor < 1 || !isfinite(value)) return -1;
  double us = value * (double)factor;
  /* 2^63 is exact as a double; anything at or past it does not fit. */
  if (!(us < 9223372036854775808.0) || !(us >= -9223372036854775808.0)) return -1;
  double r = nearbyint(us);
  if (r == 0.0 && value != 0.0) r = value > 0 ? 1.0 : -1.0;
  if (!(r < 9223372036854775808.0)) return -1;
  *out = (int64_t)r;
  return 0;
}

/*
 * ms__units_to_us - value, written in `unit` ("s", "ms", "us"; NULL or ""
 * for a plain count) where one unit is `factor` canonical units, converted
 * with ms__units_mul and checked against [min, max] (canonical units). On
 * failure returns `status` (MS_ECORRUPT for a file, MS_EINVAL for an
 * argument) with the message "<what>: '<key>' = <value> <unit> is out of
 * range (<lo>..<hi> <unit>)", the range shown in the value's own unit.
 * *out untouched on failure.
 */
int ms__units_to_us(int64_t value, int64_t factor, const char *unit, int64_t min, int64_t max, int status,
                    const char *what, const char *key, int64_t *out);

#endif
