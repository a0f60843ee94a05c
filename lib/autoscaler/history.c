/* ms_autoscaler_history: an endpoint's last changes, read from the store
 * (history_store.c). */
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/decisions.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/history_store.h"
#include "common/error.h"

int ms_autoscaler_history(ms_autoscaler *a, const char *endpoint, size_t max_entries, ms_decisions **out) {
  static const char *const CALL = "ms_autoscaler_history";
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  ms_decisions *d = NULL;
  if (!ep) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint", CALL, endpoint);
  } else {
    size_t limit = MS_AUTOSCALER_HISTORY_MAX;
    if (max_entries && max_entries < limit) limit = max_entries;
    if ((int64_t)limit > ep->hist_count) limit = (size_t)ep->hist_count;
    d = ms__autoscaler_decisions_new(limit, limit * ep->n_rules, limit * (ep->name_len + 1));
    if (!d) st = ms__fail(MS_ENOMEM, "out of memory reading history");
    else st = ms__autoscaler_history_read(a->store, ep, limit, d);
    if (st) ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
  }
  ms__autoscaler_unlock(a);
  if (st) {
    ms_decisions_free(d);
    return st;
  }
  *out = d;
  return MS_OK;
}
