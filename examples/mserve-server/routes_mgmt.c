/* mserve-server: the management API (TorchServe's shape), on its own
 * address, loopback by default: TorchServe's management port open on
 * 0.0.0.0 was the ShellTorch entry point. Registering takes a file of the
 * model store only, never a URL or a path outside it. Every change is a
 * registry override (source "api") and persists in the store. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cli.h"
#include "../common/cli_num.h"
#include "../common/model_print.h"
#include "autoscale.h"
#include "dispatch.h"
#include "http.h"
#include "models.h"
#include "routes.h"
#include "workers.h"

static void answer_cjson(srv_conn *cc, int status, cJSON *o) {
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text) {
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  size_t l = strlen(text);
  char *body = malloc(l + 2);
  if (!body) {
    cJSON_free(text);
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  memcpy(body, text, l);
  body[l] = '\n';
  body[l + 1] = '\0';
  cJSON_free(text);
  http_answer(cc, status, "application/json", body, l + 1);
}

static void answer_status(srv_conn *cc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void answer_status(srv_conn *cc, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  if (o) cli_json_str(o, "status", msg);
  answer_cjson(cc, 200, o);
}

/* A library failure as a TorchServe error. */
static void fail_status(srv_conn *cc, int st, const char *msg) {
  int http = st == MS_ENOTFOUND ? 404
             : st == MS_EEXIST || st == MS_ECONFLICT ? 409
             : st == MS_EINVAL || st == MS_ECORRUPT || st == MS_EUNSAFE || st == MS_EUNSUPPORTED ? 400
             : st == MS_ENOMEM ? 507
             : st == MS_EBUSY ? 503
             : 500;
  http_error_ts(cc, http, NULL, msg);
}

static const char *worker_state(const srv_worker *w) {
  if (w->retiring) return "STOPPING";
  return w->state == W_STARTING ? "STARTING" : w->state == W_BUSY ? "BUSY" : "READY";
}

static int64_t setting(const srv_model *m, const char *key) {
  int64_t v = 0;
  if (ms_model_get_int(m->snap, key, &v, NULL) != MS_OK) v = 0;
  return v;
}

static cJSON *describe(srv *s, const srv_model *m) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  const char *path = ms_model_archive_path(m->snap), *base = strrchr(path, '/');
  cli_json_str(o, "modelName", m->name);
  cli_json_str(o, "modelVersion", m->version);
  cli_json_str(o, "modelUrl", base ? base + 1 : path);
  cli_json_str(o, "runtime", ms_model_runtime(m->snap));
  cli_json_str(o, "handler", ms_model_handler(m->snap));
  cJSON_AddBoolToObject(o, "isDefault", ms_model_is_default(m->snap));
  cli_json_str(o, "device", m->device);
  cli_json_int(o, "inputDim", m->in_dim);
  cli_json_int(o, "outputDim", m->out_dim);
  cli_json_int(o, "minWorkers", m->min_workers);
  cli_json_int(o, "maxWorkers", m->max_workers);
  cli_json_int(o, "batchSize", m->batch_size);
  cJSON_AddNumberToObject(o, "maxBatchDelay", (double)setting(m, "max_batch_delay_us") / 1000.0);
  cJSON_AddNumberToObject(o, "responseTimeout", (double)setting(m, "request_timeout_us") / 1e6);
  cli_json_int(o, "maxQueueSize", setting(m, "max_queue_size"));
  cJSON *reg = model_to_json(m->snap);
  cJSON *set = reg ? cJSON_DetachItemFromObject(reg, "settings") : NULL;
  cJSON_Delete(reg);
  if (set) cJSON_AddItemToObject(o, "settings", set);
  cJSON *ws = cJSON_AddArrayToObject(o, "workers");
  for (size_t i = 0; ws && i < m->n_workers; i++) {
    const srv_worker *w = m->workers[i];
    cJSON *j = cJSON_CreateObject();
    if (!j) continue;
    cli_json_int(j, "id", w->id);
    cJSON_AddStringToObject(j, "status", worker_state(w));
    cli_json_str(j, "device", w->where[0] ? w->where : w->device);
    cJSON_AddItemToArray(ws, j);
  }
  int64_t q = 0, items = 0, oldest = 0;
  ms_batcher_stats(m->b, ms_clock_monotonic_us(), &q, &items, &oldest);
  cJSON *qj = cJSON_AddObjectToObject(o, "queue");
  if (qj) {
    cli_json_int(qj, "requests", q);
    cli_json_int(qj, "items", items);
    cJSON_AddNumberToObject(qj, "oldestWaitMs", (double)oldest / 1000.0);
    cli_json_int(qj, "inflight", m->inflight);
  }
  cJSON *aj = cJSON_AddObjectToObject(o, "autoscale");
  if (aj) {
    int64_t want = m->desired;
    ms_autoscaler_get_replicas(s->as, m->key, &want);
    cli_json_int(aj, "desired", want);
    if (m->decision[0]) {
      cli_json_str(aj, "lastDecision", m->decision);
      cli_json_int(aj, "decidedAtUs", m->decision_at_us);
    } else
      cJSON_AddNullToObject(aj, "lastDecision");
  }
  if (m->open_status != MS_OK) {
    cJSON *e = cJSON_AddObjectToObject(o, "lastError");
    if (e) {
      cJSON_AddStringToObject(e, "code", ms_status_name(m->open_status));
      cli_json_str(e, "message", m->open_err);
    }
  }
  return o;
}

/* A query parameter as a count in [lo, hi]; 0 when absent, 1 when set,
 * -1 when malformed (answered 400). */
static int query_int(srv_conn *cc, struct MHD_Connection *conn, const char *name, int64_t lo, int64_t hi,
                     int64_t *out) {
  const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
  if (!v) return 0;
  if (cli_num_parse_count(v, lo, hi, out) != CLI_NUM_OK) {
    char msg[300];
    snprintf(msg, sizeof msg, "mserve-server: parameter %s: '%.60s' is not an integer in %lld..%lld", name, v,
             (long long)lo, (long long)hi);
    http_error_ts(cc, 400, NULL, msg);
    return -1;
  }
  return 1;
}

/* Settings from the query into overrides (TorchServe's parameter names and
 * units). Returns the number set, or -1 (answered). */
static int query_overrides(srv_conn *cc, struct MHD_Connection *conn, ms_overrides *ov, int registering) {
  static const struct {
    const char *param, *key;
    int64_t lo, factor;
  } map[] = {{"batch_size", "batch_size", 1, 1},          {"max_batch_delay", "max_batch_delay_us", 0, 1000},
             {"response_timeout", "request_timeout_us", 0, 1000000}, {"max_queue_size", "max_queue_size", 1, 1},
             {"min_worker", "min_workers", 0, 1},         {"max_worker", "max_workers", 0, 1}};
  int n = 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    int64_t v = 0;
    int r = query_int(cc, conn, map[i].param, map[i].lo, (int64_t)1 << 40, &v);
    if (r < 0) return -1;
    if (r == 0) continue;
    if (ms_overrides_set_int(ov, map[i].key, v * map[i].factor) != MS_OK) {
      http_error_ts(cc, 400, NULL, ms_errmsg());
      return -1;
    }
    n++;
  }
  if (registering) {
    int64_t iw = 0;
    int r = query_int(cc, conn, "initial_workers", 0, 4096, &iw);
    if (r < 0) return -1;
    if (r) {
      ms_overrides_set_int(ov, "min_workers", iw);
      n++;
    }
  }
  return n;
}

/* The model store file `url` names, canonical, or -1 with a 400/404 answered. */
static int store_file(srv *s, srv_conn *cc, const char *url, char *path, size_t n) {
  char msg[600];
  const char *why = NULL;
  if (!url || !*url) why = "url= is missing";
  else if (strstr(url, "://")) why = "url= must name a file of the model store, not a URL (nothing is downloaded)";
  else if (strchr(url, '/') || strchr(url, '\\')) why = "url= must be a file name inside the model store, not a path";
  else if (url[0] == '.') why = "url= must not start with '.'";
  if (why) {
    snprintf(msg, sizeof msg, "mserve-server: register: %s", why);
    http_error_ts(cc, 400, NULL, msg);
    return -1;
  }
  char joined[PATH_MAX + 256];
  snprintf(joined, sizeof joined, "%s/%s", s->store_real, url);
  char real[PATH_MAX];
  if (!realpath(joined, real)) {
    snprintf(msg, sizeof msg, "mserve-server: register: '%.200s' is not in the model store (%s)", url,
             strerror(errno));
    http_error_ts(cc, 404, NULL, msg);
    return -1;
  }
  size_t sl = strlen(s->store_real);
  if (strncmp(real, s->store_real, sl) != 0 || real[sl] != '/' || strchr(real + sl + 1, '/')) {
    snprintf(msg, sizeof msg, "mserve-server: register: '%.200s' leads outside the model store (a link): refused",
             url);
    http_error_ts(cc, 400, NULL, msg);
    return -1;
  }
  snprintf(path, n, "%s", real);
  return 0;
}

static void do_register(srv *s, srv_conn *cc, struct MHD_Connection *conn) {
  const char *url = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "url");
  char path[PATH_MAX];
  if (store_file(s, cc, url, path, sizeof path)) return;
  /* checked before it is registered: a model that cannot be served leaves
   * the store as it was */
  char err[1024];
  int st = models_check(s, path, err, sizeof err);
  if (st) {
    fail_status(cc, st, err);
    return;
  }
  ms_overrides *ov = NULL;
  if (ms_overrides_new(&ov) != MS_OK) {
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  if (query_overrides(cc, conn, ov, 1) < 0) {
    ms_overrides_free(ov);
    return;
  }
  ms_model *snap = NULL;
  st = ms_registry_register(s->reg, path, ov, &snap);
  ms_overrides_free(ov);
  if (st) {
    fail_status(cc, st, ms_errmsg());
    return;
  }
  srv_model *m = NULL;
  st = models_add(s, snap, &m, err, sizeof err);
  if (st) {
    /* checked above; what fails here (memory, epoll) is taken back */
    ms_registry_unregister(s->reg, ms_model_name(snap), ms_model_version(snap));
    ms_model_free(snap);
    fail_status(cc, st, err);
    return;
  }
  ms_model_free(snap);
  answer_status(cc, "Model \"%s\" Version: %s registered with %lld initial workers", m->name, m->version,
                (long long)m->desired);
}

static void do_scale(srv *s, srv_conn *cc, struct MHD_Connection *conn, srv_model *m) {
  ms_overrides *ov = NULL;
  if (ms_overrides_new(&ov) != MS_OK) {
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    return;
  }
  int n = query_overrides(cc, conn, ov, 0);
  if (n <= 0) {
    if (n == 0)
      http_error_ts(cc, 400, NULL, "mserve-server: nothing to change (min_worker, max_worker, batch_size, "
                                   "max_batch_delay, response_timeout, max_queue_size)");
    ms_overrides_free(ov);
    return;
  }
  int st = ms_registry_update(s->reg, m->name, m->version, ov);
  ms_overrides_free(ov);
  if (st) {
    fail_status(cc, st, ms_errmsg());
    return;
  }
  st = models_reload(s, m);
  if (st) {
    fail_status(cc, st, ms_errmsg());
    return;
  }
  answer_status(cc, "Model \"%s\" Version: %s: %lld workers (min %lld, max %lld), batch_size %lld", m->name,
                m->version, (long long)m->desired, (long long)m->min_workers, (long long)m->max_workers,
                (long long)m->batch_size);
}

void route_management(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url) {
  char buf[1024];
  char *seg[6];
  int n = route_split(url, buf, sizeof buf, seg, 6);
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0, put = strcmp(method, "PUT") == 0,
      del = strcmp(method, "DELETE") == 0;
  if (n < 1 || strcmp(seg[0], "models") != 0) {
    http_error_ts(cc, 404, "ResourceNotFoundException", "mserve-server: the management API serves /models...");
    return;
  }
  if (n == 1 && get) {
    cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "models") : NULL;
    for (size_t i = 0; arr && i < s->n_models; i++) {
      srv_model *m = s->models[i];
      if (m->retired || !ms_model_is_default(m->snap)) continue;
      cJSON *j = cJSON_CreateObject();
      if (!j) continue;
      const char *path = ms_model_archive_path(m->snap), *base = strrchr(path, '/');
      cli_json_str(j, "modelName", m->name);
      cli_json_str(j, "modelUrl", base ? base + 1 : path);
      cJSON_AddItemToArray(arr, j);
    }
    answer_cjson(cc, 200, o);
    return;
  }
  if (n == 1 && post) {
    do_register(s, cc, conn);
    return;
  }
  if (n < 2 || n > 4) {
    http_error_ts(cc, 404, "ResourceNotFoundException", "mserve-server: no such path");
    return;
  }
  const char *name = seg[1];
  int all = n == 3 && strcmp(seg[2], "all") == 0;
  const char *version = n >= 3 && !all ? seg[2] : NULL;
  if (get && n <= 3) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < s->n_models; i++) {
      srv_model *m = s->models[i];
      if (m->retired || strcmp(m->name, name)) continue;
      if (!all && (version ? strcmp(m->version, version) != 0 : !ms_model_is_default(m->snap))) continue;
      cJSON *d = describe(s, m);
      if (d) cJSON_AddItemToArray(arr, d);
    }
    if (arr && cJSON_GetArraySize(arr) == 0) {
      cJSON_Delete(arr);
      char msg[300];
      snprintf(msg, sizeof msg, "mserve-server: model '%.100s'%s%.100s%s is not served", name,
               version ? " version '" : "", version ? version : "", version ? "'" : "");
      http_error_ts(cc, 404, NULL, msg);
      return;
    }
    answer_cjson(cc, 200, arr);
    return;
  }
  if (all) {
    http_error_ts(cc, 405, NULL, "mserve-server: /models/{m}/all is read-only");
    return;
  }
  if (put && n == 4 && strcmp(seg[3], "set-default") == 0) {
    int st = ms_registry_set_default(s->reg, name, version);
    if (st) {
      fail_status(cc, st, ms_errmsg());
      return;
    }
    models_reload_defaults(s, name);
    answer_status(cc, "Default version successfully updated for model \"%s\" to \"%s\"", name, version);
    return;
  }
  if (n == 4) {
    http_error_ts(cc, 404, "ResourceNotFoundException", "mserve-server: no such path");
    return;
  }
  srv_model *m = models_find(s, name, version);
  if (!m) {
    char msg[300];
    snprintf(msg, sizeof msg, "mserve-server: model '%.100s'%s%.100s%s is not served", name,
             version ? " version '" : "", version ? version : "", version ? "'" : "");
    http_error_ts(cc, 404, NULL, msg);
    return;
  }
  if (put) {
    do_scale(s, cc, conn, m);
    return;
  }
  if (del) {
    int st = ms_registry_unregister(s->reg, m->name, m->version);
    if (st) {
      fail_status(cc, st, ms_errmsg());
      return;
    }
    char nm[256], vr[80];
    snprintf(nm, sizeof nm, "%s", m->name);
    snprintf(vr, sizeof vr, "%s", m->version);
    scale_model_removed(s, m, 1);
    models_retire(s, m);
    answer_status(cc, "Model \"%s\" version %s unregistered", nm, vr);
    return;
  }
  http_error_ts(cc, 405, NULL, "mserve-server: method not allowed here");
}
