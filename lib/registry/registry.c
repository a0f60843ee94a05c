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

#define GLOBAL_CONFIG_MAX ((size_t)16 << 20)

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
    "SELECT id, overrides FROM registry_models WHERE name = ?1 AND (version = ?2 OR (?2 IS NULL AND is_default = 1))";
static const char SQL_SET_OV[] = "UPDATE registry_models SET overrides = ?2 WHERE id = ?1";

static const char *col(sqlite3_stmt *q, int i) {
  const char *s = (const char *)sqlite3_column_text(q, i);
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

/* Build a snapshot from a row of one of the SQL_COLS_* queries. */
static int row_to_model(ms_registry *r, sqlite3_stmt *q, ms_model **out) {
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
                       sqlite3_column_int(q, 4), sqlite3_column_int(q, 2), sqlite3_column_int(q, 8),
                       &archive, &api};
  st = ms__registry_model_build(&row, r->global, out);
  ms__registry_settings_free(&archive);
  ms__registry_settings_free(&api);
  return st;
}

/* Read and parse a global config file (*out NULL without a path). */
static int load_global(const char *path, ms__global_config **out) {
  *out = NULL;
  if (!path) return MS_OK;
  char *buf = NULL;
  size_t len = 0;
  /* A missing file is MS_ENOTFOUND, an unreadable one MS_EIO (as the header says). */
  int st = ms__fs_read_all(path, GLOBAL_CONFIG_MAX, "global config", &buf, &len);
  if (st) return st;
  st = ms__registry_global_parse(buf, len, path, out);
  free(buf);
  return st;
}

/* ---- open / close -------------------------------------------------------- */

static int registry_open(ms_store *store, const char *global_config_path, ms_registry **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "NULL store or out");
  ms__global_config *g = NULL;
  int st = load_global(global_config_path, &g);
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
  const ms__settings *api = ov ? &ov->set : &none;
  char *api_json = ms__registry_settings_to_json(api);
  int is_default = 0;
  ms_model *snap = NULL;
  if (!api_json) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", abs);
  if (!st && !(st = ms__store_begin(r->store))) {
    st = ms__registry_insert(r, abs, &meta, &id, api_json, &is_default);
    /* The snapshot is built before the commit, so failing to build it
     * (MS_ENOMEM) rolls the registration back: a failure never reports a
     * registration that happened. */
    if (!st && out) {
      ms__model_row row = {meta.manifest.name, meta.manifest.version, meta.manifest.runtime, meta.manifest.handler,
                           abs, meta.hash, meta.format, is_default, 0, &meta.config, api};
      st = ms__registry_model_build(&row, r->global, &snap);
    }
    st = st ? (ms__store_rollback(r->store), st) : ms__store_commit(r->store);
  }
  if (st) ms_model_free(snap);
  else if (out) *out = snap;
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
  int st = load_global(global_config_path, &g);
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

/* 1 + the default flag of name/version in *is_default, 0 when it is not
 * registered, or a negative store error (-status). */
static int lookup_default(ms_store *s, const char *name, const char *version, int *is_default, int *st) {
  sqlite3_stmt *q = ms__store_stmt(s, SQL_IS_DEFAULT, st);
  if (!q) return -1;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) *is_default = sqlite3_column_int(q, 0);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  *st = ms__store_error(s, rc, "looking up a model");
  return -1;
}

static int unregister(ms_registry *r, const char *name, const char *version) {
  if (!r || !name) return ms__fail(MS_EINVAL, "NULL registry or name");
  char what[400];
  model_what(name, version, what, sizeof what);
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  sqlite3_stmt *q;
  if (!version) {
    if (!(q = ms__store_stmt(s, SQL_DELETE_ALL, &st))) goto fail;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
      st = ms__store_error(s, rc, "removing a model");
      goto fail;
    }
    if (sqlite3_changes(s->db) == 0) {
      st = ms__fail(MS_ENOTFOUND, "%s: not registered", what);
      goto fail;
    }
    return ms__store_commit(s);
  }
  int is_default = 0, found = lookup_default(s, name, version, &is_default, &st);
  if (found < 0) goto fail;
  if (!found) {
    st = ms__fail(MS_ENOTFOUND, "%s: not registered", what);
    goto fail;
  }
  if (is_default) {
    int64_t n = 0;
    if ((st = ms__registry_count_versions(r, name, &n))) goto fail;
    if (n > 1) {
      st = ms__fail(MS_ECONFLICT, "%s is the default and %lld other version(s) remain; set another default first",
                    what, (long long)(n - 1));
      goto fail;
    }
  }
  if (!(q = ms__store_stmt(s, SQL_DELETE_ONE, &st))) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    st = ms__store_error(s, rc, "removing a version");
    goto fail;
  }
  return ms__store_commit(s);
fail:
  ms__store_rollback(s);
  return st;
}

int ms_registry_unregister(ms_registry *r, const char *name, const char *version) {
  int st = unregister(r, name, version);
  if (st) ms__errmsg_prefix("registry: ms_registry_unregister");
  return st;
}

static int set_default(ms_registry *r, const char *name, const char *version) {
  if (!r || !name || !version) return ms__fail(MS_EINVAL, "NULL registry, name or version");
  char what[400];
  model_what(name, version, what, sizeof what);
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  int is_default = 0, found = lookup_default(s, name, version, &is_default, &st);
  if (found < 0) goto fail;
  if (!found) {
    st = ms__fail(MS_ENOTFOUND, "%s: not registered", what);
    goto fail;
  }
  if ((st = ms__registry_clear_default(r, name))) goto fail;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_SET_DEFAULT, &st);
  if (!q) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    st = ms__store_error(s, rc, "setting the default version");
    goto fail;
  }
  return ms__store_commit(s);
fail:
  ms__store_rollback(s);
  return st;
}

int ms_registry_set_default(ms_registry *r, const char *name, const char *version) {
  int st = set_default(r, name, version);
  if (st) ms__errmsg_prefix("registry: ms_registry_set_default");
  return st;
}

/* ---- overrides ----------------------------------------------------------- */

static int update(ms_registry *r, const char *name, const char *version, const ms_overrides *ov) {
  if (!r || !name || !ov) return ms__fail(MS_EINVAL, "NULL registry, name or overrides");
  char what[400];
  model_what(name, version, what, sizeof what);
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  ms__settings cur;
  ms__registry_settings_init(&cur);
  char *json = NULL;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_GET_OV, &st);
  if (!q) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  if (version) sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 2);
  rc = sqlite3_step(q);
  int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  if (rc == SQLITE_ROW) st = ms__registry_settings_from_json(col(q, 1), what, &cur);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc == SQLITE_DONE) {
    st = ms__fail(MS_ENOTFOUND, "%s: not registered", what);
    goto fail;
  }
  if (rc != SQLITE_ROW) {
    st = ms__store_error(s, rc, "looking up a model");
    goto fail;
  }
  if (st) goto fail;
  for (int k = 0; k < MS__K_COUNT; k++)
    if (ov->clear & (1u << k)) {
      cur.set &= ~(1u << k);
      if (ms__registry_key_is_str(k)) {
        free(cur.device);
        cur.device = NULL;
      }
    }
  if ((st = ms__registry_settings_merge(&cur, &ov->set))) goto fail;
  if (!(json = ms__registry_settings_to_json(&cur))) {
    st = MS_ENOMEM;
    goto fail;
  }
  if (!(q = ms__store_stmt(s, SQL_SET_OV, &st))) goto fail;
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, json, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    st = ms__store_error(s, rc, "writing overrides");
    goto fail;
  }
  free(json);
  ms__registry_settings_free(&cur);
  return ms__store_commit(s);
fail:
  free(json);
  ms__registry_settings_free(&cur);
  ms__store_rollback(s);
  return st;
}

int ms_registry_update(ms_registry *r, const char *name, const char *version, const ms_overrides *ov) {
  int st = update(r, name, version, ov);
  if (st) ms__errmsg_prefix("registry: ms_registry_update");
  return st;
}

/* ---- lookups ------------------------------------------------------------- */

static int get(ms_registry *r, const char *name, const char *version, ms_model **out) {
  if (!r || !name || !out) return ms__fail(MS_EINVAL, "NULL registry, name or out");
  ms_store *s = r->store;
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, version ? SQL_COLS_BY_NAME_VERSION : SQL_COLS_DEFAULT, &st);
  if (q) {
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (version) sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      st = row_to_model(r, q, out);
    } else if (rc == SQLITE_DONE) {
      char what[400];
      st = ms__fail(MS_ENOTFOUND, "%s: not registered", model_what(name, version, what, sizeof what));
    } else {
      st = ms__store_error(s, rc, "reading a model");
    }
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
  return st;
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
  int st = ms__store_lock(s);
  if (st) {
    free(l);
    return st;
  }
  size_t cap = 0;
  sqlite3_stmt *q = ms__store_stmt(s, name ? SQL_COLS_NAME : SQL_COLS_ALL, &st);
  if (q) {
    if (name) sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = SQLITE_DONE;
    while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
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
    if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "listing models");
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
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
