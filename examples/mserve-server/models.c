/* mserve-server: the model set (see models.h). */
#include "models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "autoscale.h"
#include "dispatch.h"
#include "workers.h"

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

static int64_t get_int(const ms_model *snap, const char *key, int64_t fallback) {
  int64_t v = fallback;
  if (ms_model_get_int(snap, key, &v, NULL) != MS_OK) v = fallback;
  return v;
}

/* The device a model's executors open on: its own setting when something
 * set it (archive, config, API), else --device. TorchServe's "gpu" is cuda. */
static void resolve_device(srv *s, const ms_model *snap, char *out, size_t n) {
  const char *v = NULL;
  ms_config_source src = MS_SRC_DEFAULT;
  if (ms_model_get_str(snap, "device", &v, &src) != MS_OK || src == MS_SRC_DEFAULT || !v) v = s->o.device;
  if (strcmp(v, "gpu") == 0) v = "cuda";
  snprintf(out, n, "%s", v);
}

int64_t models_live_workers(const srv_model *m) {
  int64_t n = 0;
  for (size_t i = 0; i < m->n_workers; i++)
    if (!m->workers[i]->retiring) n++;
  return n;
}

srv_model *models_find(srv *s, const char *name, const char *version) {
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    if (m->retired || strcmp(m->name, name)) continue;
    if (version ? strcmp(m->version, version) == 0 : ms_model_is_default(m->snap)) return m;
  }
  return NULL;
}

int models_known_name(srv *s, const char *name) {
  for (size_t i = 0; i < s->n_models; i++)
    if (!s->models[i]->retired && strcmp(s->models[i]->name, name) == 0) return 1;
  return 0;
}

static void model_free(srv_model *m) {
  if (!m) return;
  ms_batcher_free(m->b);
  ms_model_free(m->snap);
  free(m->workers);
  free(m->name);
  free(m->version);
  free(m->key);
  free(m);
}

static void read_settings(srv *s, srv_model *m) {
  m->batch_size = get_int(m->snap, "batch_size", 1);
  m->min_workers = get_int(m->snap, "min_workers", 1);
  m->max_workers = get_int(m->snap, "max_workers", 1);
  resolve_device(s, m->snap, m->device, sizeof m->device);
}

int models_check(srv *s, const char *archive_path, char *err, size_t errlen) {
  ms_model *snap = NULL;
  char dir[PATH_MAX];
  ms_executor *probe = NULL;
  int st = ms_archive_validate(archive_path, s->o.config, &snap);
  if (st == MS_OK) st = ms_registry_materialize(s->reg, snap, s->extract_dir, dir, sizeof dir);
  if (st == MS_OK) st = ms_executor_open(dir, "cpu", &probe);
  if (st) snprintf(err, errlen, "%s", ms_errmsg());
  ms_executor_close(probe);
  ms_model_free(snap);
  return st;
}

int models_add(srv *s, const ms_model *snap, srv_model **out, char *err, size_t errlen) {
  const char *name = ms_model_name(snap), *version = ms_model_version(snap);
  for (size_t i = 0; i < s->n_models; i++)
    if (!s->models[i]->retired && strcmp(s->models[i]->name, name) == 0 &&
        strcmp(s->models[i]->version, version) == 0) {
      snprintf(err, errlen, "model '%s' version '%s' is served already", name, version);
      return MS_EEXIST;
    }
  srv_model *m = calloc(1, sizeof *m);
  size_t kl = strlen(name) + strlen(version) + 2;
  if (m) {
    m->s = s;
    m->bfd = -1;
    m->name = dup(name);
    m->version = dup(version);
    m->key = malloc(kl);
  }
  if (!m || !m->name || !m->version || !m->key || ms_registry_get(s->reg, name, version, &m->snap) != MS_OK) {
    snprintf(err, errlen, "model '%s' version '%s': %s", name, version, m && !m->snap ? ms_errmsg() : "out of memory");
    model_free(m);
    return MS_ENOMEM;
  }
  snprintf(m->key, kl, "%s/%s", name, version);
  int st = ms_registry_materialize(s->reg, m->snap, s->extract_dir, m->dir, sizeof m->dir);
  ms_executor *probe = NULL;
  if (st == MS_OK) st = ms_executor_open(m->dir, "cpu", &probe);
  if (st == MS_OK) st = ms_executor_dims(probe, &m->in_dim, &m->out_dim);
  ms_executor_close(probe);
  if (st == MS_OK) st = ms_batcher_new(&m->b);
  if (st == MS_OK) st = ms_batcher_configure(m->b, m->snap);
  if (st == MS_OK) st = ms_batcher_fd(m->b, &m->bfd);
  if (st) {
    snprintf(err, errlen, "%s", ms_errmsg());
    model_free(m);
    return st;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = m};
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, m->bfd, &ev)) {
    snprintf(err, errlen, "model '%s' version '%s': epoll_ctl failed", name, version);
    model_free(m);
    return MS_EIO;
  }
  read_settings(s, m);
  if (s->n_models == s->cap_models) {
    size_t cap = s->cap_models ? s->cap_models * 2 : 8;
    srv_model **nm = realloc(s->models, cap * sizeof *nm);
    if (!nm) {
      epoll_ctl(s->ep, EPOLL_CTL_DEL, m->bfd, NULL);
      model_free(m);
      snprintf(err, errlen, "out of memory");
      return MS_ENOMEM;
    }
    s->models = nm;
    s->cap_models = cap;
  }
  s->models[s->n_models++] = m;
  int64_t desired = scale_model_added(s, m);
  models_scale(s, m, desired, "boot");
  srv_log(MS_LOG_INFO, "serving model '%s' version '%s' (%lld -> %lld floats per row, batch_size %lld, %lld workers "
          "on %s)%s", name, version, (long long)m->in_dim, (long long)m->out_dim, (long long)m->batch_size,
          (long long)m->desired, m->device, ms_model_is_default(m->snap) ? ", default version" : "");
  if (out) *out = m;
  return MS_OK;
}

void models_scale(srv *s, srv_model *m, int64_t n, const char *why) {
  if (m->retired) return;
  if (n > m->max_workers) n = m->max_workers;
  if (n < m->min_workers) n = m->min_workers; /* min above max (from files): min wins, as TorchServe loads it */
  if (n < 0) n = 0;
  int64_t live = models_live_workers(m);
  if (n != m->desired || n != live)
    srv_log(MS_LOG_INFO, "model '%s' version '%s': %lld -> %lld workers (%s)", m->name, m->version, (long long)live,
            (long long)n, why);
  m->desired = n;
  while (live < n) {
    if (m->n_workers == m->cap_workers) {
      size_t cap = m->cap_workers ? m->cap_workers * 2 : 4;
      srv_worker **nw = realloc(m->workers, cap * sizeof *nw);
      if (!nw) return;
      m->workers = nw;
      m->cap_workers = cap;
    }
    srv_worker *w = worker_start(s, m);
    if (!w) return;
    m->workers[m->n_workers++] = w;
    live++;
  }
  /* idle ones first, then the newest */
  for (int pass = 0; pass < 2 && live > n; pass++)
    for (size_t i = m->n_workers; i-- > 0 && live > n;) {
      srv_worker *w = m->workers[i];
      if (w->retiring || (pass == 0 && w->state != W_IDLE)) continue;
      worker_stop(w);
      live--;
    }
}

void models_worker_gone(srv *s, srv_model *m, srv_worker *w) {
  (void)s;
  for (size_t i = 0; i < m->n_workers; i++)
    if (m->workers[i] == w) {
      memmove(&m->workers[i], &m->workers[i + 1], (m->n_workers - i - 1) * sizeof *m->workers);
      m->n_workers--;
      break;
    }
  worker_free(w);
}

void models_retire(srv *s, srv_model *m) {
  if (m->retired) return;
  srv_log(MS_LOG_INFO, "model '%s' version '%s': unloading", m->name, m->version);
  m->retired = 1;
  ms_batcher_shutdown(m->b);
  for (size_t i = 0; i < m->n_workers; i++)
    if (!m->workers[i]->retiring) worker_stop(m->workers[i]);
  dsp_pump(s, m, ms_clock_monotonic_us());
}

void models_reap(srv *s) {
  for (size_t i = 0; i < s->n_models;) {
    srv_model *m = s->models[i];
    if (!m->retired || m->inflight > 0 || m->n_workers > 0) {
      i++;
      continue;
    }
    epoll_ctl(s->ep, EPOLL_CTL_DEL, m->bfd, NULL);
    memmove(&s->models[i], &s->models[i + 1], (s->n_models - i - 1) * sizeof *s->models);
    s->n_models--;
    model_free(m);
  }
}

int models_reload(srv *s, srv_model *m) {
  ms_model *snap = NULL;
  int st = ms_registry_get(s->reg, m->name, m->version, &snap);
  if (st) return st;
  st = ms_batcher_configure(m->b, snap);
  if (st) {
    ms_model_free(snap);
    return st;
  }
  ms_model_free(m->snap);
  m->snap = snap;
  read_settings(s, m);
  scale_model_changed(s, m);
  models_scale(s, m, m->desired, "settings changed");
  dsp_pump(s, m, ms_clock_monotonic_us());
  return MS_OK;
}

void models_reload_defaults(srv *s, const char *name) {
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    if (m->retired || strcmp(m->name, name)) continue;
    ms_model *snap = NULL;
    if (ms_registry_get(s->reg, m->name, m->version, &snap) == MS_OK) {
      ms_model_free(m->snap);
      m->snap = snap;
    }
  }
}

/* Log the scan's failures and conflicts: a bad archive is skipped, the rest serve. */
static void log_report(const ms_scan_report *rep) {
  size_t n = ms_scan_report_count(rep);
  for (size_t i = 0; i < n; i++) {
    const char *path = NULL, *msg = NULL;
    ms_scan_outcome o = MS_SCAN_ADDED;
    int st = 0;
    if (ms_scan_report_get(rep, i, &path, &o, &st, &msg) != MS_OK) continue;
    if (o == MS_SCAN_FAILED) srv_log(MS_LOG_WARN, "skipped '%s': %s: %s", path, ms_status_name(st), msg);
    else if (o == MS_SCAN_CONFLICT) srv_log(MS_LOG_WARN, "conflict '%s': %s", path, msg);
  }
}

/* Serve every registration that is not served yet; with `replace`, retire
 * served ones whose archive changed or that are gone. */
static void sync_with_registry(srv *s, int replace) {
  ms_model_list *l = NULL;
  if (ms_registry_list(s->reg, NULL, &l) != MS_OK) {
    srv_log(MS_LOG_ERROR, "cannot list the registry: %s", ms_errmsg());
    return;
  }
  size_t n = ms_model_list_count(l);
  if (replace) {
    for (size_t i = 0; i < s->n_models; i++) {
      srv_model *m = s->models[i];
      if (m->retired) continue;
      int keep = 0;
      for (size_t j = 0; j < n && !keep; j++) {
        const ms_model *r = NULL;
        if (ms_model_list_get(l, j, &r) != MS_OK) continue;
        keep = !ms_model_is_missing(r) && strcmp(ms_model_name(r), m->name) == 0 &&
               strcmp(ms_model_version(r), m->version) == 0 &&
               strcmp(ms_model_content_hash(r), ms_model_content_hash(m->snap)) == 0;
      }
      if (!keep) {
        scale_model_removed(s, m, 0);
        models_retire(s, m);
      }
    }
  }
  for (size_t j = 0; j < n; j++) {
    const ms_model *r = NULL;
    if (ms_model_list_get(l, j, &r) != MS_OK || ms_model_is_missing(r)) continue;
    if (models_find(s, ms_model_name(r), ms_model_version(r))) continue;
    char err[1024];
    int st = models_add(s, r, NULL, err, sizeof err);
    if (st) srv_log(MS_LOG_WARN, "skipped model '%s' version '%s' (%s): %s: %s", ms_model_name(r),
                    ms_model_version(r), ms_model_archive_path(r), ms_status_name(st), err);
  }
  ms_model_list_free(l);
}

int models_boot(srv *s, char *err, size_t errlen) {
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(s->reg, s->o.model_store, &rep);
  if (st) {
    snprintf(err, errlen, "%s", ms_errmsg());
    return st;
  }
  log_report(rep);
  ms_scan_report_free(rep);
  sync_with_registry(s, 0);
  return MS_OK;
}

void models_rescan(srv *s) {
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(s->reg, s->o.model_store, &rep);
  if (st) {
    srv_log(MS_LOG_ERROR, "SIGHUP: rescan failed: %s", ms_errmsg());
    return;
  }
  log_report(rep);
  ms_scan_report_free(rep);
  sync_with_registry(s, 1);
}

void models_free_all(srv *s) {
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    for (size_t k = 0; k < m->n_workers; k++) {
      worker_stop(m->workers[k]);
      worker_free(m->workers[k]);
    }
    m->n_workers = 0;
    model_free(m);
  }
  free(s->models);
  s->models = NULL;
  s->n_models = 0;
}
