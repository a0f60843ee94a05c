/* The registry's calls: opening, registering, versions, overrides and
 * lookups. Every write is one store transaction; reads take the store lock
 * for one query. Each public call is a thin wrapper that names itself in
 * the message of a failure ("registry: ms_registry_get: model 'x' version
 * '1.0': not registered"); the static bodies name the object and cause. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/archive.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "registry/global_config.h"
#include "registry/handle.h"
#include "registry/model.h"
#include "registry/overrides.h"
#include "registry/rows.h"
#include "store/store_internal.h"

static const char SQL_COLS_BY_NAME_VERSION[] =
    "SELECT name, version, is_default, archive_path, format, runtime, handler, content_hash, missing,"
    " archive_settings, overrides FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_COLS_DEFAULT[] =
    "SELECT name, version, is_default, archive_path, format, runtime, handler, content_hash, missing,"
    " archive_settings, overrides FROM registry_models WHERE name = ?1 AND is_default = 1";
static const char SQL_COLS_ALL[] =
    "SELECT name, version, is_default, archive_path, format, runtime, handler, content_hash, missing,"
    " archive_settings, overrides FROM registry_models ORDER BY name, id";
static const char SQL_COLS_NAME[] =
    "SELECT name, version, is_default, archive_path, format, runtime, handler, content_hash, missing,"
    " archive_settings, overrides FROM registry_models WHERE name = ?1 ORDER BY id";
static const char SQL_DELETE_ALL[] = "DELETE FROM registry_models WHERE name = ?1";
static const char SQL_DELETE_ONE[] = "DELETE FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_IS_DEFAULT[] = "SELECT is_default FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_SET_DEFAULT[] = "UPDATE registry_models SET is_default = 1 WHERE name = ?1 AND version = ?2";
static const char SQL_GET_OV[] =
    "SELECT id, overrides, archive_settings, name, version FROM registry_models"
    " WHERE name = ?1 AND (version = ?2 OR (CAST(?2 AS TEXT) IS NULL AND is_default = 1))";
static const char SQL_SET_OV[] = "UPDATE registry_models SET overrides = ?2 WHERE id = ?1";

static const char *col(ms_stmt *q, int i) {
  const char *s = ms__stmt_text(q, i);
  return s ? s : "";
}

/* "model 'x'" or "model 'x' version 'v'" (version NULL: the default), for
 * messages; names shown safely. */
static const char *model_what(const char *name, const char *version, char *buf, size_t cap) {
  char sn[160], sv[160];
  if (version)
    snprintf(buf, cap, "model '%s' version '%s'", ms__text_show(name, sn, sizeof sn),
             ms__text_show(version, sv, sizeof sv));
  else
    snprintf(buf, cap, "model '%s'", ms__text_show(name, sn, sizeof sn));
  return buf;
}

/* A failure whose message is the store's own ("store 'x.db': ...") gets the
 * call's object in front of it, as common/error.h asks. */
static int with_object(int st, const char *what) {
  if (st && strncmp(ms_errmsg(), "store '", 7) == 0) ms__errmsg_prefix("%s", what);
  return st;
}

/* Build a snapshot from a row of one of the SQL_COLS_* queries. */
static int row_to_model(ms_registry *r, ms_stmt *q, ms_model **out) {
  ms__settings archive, api;
  char what[400];
  model_what(col(q, 0), col(q, 1), what, sizeof what);
  int st = ms__registry_settings_from_json(col(q, 9), what, &archive);
  if (st) return st;
  if ((st = ms__registry_settings_from_json(col(q, 10), what, &api))) {
    ms__registry_settings_free(&archive);
    return st;
  }
  ms__model_row row = {col(q, 0), col(q, 1), col(q, 5), col(q, 6), col(q, 3), col(q, 7),
                       ms__stmt_int(q, 4), ms__stmt_int(q, 2), ms__stmt_int(q, 8),
                       &archive, &api};
  st = ms__registry_model_build(&row, r->global, out);
  ms__registry_settings_free(&archive);
  ms__registry_settings_free(&api);
  return st;
}

/* ---- open / close -------------------------------------------------------- */

static int registry_open(ms_store *store, const char *global_config_path, ms_registry **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "NULL store or out");
  ms__global_config *g = NULL;
  int st = ms__registry_global_load(global_config_path, &g);
  if (st) return st;
  ms_registry *r = calloc(1, sizeof *r);
  if (!r) {
    ms__registry_global_free(g);
    return ms__fail(MS_ENOMEM, "out of memory");
  }
  r->store = store;
  r->global = g;
  atomic_init(&r->max_entries, MS_REGISTRY_DEFAULT_MAX_ENTRIES);
  atomic_init(&r->max_bytes, MS_REGISTRY_DEFAULT_MAX_BYTES);
  atomic_init(&r->max_ratio, MS_REGISTRY_DEFAULT_MAX_RATIO);
  *out = r;
  return MS_OK;
}

int ms_registry_open(ms_store *store, const char *global_config_path, ms_registry **out) {
  int st = registry_open(store, global_config_path, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_open");
  return st;
}

void ms_registry_close(ms_registry *r) {
  if (!r) return;
  ms__registry_global_free(r->global);
  free(r);
}

int ms_registry_set_limits(ms_registry *r, int64_t max_entries, int64_t max_total_bytes, int64_t max_ratio) {
  if (!r) return ms__fail(MS_EINVAL, "registry: ms_registry_set_limits: NULL registry");
  if (max_entries < 1 || max_total_bytes < 1 || max_ratio < 1)
    return ms__fail(MS_EINVAL,
                    "registry: ms_registry_set_limits: limits must be >= 1 (entries %lld, bytes %lld, ratio %lld)",
                    (long long)max_entries, (long long)max_total_bytes, (long long)max_ratio);
  atomic_store(&r->max_entries, max_entries);
  atomic_store(&r->max_bytes, max_total_bytes);
  atomic_store(&r->max_ratio, max_ratio);
  return MS_OK;
}

/* ---- registering --------------------------------------------------------- */

/* Resolve, stat and read an archive given by the caller (lim may be NULL). */
static int load_archive(const char *archive_path, const ms__read_limits *lim, char **abs_out, ms__archive_meta *meta,
                        ms__stat *id) {
  char *abs = realpath(archive_path, NULL);
  if (!abs)
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
  struct stat sb;
  int st = MS_OK;
  if (stat(abs, &sb) != 0) st = ms__fail(MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
  int fmt = st ? -1 : ms__registry_archive_format_of(abs, S_ISDIR(sb.st_mode));
  if (!st && fmt < 0) st = MS_EUNSUPPORTED;
  if (!st) st = ms__registry_archive_stat(abs, fmt, id);
  if (!st) st = ms__registry_archive_read_path_limited(abs, fmt, lim, meta);
  if (st) {
    free(abs);
    return st;
  }
  *abs_out = abs;
  return MS_OK;
}

/* min_workers > max_workers after resolution. ms_registry_update refuses it
 * when the API level sets one of them (the caller asked for it, as
 * TorchServe's management API refuses it): warn NULL. Everywhere else
 * (files and defaults, or the overrides given at registration) it is
 * reported, as TorchServe warns and loads the model: *warn gets the text. */
static int check_workers(const ms_model *m, const char *what, char *warn, size_t cap) {
  char why[200];
  if (warn) warn[0] = '\0';
  if (!ms__registry_model_workers_problem(m, why, sizeof why)) return MS_OK;
  if (!warn && (m->src[MS__K_MIN_WORKERS] == MS_SRC_API || m->src[MS__K_MAX_WORKERS] == MS_SRC_API))
    return ms__fail(MS_EINVAL, "%s: %s", what, why);
  if (warn) snprintf(warn, cap, "%s", why);
  return MS_OK;
}

/* One registration, as one atomic write (ms__store_write: may run on another
 * writer's thread; touches only what it is given). The snapshot is built
 * inside it, so failing to build it (MS_ENOMEM) undoes the registration. */
typedef struct reg_op {
  ms_registry *r;
  const char *abs, *api_json;
  const ms__archive_meta *meta;
  const ms__stat *id;
  const ms__settings *api;
  ms_model *snap;
  char warn[200];
} reg_op;

static int reg_fn(ms_store *s, void *arg) {
  (void)s;
  reg_op *o = arg;
  int is_default = 0;
  int st = ms__registry_insert(o->r, o->abs, o->meta, o->id, o->api_json, &is_default);
  if (st) return st;
  const ms__archive_meta *meta = o->meta;
  ms__model_row row = {meta->manifest.name, meta->manifest.version, meta->manifest.runtime, meta->manifest.handler,
                       o->abs, meta->hash, meta->format, is_default, 0, &meta->config, o->api};
  if ((st = ms__registry_model_build(&row, o->r->global, &o->snap))) return st;
  char what[400];
  model_what(meta->manifest.name, meta->manifest.version, what, sizeof what);
  return check_workers(o->snap, what, o->warn, sizeof o->warn);
}

static int register_archive(ms_registry *r, const char *archive_path, const ms_overrides *ov, ms_model **out) {
  if (!r || !archive_path) return ms__fail(MS_EINVAL, "NULL registry or archive_path");
  char *abs = NULL;
  ms__archive_meta meta;
  ms__stat id;
  ms__read_limits lim = ms__registry_read_limits(r);
  int st = load_archive(archive_path, &lim, &abs, &meta, &id);
  if (st) return st;
  ms__settings none;
  ms__registry_settings_init(&none);
  reg_op o;
  memset(&o, 0, sizeof o);
  o.r = r;
  o.abs = abs;
  o.meta = &meta;
  o.id = &id;
  o.api = ov ? &ov->set : &none;
  char *api_json = ms__registry_settings_to_json(o.api);
  o.api_json = api_json;
  if (!api_json) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", abs);
  if (!st) {
    char what[4200];
    snprintf(what, sizeof what, "archive '%s'", abs);
    st = with_object(ms__store_write(r->store, reg_fn, &o), what);
  }
  if (!st && o.warn[0])
    ms__log(MS_LOG_WARN, "registry: ms_registry_register: archive '%s': %s (the settings are kept as resolved)", abs,
            o.warn);
  if (st) ms_model_free(o.snap);
  else if (out) *out = o.snap;
  else ms_model_free(o.snap);
  free(api_json);
  free(abs);
  ms__registry_archive_meta_free(&meta);
  return st;
}

int ms_registry_register(ms_registry *r, const char *archive_path, const ms_overrides *ov, ms_model **out) {
  int st = register_archive(r, archive_path, ov, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_register");
  return st;
}

static int inspect(const char *archive_path, const char *global_config_path, ms_model **out) {
  if (!archive_path || !out) return ms__fail(MS_EINVAL, "NULL archive_path or out");
  ms__global_config *g = NULL;
  int st = ms__registry_global_load(global_config_path, &g);
  if (st) return st;
  char *abs = NULL;
  ms__archive_meta meta;
  ms__stat id;
  if (!(st = load_archive(archive_path, NULL, &abs, &meta, &id))) {
    ms__model_row row = {meta.manifest.name, meta.manifest.version, meta.manifest.runtime, meta.manifest.handler,
                         abs, meta.hash, meta.format, 0, 0, &meta.config, NULL};
    st = ms__registry_model_build(&row, g, out);
    ms__registry_archive_meta_free(&meta);
    free(abs);
  }
  ms__registry_global_free(g);
  return st;
}

int ms_archive_inspect(const char *archive_path, const char *global_config_path, ms_model **out) {
  int st = inspect(archive_path, global_config_path, out);
  if (st) ms__errmsg_prefix("registry: ms_archive_inspect");
  return st;
}

/* ---- versions ------------------------------------------------------------ */

/* 1 with the default flag of name/version in *is_default, 0 when it is not
 * registered, -1 on a store error (*st set). */
static int lookup_default(ms_store *s, const char *name, const char *version, int *is_default, int *st) {
  int row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_IS_DEFAULT, st);
  if (!q) return -1;
  ms__stmt_bind_text(q, 1, name, -1);
  ms__stmt_bind_text(q, 2, version, -1);
  if ((*st = ms__stmt_row(s, q, "looking up a model", &row))) return -1;
  if (!row) return 0;
  *is_default = ms__stmt_int(q, 0);
  ms__stmt_reset(q);
  return 1;
}

typedef struct name_op {
  ms_registry *r;
  const char *name, *version, *what;
  const ms_overrides *ov;
} name_op;

static int unregister_fn(ms_store *s, void *arg) {
  name_op *o = arg;
  int st = MS_OK;
  if (o->version) {
    int is_default = 0, found = lookup_default(s, o->name, o->version, &is_default, &st);
    if (found < 0) return st;
    if (!found) return ms__fail(MS_ENOTFOUND, "%s: not registered", o->what);
    if (is_default) {
      int64_t n = 0;
      if ((st = ms__registry_count_versions(o->r, o->name, &n))) return st;
      if (n > 1)
        return ms__fail(MS_ECONFLICT, "%s is the default and %lld other version(s) remain; set another default first",
                        o->what, (long long)(n - 1));
    }
  }
  /* A scan must not bring the archives back while they stay as they are. */
  if ((st = ms__registry_mark_removed(o->r, o->name, o->version))) return st;
  ms_stmt *q = ms__store_prepare(s, o->version ? SQL_DELETE_ONE : SQL_DELETE_ALL, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, o->name, -1);
  if (o->version) ms__stmt_bind_text(q, 2, o->version, -1);
  if ((st = ms__stmt_done(s, q, o->version ? "removing a version" : "removing a model"))) return st;
  if (ms__store_changes(s) == 0) return ms__fail(MS_ENOTFOUND, "%s: not registered", o->what);
  return MS_OK;
}

static int unregister(ms_registry *r, const char *name, const char *version) {
  if (!r || !name) return ms__fail(MS_EINVAL, "NULL registry or name");
  char what[400];
  name_op o = {r, name, version, model_what(name, version, what, sizeof what), NULL};
  return with_object(ms__store_write(r->store, unregister_fn, &o), what);
}

int ms_registry_unregister(ms_registry *r, const char *name, const char *version) {
  int st = unregister(r, name, version);
  if (st) ms__errmsg_prefix("registry: ms_registry_unregister");
  return st;
}

static int set_default_fn(ms_store *s, void *arg) {
  name_op *o = arg;
  int st = MS_OK, is_default = 0, found = lookup_default(s, o->name, o->version, &is_default, &st);
  if (found < 0) return st;
  if (!found) return ms__fail(MS_ENOTFOUND, "%s: not registered", o->what);
  if ((st = ms__registry_clear_default(o->r, o->name))) return st;
  ms_stmt *q = ms__store_prepare(s, SQL_SET_DEFAULT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, o->name, -1);
  ms__stmt_bind_text(q, 2, o->version, -1);
  return ms__stmt_done(s, q, "setting the default version");
}

static int set_default(ms_registry *r, const char *name, const char *version) {
  if (!r || !name || !version) return ms__fail(MS_EINVAL, "NULL registry, name or version");
  char what[400];
  name_op o = {r, name, version, model_what(name, version, what, sizeof what), NULL};
  return with_object(ms__store_write(r->store, set_default_fn, &o), what);
}

int ms_registry_set_default(ms_registry *r, const char *name, const char *version) {
  int st = set_default(r, name, version);
  if (st) ms__errmsg_prefix("registry: ms_registry_set_default");
  return st;
}

/* ---- overrides ----------------------------------------------------------- */

static int update_fn(ms_store *s, void *arg) {
  name_op *o = arg;
  const ms_overrides *ov = o->ov;
  ms__settings cur, archive;
  ms__registry_settings_init(&cur);
  ms__registry_settings_init(&archive);
  char *json = NULL;
  ms_model *m = NULL;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_GET_OV, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, o->name, -1);
  if (o->version) ms__stmt_bind_text(q, 2, o->version, -1);
  else ms__stmt_bind_null(q, 2);
  if ((st = ms__stmt_row(s, q, "looking up a model", &row))) return st;
  if (!row) return ms__fail(MS_ENOTFOUND, "%s: not registered", o->what);
  int64_t id = ms__stmt_int64(q, 0);
  char *version = ms__strdup(col(q, 4));
  st = ms__registry_settings_from_json(col(q, 1), o->what, &cur);
  if (!st) st = ms__registry_settings_from_json(col(q, 2), o->what, &archive);
  ms__stmt_reset(q);
  if (!st && !version) st = ms__fail(MS_ENOMEM, "%s: out of memory", o->what);
  if (st) goto done;
  for (int k = 0; k < MS__K_COUNT; k++)
    if (ov->clear & (1u << k)) {
      cur.set &= ~(1u << k);
      if (ms__registry_key_is_str(k)) {
        free(cur.device);
        cur.device = NULL;
      }
    }
  if ((st = ms__registry_settings_merge(&cur, &ov->set))) goto done;
  /* The settings as they would resolve: refused when the API level makes
   * min_workers exceed max_workers. */
  ms__model_row mrow = {o->name, version, "", "", "", "", 0, 0, 0, &archive, &cur};
  if ((st = ms__registry_model_build(&mrow, o->r->global, &m))) goto done;
  if ((st = check_workers(m, o->what, NULL, 0))) goto done;
  if (!(json = ms__registry_settings_to_json(&cur))) {
    st = ms__fail(MS_ENOMEM, "%s: out of memory", o->what);
    goto done;
  }
  if (!(q = ms__store_prepare(s, SQL_SET_OV, &st))) goto done;
  ms__stmt_bind_int64(q, 1, id);
  ms__stmt_bind_text(q, 2, json, -1);
  st = ms__stmt_done(s, q, "writing overrides");
done:
  free(json);
  free(version);
  ms_model_free(m);
  ms__registry_settings_free(&cur);
  ms__registry_settings_free(&archive);
  return st;
}

static int update(ms_registry *r, const char *name, const char *version, const ms_overrides *ov) {
  if (!r || !name || !ov) return ms__fail(MS_EINVAL, "NULL registry, name or overrides");
  char what[400];
  name_op o = {r, name, version, model_what(name, version, what, sizeof what), ov};
  return with_object(ms__store_write(r->store, update_fn, &o), what);
}

int ms_registry_update(ms_registry *r, const char *name, const char *version, const ms_overrides *ov) {
  int st = update(r, name, version, ov);
  if (st) ms__errmsg_prefix("registry: ms_registry_update");
  return st;
}

/* ---- lookups ------------------------------------------------------------- */

static int get(ms_registry *r, const char *name, const char *version, ms_model **out) {
  if (!r || !name || !out) return ms__fail(MS_EINVAL, "NULL registry, name or out");
  char what[400];
  model_what(name, version, what, sizeof what);
  ms_store *s = r->store;
  int st = ms__store_read_begin(s), row = 0;
  if (st) return st;
  ms_stmt *q = ms__store_prepare(s, version ? SQL_COLS_BY_NAME_VERSION : SQL_COLS_DEFAULT, &st);
  if (q) {
    ms__stmt_bind_text(q, 1, name, -1);
    if (version) ms__stmt_bind_text(q, 2, version, -1);
    if (!(st = ms__stmt_row(s, q, "reading a model", &row))) {
      if (row) {
        st = row_to_model(r, q, out);
        ms__stmt_reset(q);
      } else {
        st = ms__fail(MS_ENOTFOUND, "%s: not registered", what);
      }
    }
  }
  ms__store_read_end(s);
  return with_object(st, what);
}

int ms_registry_get(ms_registry *r, const char *name, const char *version, ms_model **out) {
  int st = get(r, name, version, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_get");
  return st;
}

static int list(ms_registry *r, const char *name, ms_model_list **out) {
  if (!r || !out) return ms__fail(MS_EINVAL, "NULL registry or out");
  ms_model_list *l = calloc(1, sizeof *l);
  if (!l) return ms__fail(MS_ENOMEM, "out of memory");
  ms_store *s = r->store;
  int st = ms__store_read_begin(s), row = 1;
  if (st) {
    free(l);
    return st;
  }
  size_t cap = 0;
  ms_stmt *q = ms__store_prepare(s, name ? SQL_COLS_NAME : SQL_COLS_ALL, &st);
  if (q) {
    if (name) ms__stmt_bind_text(q, 1, name, -1);
    while (!st && !(st = ms__stmt_row(s, q, "listing models", &row)) && row) {
      if (l->n == cap) {
        cap = cap ? cap * 2 : 16;
        ms_model **g = realloc(l->items, cap * sizeof *g);
        if (!g) {
          st = ms__fail(MS_ENOMEM, "out of memory");
          break;
        }
        l->items = g;
      }
      if (!(st = row_to_model(r, q, &l->items[l->n]))) l->n++;
    }
    ms__stmt_reset(q);
  }
  ms__store_read_end(s);
  if (st) {
    ms_model_list_free(l);
    return st;
  }
  *out = l;
  return MS_OK;
}

int ms_registry_list(ms_registry *r, const char *name, ms_model_list **out) {
  int st = list(r, name, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_list");
  return st;
}
