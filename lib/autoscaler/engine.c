/* The engine's small helpers: its mutex, argument checks and scratch buffer
 * (autoscaler_internal.h). */
#include <stdlib.h>

#include "autoscaler/autoscaler_internal.h"
#include "common/error.h"

int ms__autoscaler_lock(ms_autoscaler *a) {
  int e = pthread_mutex_lock(&a->mu);
  if (e) return ms__fail(MS_EINTERNAL, "mutex error %d", e);
  return MS_OK;
}

void ms__autoscaler_unlock(ms_autoscaler *a) { pthread_mutex_unlock(&a->mu); }

int ms__autoscaler_check_name(const char *call, const char *what, const char *s) {
  if (!s) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", call, what);
  if (!*s) return ms__fail(MS_EINVAL, "autoscaler: %s: empty %s", call, what);
  return MS_OK;
}

int ms__autoscaler_reserve_buf(ms_autoscaler *a, size_t bytes) {
  if (bytes <= a->buf_cap) return MS_OK;
  size_t cap = a->buf_cap ? a->buf_cap : 256;
  while (cap < bytes) cap *= 2;
  unsigned char *p = realloc(a->buf, cap);
  if (!p) return ms__fail(MS_ENOMEM, "out of memory for a %zu-byte buffer", cap);
  a->buf = p;
  a->buf_cap = cap;
  return MS_OK;
}
