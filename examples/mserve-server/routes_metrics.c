/* mserve-server: Prometheus text at /metrics on the metrics address. */
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "http.h"
#include "models.h"
#include "routes.h"

void route_metrics(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url) {
  (void)conn;
  if (strcmp(url, "/metrics") != 0 || strcmp(method, "GET") != 0) {
    http_error_ts(cc, 404, "ResourceNotFoundException", "mserve-server: the metrics API serves GET /metrics");
    return;
  }
  mx_view *v = calloc(s->n_models ? s->n_models : 1, sizeof *v);
  if (!v) {
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    int64_t q = 0;
    ms_batcher_stats(m->b, ms_clock_monotonic_us(), &q, NULL, NULL);
    v[n].model = m->name;
    v[n].version = m->version;
    v[n].m = &m->mx;
    v[n].queue_depth = q;
    v[n].workers = models_live_workers(m);
    n++;
  }
  body_buf b = {0};
  mx_render(&b, v, n, &s->mx, s->open_conns);
  free(v);
  if (b.oom) {
    free(b.p);
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  http_answer(cc, 200, "text/plain; version=0.0.4", b.p, b.len);
}
