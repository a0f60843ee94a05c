/* mserve-server: worker threads (see workers.h). */
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void post(srv *s, srv_event *e) {
  pthread_mutex_lock(&s->evmu);
  e->next = NULL;
  if (s->ev_tail) s->ev_tail->next = e;
  else s->ev_head = e;
  s->ev_tail = e;
  pthread_mutex_unlock(&s->evmu);
  uint64_t one = 1;
  /* the counter cannot overflow before the loop reads it; EAGAIN would only
   * mean it is readable already */
  ssize_t n = write(s->wfd, &one, sizeof one);
  (void)n;
}

/* An event that must not be lost: a worker that cannot allocate one waits. */
static srv_event *event_new(srv_event_kind kind, srv_worker *w) {
  srv_event *e;
  while (!(e = calloc(1, sizeof *e))) usleep(1000);
  e->kind = kind;
  e->w = w;
  return e;
}

srv_event *worker_events_take(srv *s) {
  uint64_t v;
  ssize_t n = read(s->wfd, &v, sizeof v);
  (void)n;
  pthread_mutex_lock(&s->evmu);
  srv_event *e = s->ev_head;
  s->ev_head = s->ev_tail = NULL;
  pthread_mutex_unlock(&s->evmu);
  return e;
}

/* Run one batch: gather the requests' rows, run, scatter the outputs. */
static int run_batch(srv_worker *w, ms_executor *ex, ms_batch *x, int64_t cap, float **in, float **out,
                     int64_t *cap_rows, int64_t in_dim, int64_t out_dim, char *msg, size_t msglen) {
  int64_t rows = ms_batch_items(x);
  if (rows > *cap_rows) {
    int64_t grow = rows;
    float *ni = realloc(*in, sizeof(float) * (size_t)(grow * in_dim));
    if (ni) *in = ni;
    float *no = ni ? realloc(*out, sizeof(float) * (size_t)(grow * out_dim)) : NULL;
    if (no) *out = no;
    if (!ni || !no) {
      snprintf(msg, msglen, "mserve-server: worker %lld: out of memory for a batch of %lld rows", (long long)w->id,
               (long long)rows);
      return MS_ENOMEM;
    }
    *cap_rows = grow;
  }
  /* the model's batch_size may have changed since the last run (PUT
   * /models?batch_size=): the executor follows it, here on its own thread */
  int64_t max = 0, want = rows > cap ? rows : cap;
  ms_executor_get_max_batch(ex, &max);
  if (max != want) {
    int st = ms_executor_set_max_batch(ex, want);
    if (st) {
      snprintf(msg, msglen, "%s", ms_errmsg());
      return st;
    }
  }
  size_t n = ms_batch_count(x);
  int64_t at = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 0;
    ms_batch_get(x, i, &id, NULL, NULL);
    srv_req *r = (srv_req *)(uintptr_t)id;
    memcpy(*in + at * in_dim, r->in, sizeof(float) * (size_t)(r->rows * in_dim));
    at += r->rows;
  }
  int st = ms_executor_run(ex, *in, rows, *out);
  if (st) {
    snprintf(msg, msglen, "%s", ms_errmsg());
    return st;
  }
  at = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 0;
    ms_batch_get(x, i, &id, NULL, NULL);
    srv_req *r = (srv_req *)(uintptr_t)id;
    memcpy(r->out, *out + at * out_dim, sizeof(float) * (size_t)(r->rows * out_dim));
    at += r->rows;
  }
  return MS_OK;
}

static void *worker_main(void *arg) {
  srv_worker *w = arg;
  srv *s = w->s;
  ms_executor *ex = NULL;
  int st = ms_executor_open(w->dir, w->device, &ex);
  if (st == MS_OK) st = ms_executor_set_max_batch(ex, w->max_batch);
  if (st == MS_OK && w->blas_threads > 0) st = ms_executor_set_threads(ex, w->blas_threads);
  if (st) {
    srv_event *e = event_new(EV_FAILED, w);
    e->status = st;
    snprintf(e->msg, sizeof e->msg, "%s", ms_errmsg());
    ms_executor_close(ex);
    post(s, e);
    return NULL;
  }
  int64_t in_dim = 0, out_dim = 0, cap_rows = 0;
  ms_executor_dims(ex, &in_dim, &out_dim);
  float *in = NULL, *out = NULL;
  srv_event *ready = event_new(EV_READY, w);
  snprintf(ready->msg, sizeof ready->msg, "%s", ms_executor_device(ex));
  post(s, ready);
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->job && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
    ms_batch *x = w->job;
    int64_t cap = w->job_cap;
    w->job = NULL;
    pthread_mutex_unlock(&w->mu);
    if (!x) break; /* quit, nothing left to run */
    srv_event *e = event_new(EV_DONE, w);
    e->batch = x;
    e->status = run_batch(w, ex, x, cap, &in, &out, &cap_rows, in_dim, out_dim, e->msg, sizeof e->msg);
    post(s, e);
  }
  free(in);
  free(out);
  ms_executor_close(ex);
  post(s, event_new(EV_EXITED, w));
  return NULL;
}

srv_worker *worker_start(srv *s, srv_model *m) {
  srv_worker *w = calloc(1, sizeof *w);
  if (!w) {
    srv_log(MS_LOG_ERROR, "model '%s' version '%s': out of memory starting a worker", m->name, m->version);
    return NULL;
  }
  w->s = s;
  w->m = m;
  w->id = m->next_worker_id++;
  snprintf(w->dir, sizeof w->dir, "%s", m->dir);
  snprintf(w->device, sizeof w->device, "%s", m->device);
  w->blas_threads = s->o.blas_threads;
  w->max_batch = m->batch_size;
  w->state = W_STARTING;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->th, NULL, worker_main, w)) {
    srv_log(MS_LOG_ERROR, "model '%s' version '%s': cannot start a worker thread", m->name, m->version);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return NULL;
  }
  return w;
}

void worker_give(srv_worker *w, ms_batch *x, int64_t now_us) {
  w->state = W_BUSY;
  w->given_us = now_us;
  pthread_mutex_lock(&w->mu);
  w->job = x;
  w->job_cap = w->m->batch_size;
  pthread_mutex_unlock(&w->mu);
  /* signalled after the unlock: the woken worker does not block on the
   * mutex the loop still holds (its wait re-checks the slot anyway) */
  pthread_cond_signal(&w->cv);
}

void worker_stop(srv_worker *w) {
  w->retiring = 1;
  pthread_mutex_lock(&w->mu);
  w->quit = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void worker_free(srv_worker *w) {
  if (!w) return;
  pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}
