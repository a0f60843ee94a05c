/* mserve-server: counters and histograms in Prometheus text format. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "body.h"

static const int codes[MX_CODES - 1] = {200, 400, 404, 413, 429, 500, 503, 504, 507};
static const double time_le[MX_TIME_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
static const double size_le[MX_SIZE_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

int mx_code_slot(int http_status) {
  for (int i = 0; i < MX_CODES - 1; i++)
    if (codes[i] == http_status) return i;
  return MX_CODES - 1;
}

void mx_count(int64_t *requests, int http_status) { requests[mx_code_slot(http_status)]++; }

static void observe(mx_hist *h, const double *le, int n, double v) {
  int i = 0;
  while (i < n && v > le[i]) i++;
  h->bucket[i]++;
  h->sum += v;
  h->count++;
}

void mx_time(mx_hist *h, double seconds) { observe(h, time_le, MX_TIME_BUCKETS, seconds); }
void mx_size(mx_hist *h, double rows) { observe(h, size_le, MX_SIZE_BUCKETS, rows); }

/* One histogram's lines: cumulative buckets, +Inf, sum and count. */
static void hist(body_buf *b, const char *name, const char *labels, const mx_hist *h, const double *le, int n) {
  int64_t cum = 0;
  for (int i = 0; i < n; i++) {
    cum += h->bucket[i];
    bb_printf(b, "%s_bucket{%s,le=\"%g\"} %lld\n", name, labels, le[i], (long long)cum);
  }
  cum += h->bucket[n];
  bb_printf(b, "%s_bucket{%s,le=\"+Inf\"} %lld\n", name, labels, (long long)cum);
  bb_printf(b, "%s_sum{%s} %.9g\n", name, labels, h->sum);
  bb_printf(b, "%s_count{%s} %lld\n", name, labels, (long long)h->count);
}

static void code_text(char *buf, size_t n, int i) {
  if (i < MX_CODES - 1) snprintf(buf, n, "%d", codes[i]);
  else snprintf(buf, n, "other");
}

/* model="...",version="..." with the label escapes (JSON's are a superset
 * of what names and versions can hold). */
static char *labels_of(const mx_view *v) {
  body_buf lb = {0};
  bb_puts(&lb, "model=");
  bb_json_str(&lb, v->model);
  bb_puts(&lb, ",version=");
  bb_json_str(&lb, v->version);
  return lb.oom ? NULL : lb.p;
}

void mx_render(body_buf *b, const mx_view *v, size_t n, const srv_metrics *s, int64_t open_connections) {
  char **labels = calloc(n ? n : 1, sizeof *labels);
  if (!labels) {
    b->oom = 1;
    return;
  }
  for (size_t i = 0; i < n; i++) labels[i] = labels_of(&v[i]);
  bb_puts(b, "# HELP mserve_requests_total Requests answered, by model, version and HTTP status.\n"
             "# TYPE mserve_requests_total counter\n");
  for (size_t j = 0; j < n; j++)
    for (int i = 0; i < MX_CODES; i++) {
      if (!v[j].m->requests[i] || !labels[j]) continue;
      char c[16];
      code_text(c, sizeof c, i);
      bb_printf(b, "mserve_requests_total{%s,code=\"%s\"} %lld\n", labels[j], c, (long long)v[j].m->requests[i]);
    }
  for (int i = 0; i < MX_CODES; i++) {
    if (!s->requests[i]) continue;
    char c[16];
    code_text(c, sizeof c, i);
    bb_printf(b, "mserve_requests_total{model=\"\",version=\"\",code=\"%s\"} %lld\n", c,
              (long long)s->requests[i]);
  }
  static const char *const hname[3] = {"mserve_request_duration_seconds", "mserve_queue_time_seconds",
                                       "mserve_batch_size"};
  static const char *const hhelp[3] = {"Time from a prediction's arrival to its answer.",
                                       "Time a prediction waited in its batcher.", "Rows per executed batch."};
  for (int h = 0; h < 3; h++) {
    bb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", hname[h], hhelp[h], hname[h]);
    for (size_t j = 0; j < n; j++) {
      if (!labels[j]) continue;
      const mx_hist *x = h == 0 ? &v[j].m->latency : h == 1 ? &v[j].m->queue : &v[j].m->batch;
      if (h < 2) hist(b, hname[h], labels[j], x, time_le, MX_TIME_BUCKETS);
      else hist(b, hname[h], labels[j], x, size_le, MX_SIZE_BUCKETS);
    }
  }
  bb_puts(b, "# HELP mserve_queue_depth Predictions waiting in the batcher.\n# TYPE mserve_queue_depth gauge\n");
  for (size_t j = 0; j < n; j++)
    if (labels[j]) bb_printf(b, "mserve_queue_depth{%s} %lld\n", labels[j], (long long)v[j].queue_depth);
  bb_puts(b, "# HELP mserve_workers Executors (worker threads) of the model version.\n# TYPE mserve_workers gauge\n");
  for (size_t j = 0; j < n; j++)
    if (labels[j]) bb_printf(b, "mserve_workers{%s} %lld\n", labels[j], (long long)v[j].workers);
  bb_printf(b, "# HELP mserve_admissions_denied_total Requests refused by a concurrency limit (429).\n"
               "# TYPE mserve_admissions_denied_total counter\nmserve_admissions_denied_total %lld\n",
            (long long)s->denied);
  bb_printf(b, "# HELP mserve_open_connections HTTP connections open now, every API.\n"
               "# TYPE mserve_open_connections gauge\nmserve_open_connections %lld\n",
            (long long)open_connections);
  for (size_t i = 0; i < n; i++) free(labels[i]);
  free(labels);
}
