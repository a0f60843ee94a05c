/* mserve-server: requests through batchers and workers (see dispatch.h). */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>

#include "admission.h"
#include "http.h"
#include "models.h"
#include "routes.h"
#include "workers.h"

int dsp_http_status(int st) {
  switch (st) {
    case MS_OK: return 200;
    case MS_EINVAL: return 400;
    case MS_ENOTFOUND: return 404;
    case MS_ELIMIT: return 429;
    case MS_EFULL:
    case MS_ECANCELED:
    case MS_ECLOSED: return 503;
    case MS_ETIMEDOUT: return 504;
    case MS_ENOMEM: return 507;
    default: return 500;
  }
}

srv_req *dsp_req_new(srv *s, srv_conn *cc, struct MHD_Connection *conn, srv_model *m, srv_proto proto, float *rows,
                     int64_t n, int flat, char *v2_id) {
  srv_req *r = calloc(1, sizeof *r);
  float *out = r ? malloc(sizeof(float) * (size_t)(n * m->out_dim)) : NULL;
  if (!r || !out) {
    free(r);
    free(out);
    free(rows);
    free(v2_id);
    return NULL;
  }
  r->cc = cc;
  r->conn = conn;
  r->m = m;
  r->proto = proto;
  r->in = rows;
  r->out = out;
  r->rows = n;
  r->flat = flat;
  r->v2_id = v2_id;
  r->t_start = ms_clock_monotonic_us();
  r->next = s->live;
  if (s->live) s->live->prev = r;
  s->live = r;
  cc->req = r;
  return r;
}

void dsp_finish(srv *s, srv_req *r, int status, const char *msg) {
  r->status = status;
  if (status != MS_OK && msg) {
    size_t l = strlen(msg);
    r->err = malloc(l + 1);
    if (r->err) memcpy(r->err, msg, l + 1);
  }
  int http = route_answer(s, r); /* fills r->cc's answer */
  srv_model *m = r->m;
  mx_count(m->mx.requests, http);
  mx_time(&m->mx.latency, (double)(ms_clock_monotonic_us() - r->t_start) / 1e6);
  admission_release(s, r);
  if (r->prev) r->prev->next = r->next;
  else s->live = r->next;
  if (r->next) r->next->prev = r->prev;
  srv_conn *cc = r->cc;
  cc->req = NULL;
  if (cc->suspended) {
    cc->suspended = 0;
    http_resume(r->conn);
    s->resumed = 1;
  }
  free(r->in);
  free(r->out);
  free(r->v2_id);
  free(r->err);
  free(r);
}

/* The first idle worker of m, or NULL. */
static srv_worker *idle_worker(srv_model *m) {
  for (size_t i = 0; i < m->n_workers; i++)
    if (m->workers[i]->state == W_IDLE && !m->workers[i]->retiring) return m->workers[i];
  return NULL;
}

static int64_t request_timeout(srv_model *m) {
  int64_t t = 0;
  if (ms_model_get_int(m->snap, "request_timeout_us", &t, NULL) != MS_OK) t = 0;
  return t;
}

static void set_parked(srv *s, srv_model *m, int parked) {
  if (m->parked == parked || m->bfd < 0) return;
  struct epoll_event ev = {.events = parked ? 0u : EPOLLIN, .data.ptr = m};
  if (epoll_ctl(s->ep, EPOLL_CTL_MOD, m->bfd, &ev) == 0) m->parked = parked;
}

/* Whether a parked model holds a request past its timeout. */
static int timeout_due(srv_model *m, int64_t now_us) {
  int64_t t = request_timeout(m), q = 0, oldest = 0;
  if (t <= 0) return 0;
  if (ms_batcher_stats(m->b, now_us, &q, NULL, &oldest) != MS_OK) return 0;
  return q > 0 && oldest >= t;
}

static void answer_batch(srv *s, ms_batch *x, int status, const char *msg) {
  size_t n = ms_batch_count(x);
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 0;
    ms_batch_get(x, i, &id, NULL, NULL);
    srv_req *r = (srv_req *)(uintptr_t)id;
    r->m->inflight--;
    dsp_finish(s, r, status, msg);
  }
  ms_batch_free(x);
}

void dsp_pump(srv *s, srv_model *m, int64_t now_us) {
  for (;;) {
    srv_worker *w = idle_worker(m);
    if (!w && !s->stopping && !m->retired && !timeout_due(m, now_us)) break;
    ms_batch *x = NULL;
    int st = ms_batcher_poll(m->b, now_us, &x);
    if (st || !x) break;
    int bst = ms_batch_status(x);
    if (bst == MS_OK && w) {
      int64_t rows = ms_batch_items(x);
      mx_size(&m->mx.batch, (double)rows);
      int64_t formed = ms_batch_formed_us(x);
      size_t n = ms_batch_count(x);
      for (size_t i = 0; i < n; i++) {
        int64_t sub = 0;
        ms_batch_get(x, i, NULL, NULL, &sub);
        mx_time(&m->mx.queue, (double)(formed - sub) / 1e6);
      }
      worker_give(w, x, now_us);
    } else if (bst == MS_OK) {
      /* a run batch with no worker to take it (a retired or stopping model
       * whose workers are gone): nothing will run it */
      answer_batch(s, x, MS_ECLOSED, "mserve-server: the model is shutting down; the request was not run");
    } else if (bst == MS_ETIMEDOUT) {
      char msg[256];
      snprintf(msg, sizeof msg, "mserve-server: model '%.60s' version '%.60s': the request waited past its timeout "
               "(%lld ms) in the queue", m->name, m->version, (long long)(request_timeout(m) / 1000));
      answer_batch(s, x, MS_ETIMEDOUT, msg);
    } else {
      answer_batch(s, x, MS_ECANCELED, s->stopping ? "mserve-server: the server is shutting down"
                                                    : "mserve-server: the model was unloaded");
    }
  }
  set_parked(s, m, idle_worker(m) == NULL);
}

int64_t dsp_deadline(srv *s, srv_model *m, int64_t now_us) {
  (void)s;
  int64_t d = INT64_MAX;
  if (!m->parked) {
    if (ms_batcher_next_deadline(m->b, &d) != MS_OK) d = INT64_MAX;
    return d;
  }
  int64_t t = request_timeout(m), q = 0, oldest = 0;
  if (t > 0 && ms_batcher_stats(m->b, now_us, &q, NULL, &oldest) == MS_OK && q > 0) d = now_us - oldest + t;
  return d;
}

void dsp_fail_queued(srv *s, srv_model *m, int status, const char *msg) {
  /* cancel everything pending: it comes back in one canceled batch */
  for (srv_req *r = s->live; r; r = r->next)
    if (r->m == m) ms_batcher_cancel(m->b, (uint64_t)(uintptr_t)r);
  ms_batch *x = NULL;
  while (ms_batcher_poll(m->b, ms_clock_monotonic_us(), &x) == MS_OK && x) answer_batch(s, x, status, msg);
}

void dsp_submit(srv *s, srv_req *r) {
  srv_model *m = r->m;
  if (m->open_status != MS_OK && models_live_workers(m) == 0) {
    dsp_finish(s, r, m->open_status, m->open_err);
    return;
  }
  int64_t now = ms_clock_monotonic_us();
  r->t_submit = now;
  int st = ms_batcher_submit(m->b, (uint64_t)(uintptr_t)r, r->rows, 0, 0, now);
  if (st) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ms_errmsg());
    dsp_finish(s, r, st == MS_ECLOSED ? MS_ECANCELED : st, msg);
    return;
  }
  m->inflight++;
  if (models_live_workers(m) == 0 && m->desired == 0) models_scale(s, m, 1, "a request arrived with no worker");
  dsp_pump(s, m, now);
}

static void on_done(srv *s, srv_event *e) {
  srv_worker *w = e->w;
  srv_model *m = w->m;
  int64_t now = ms_clock_monotonic_us();
  w->busy_us += now - w->given_us;
  w->state = W_IDLE;
  if (e->status != MS_OK)
    srv_log(MS_LOG_ERROR, "model '%s' version '%s': worker %lld: batch failed: %s: %s", m->name, m->version,
            (long long)w->id, ms_status_name(e->status), e->msg);
  m->mx.rows += ms_batch_items(e->batch);
  answer_batch(s, e->batch, e->status, e->msg);
  e->batch = NULL;
  if (w->retiring) return;
  dsp_pump(s, m, now);
}

void dsp_events(srv *s) {
  srv_event *e = worker_events_take(s);
  while (e) {
    srv_event *next = e->next;
    srv_worker *w = e->w;
    srv_model *m = w->m;
    switch (e->kind) {
      case EV_READY:
        w->state = W_IDLE;
        snprintf(w->where, sizeof w->where, "%s", e->msg);
        m->open_status = MS_OK;
        m->open_err[0] = '\0';
        if (w->retiring) break;
        dsp_pump(s, m, ms_clock_monotonic_us());
        break;
      case EV_FAILED:
        srv_log(MS_LOG_ERROR, "model '%s' version '%s': worker %lld could not open its executor on '%s': %s",
                m->name, m->version, (long long)w->id, w->device, e->msg);
        m->open_status = e->status;
        snprintf(m->open_err, sizeof m->open_err, "%s", e->msg);
        models_worker_gone(s, m, w);
        if (models_live_workers(m) == 0) dsp_fail_queued(s, m, e->status, e->msg);
        break;
      case EV_DONE: on_done(s, e); break;
      case EV_EXITED: models_worker_gone(s, m, w); break;
    }
    free(e);
    e = next;
  }
}

/* Whether a worker of any model is still opening its executor. */
static int any_starting(srv *s) {
  for (size_t i = 0; i < s->n_models; i++)
    for (size_t k = 0; k < s->models[i]->n_workers; k++)
      if (s->models[i]->workers[k]->state == W_STARTING) return 1;
  return 0;
}

int dsp_wait_started(srv *s, int64_t timeout_us) {
  int64_t end = ms_clock_monotonic_us() + timeout_us;
  while (any_starting(s)) {
    int64_t left = end - ms_clock_monotonic_us();
    if (left <= 0) return -1;
    struct pollfd pfd = {.fd = s->wfd, .events = POLLIN};
    int ms = (int)(left / 1000) + 1;
    if (poll(&pfd, 1, ms) > 0) dsp_events(s);
  }
  return 0;
}
