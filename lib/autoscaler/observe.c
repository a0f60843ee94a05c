/* ms_autoscaler_observe: checks the arguments, then records the observation
 * in the model (endpoint.c, series.c). Memory only: no store access, no
 * allocation once the key was seen. */
#include <math.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/endpoint.h"
#include "common/error.h"

int ms_autoscaler_observe(ms_autoscaler *a, const char *endpoint, const char *source, const char *metric,
                          const char *replica, double value, int64_t now_us) {
  static const char *const CALL = "ms_autoscaler_observe";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  int st;
  if ((st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint)) ||
      (st = ms__autoscaler_check_name(CALL, "metric source", source)) ||
      (st = ms__autoscaler_check_name(CALL, "metric name", metric)))
    return st;
  if (replica && !*replica)
    return ms__fail(MS_EINVAL,
                    "autoscaler: %s: endpoint '%s': empty replica name (use NULL for an endpoint-wide value)", CALL,
                    endpoint);
  if (!isfinite(value))
    return ms__fail(MS_EINVAL, "autoscaler: %s: endpoint '%s': metric '%s/%s': value is %s", CALL, endpoint, source,
                    metric, isnan(value) ? "NaN" : "infinite");
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  if (!ep) st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint", CALL, endpoint);
  else if ((st = ms__autoscaler_model_observe(&a->m, ep, source, metric, replica, value, now_us)))
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
  ms__autoscaler_unlock(a);
  return st;
}
