/* Checked unit conversions with the library's messages (see units.h). */
#include "common/units.h"

#include <stdio.h>

#include "common/error.h"
#include "common/text.h"

int ms__units_to_us(int64_t value, int64_t factor, const char *unit, int64_t min, int64_t max, int status,
                    const char *what, const char *key, int64_t *out) {
  int64_t v = 0;
  if (factor >= 1 && ms__units_mul(value, factor, &v) == 0 && v >= min && v <= max) {
    *out = v;
    return MS_OK;
  }
  if (factor < 1) factor = 1;
  /* The accepted range in the value's own unit: ceil(min / f) .. floor(max / f). */
  int64_t lo = min / factor + (min > 0 && min % factor ? 1 : 0);
  int64_t hi = max / factor - (max < 0 && max % factor ? 1 : 0);
  const char *sp = unit && *unit ? " " : "";
  const char *u = unit ? unit : "";
  char shown[160];
  return ms__fail(status, "%s: '%s' = %lld%s%s is out of range (%lld..%lld%s%s)", what ? what : "value",
                  ms__text_show(key ? key : "", shown, sizeof shown), (long long)value, sp, u, (long long)lo,
                  (long long)hi, sp, u);
}
