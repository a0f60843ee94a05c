/* mserve-server: what /metrics reports, kept as plain counters by the loop
 * thread (the only writer and reader: no locks). */
#ifndef MSERVE_SERVER_METRICS_H
#define MSERVE_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct body_buf;

#define MX_CODES 10      /* 200 400 404 413 429 500 503 504 507, other */
#define MX_TIME_BUCKETS 15
#define MX_SIZE_BUCKETS 12

typedef struct mx_hist {
  int64_t bucket[MX_TIME_BUCKETS + 1]; /* cumulative counts are built when printed */
  double sum;
  int64_t count;
} mx_hist;

typedef struct srv_model_metrics {
  int64_t requests[MX_CODES];
  mx_hist latency;   /* seconds, arrival to answer */
  mx_hist queue;     /* seconds, submit to batch formed */
  mx_hist batch;     /* batch sizes in rows */
  int64_t rows;
} srv_model_metrics;

typedef struct srv_metrics {
  int64_t requests[MX_CODES]; /* requests that named no served model (404s, bad URLs) */
  int64_t denied;             /* admissions refused (429) */
} srv_metrics;

/* The slot of an HTTP status in requests[]. */
int mx_code_slot(int http_status);
void mx_count(int64_t *requests, int http_status);
void mx_time(mx_hist *h, double seconds);
void mx_size(mx_hist *h, double rows);

/* One model version as /metrics shows it. */
typedef struct mx_view {
  const char *model, *version;
  const srv_model_metrics *m;
  int64_t queue_depth, workers;
} mx_view;

/* The whole /metrics text: every family once, its samples together. */
void mx_render(struct body_buf *b, const mx_view *v, size_t n, const srv_metrics *s, int64_t open_connections);

#endif
