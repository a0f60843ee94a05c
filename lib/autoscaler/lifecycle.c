/* The engine's lifetime: open (loading the persisted state, load.c), close,
 * and the metric TTL. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/load.h"
#include "common/error.h"

void ms_autoscaler_close(ms_autoscaler *a) {
  if (!a) return;
  ms__autoscaler_model_destroy(&a->m);
  free(a->changes);
  free(a->buf);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

int ms_autoscaler_open(ms_store *store, ms_autoscaler **out) {
  if (!store || !out)
    return ms__fail(MS_EINVAL, "autoscaler: ms_autoscaler_open: NULL %s", !store ? "store" : "output pointer");
  ms_autoscaler *a = calloc(1, sizeof *a);
  if (!a) return ms__fail(MS_ENOMEM, "autoscaler: ms_autoscaler_open: store '%s': out of memory", store->path);
  if (pthread_mutex_init(&a->mu, NULL)) {
    free(a);
    return ms__fail(MS_EINTERNAL, "autoscaler: ms_autoscaler_open: store '%s': cannot create its mutex", store->path);
  }
  a->store = store;
  ms__autoscaler_model_init(&a->m);
  int st = ms__autoscaler_load(a);
  if (st) {
    /* the store's own causes name it already ("store '<path>': ...") */
    if (strncmp(ms_errmsg(), "store '", 7) == 0) ms__errmsg_prefix("autoscaler: ms_autoscaler_open");
    else ms__errmsg_prefix("autoscaler: ms_autoscaler_open: store '%s'", store->path);
    ms_autoscaler_close(a);
    return st;
  }
  *out = a;
  return MS_OK;
}

int ms_autoscaler_set_metric_ttl(ms_autoscaler *a, int64_t ttl_us) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: ms_autoscaler_set_metric_ttl: NULL autoscaler");
  if (ttl_us <= 0)
    return ms__fail(MS_EINVAL, "autoscaler: ms_autoscaler_set_metric_ttl: the TTL must be positive, got %lld us",
                    (long long)ttl_us);
  int st = ms__autoscaler_lock(a);
  if (st) {
    ms__errmsg_prefix("autoscaler: ms_autoscaler_set_metric_ttl");
    return st;
  }
  ms__autoscaler_model_set_ttl(&a->m, ttl_us);
  ms__autoscaler_unlock(a);
  return MS_OK;
}
