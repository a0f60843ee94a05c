/* The registry: opening, registering, versions, overrides and lookups. Every
 * write is one store transaction; reads take the store lock for one query. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/text.h"
#include "registry_internal.h"
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
static const char SQL_FIND_PATH[] = "SELECT name, version FROM registry_models WHERE archive_path = ?1";
static const char SQL_COUNT_NAME[] = "SELECT count(*) FROM registry_models WHERE name = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO registry_models (name, version, is_default, archive_path, folder, format, runtime, handler,"
    " content_hash, size, mtime_ns, ino, dev, missing, archive_settings, overrides)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15)";
static const char SQL_PROMOTE[] =
    "UPDATE registry_models SET is_default = 1 WHERE id = (SELECT id FROM registry_models WHERE name = ?1"
    " ORDER BY id LIMIT 1) AND NOT EXISTS (SELECT 1 FROM registry_models WHERE name = ?1 AND is_default = 1)";
static const char SQL_DELETE_ALL[] = "DELETE FROM registry_models WHERE name = ?1";
static const char SQL_DELETE_ONE[] = "DELETE FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_IS_DEFAULT[] = "SELECT is_default FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_CLEAR_DEFAULT[] = "UPDATE registry_models SET is_default = 0 WHERE name = ?1 AND is_default = 1";
static const char SQL_SET_DEFAULT[] = "UPDATE registry_models SET is_default = 1 WHERE name = ?1 AND version = ?2";
static const char SQL_GET_OV[] =
    "SELECT id, overrides FROM registry_models WHERE name = ?1 AND (version = ?2 OR (?2 IS NULL AND is_default = 1))";
static const char SQL_SET_OV[] = "UPDATE registry_models SET overrides = ?2 WHERE id = ?1";

static const char *col(sqlite3_stmt *q, int i) {
  const char *s = (const char *)sqlite3_column_text(q, i);
  return s ? s : "";
}

/* Build a snapshot from a row of one of the SQL_COLS_* queries. */
static int row_to_model(ms_registry *r, sqlite3_stmt *q, ms_model **out) {
  ms__settings archive, api;
  char what[400];
  snprintf(what, sizeof what, "registry: model '%s' version '%s'", col(q, 0), col(q, 1));
  int st = ms__settings_from_json(col(q, 9), what, &archive);
  if (st) return st;
  if ((st = ms__settings_from_json(col(q, 10), what, &api))) {
    ms__settings_free(&archive);
    return st;
  }
  ms__model_row row = {col(q, 0), col(q, 1), col(q, 5), col(q, 6), col(q, 3), col(q, 7),
                       sqlite3_column_int(q, 4), sqlite3_column_int(q, 2), sqlite3_column_int(q, 8),
                       &archive, &api};
  st = ms__model_build(&row, r->global, out);
  ms__settings_free(&archive);
  ms__settings_free(&api);
  return st;
}

/* ---- open / close -------------------------------------------------------- */

int ms_registry_open(ms_store *store, const char *global_config_path, ms_registry **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms__global_config *g = NULL;
  if (global_config_path) {
    char *buf = NULL;
    size_t len = 0;
    /* A missing file is MS_ENOTFOUND, an unreadable one MS_EIO (as the header says). */
    int st = ms__file_read_all(global_config_path, GLOBAL_CONFIG_MAX, "global config", &buf, &len);
    if (!st) {
      st = ms__global_config_parse(buf, len, global_config_path, &g);
      free(buf);
    }
    if (st) {
      ms__errmsg_prefix("registry: ms_registry_open");
      return st;
    }
  }
  ms_registry *r = calloc(1, sizeof *r);
  if (!r) {
    ms__global_config_free(g);
    return ms__fail(MS_ENOMEM, "registry: out of memory");
  }
  r->store = store;
  r->global = g;
  atomic_init(&r->max_entries, MS_REGISTRY_DEFAULT_MAX_ENTRIES);
  atomic_init(&r->max_bytes, MS_REGISTRY_DEFAULT_MAX_BYTES);
  atomic_init(&r->max_ratio, MS_REGISTRY_DEFAULT_MAX_RATIO);
  *out = r;
  return MS_OK;
}

void ms_registry_close(ms_registry *r) {
  if (!r) return;
  ms__global_config_free(r->global);
  free(r);
}

int ms_registry_set_limits(ms_registry *r, int64_t max_entries, int64_t max_total_bytes, int64_t max_ratio) {
  if (!r) return ms__fail(MS_EINVAL, "registry: NULL argument");
  if (max_entries < 1 || max_total_bytes < 1 || max_ratio < 1)
    return ms__fail(MS_EINVAL, "registry: limits must be >= 1 (entries %lld, bytes %lld, ratio %lld)",
                    (long long)max_entries, (long long)max_total_bytes, (long long)max_ratio);
  atomic_store(&r->max_entries, max_entries);
  atomic_store(&r->max_bytes, max_total_bytes);
  atomic_store(&r->max_ratio, max_ratio);
  return MS_OK;
}

ms__read_limits ms__registry_read_limits(ms_registry *r) {
  ms__read_limits lim = {atomic_load(&r->max_bytes), atomic_load(&r->max_ratio)};
  return lim;
}

/* ---- inserting ----------------------------------------------------------- */

char *ms__parent_dir(const char *abs_path) {
  const char *slash = strrchr(abs_path, '/');
  size_t n = slash ? (size_t)(slash - abs_path) : 0;
  if (n == 0) n = slash ? 1 : 0; /* "/x" -> "/" */
  char *p = malloc(n + 1);
  if (!p) {
    ms__fail(MS_ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(p, abs_path, n);
  p[n] = '\0';
  return p;
}

int ms__registry_insert(ms_registry *r, const char *abs_path, const ms__archive_meta *meta, const ms__stat *id,
                        const char *api_json, int *is_default) {
  ms_store *s = r->store;
  int st = MS_OK, rc;
  const char *name = meta->manifest.name, *version = meta->manifest.version;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_FIND_PATH, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, abs_path, -1, SQLITE_STATIC);
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    st = ms__fail(MS_EEXIST, "archive '%s': already registered as model '%s' version '%s'", abs_path, col(q, 0),
                  col(q, 1));
    sqlite3_reset(q);
    return st;
  }
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return ms__store_error(s, rc, "registry: looking up an archive path");
  if (!(q = ms__store_stmt(s, SQL_COLS_BY_NAME_VERSION, &st))) return st;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    st = ms__fail(MS_EEXIST, "archive '%s': model '%s' version '%s' is already registered from '%s'", abs_path,
                  name, version, col(q, 3));
    sqlite3_reset(q);
    return st;
  }
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return ms__store_error(s, rc, "registry: looking up a model");
  if (!(q = ms__store_stmt(s, SQL_COUNT_NAME, &st))) return st;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  int first = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) == 0;
  sqlite3_reset(q);
  if (rc != SQLITE_ROW) return ms__store_error(s, rc, "registry: counting versions");
  char *archive_json = ms__settings_to_json(&meta->config);
  char *folder = ms__parent_dir(abs_path);
  if (!archive_json || !folder) {
    free(archive_json);
    free(folder);
    return MS_ENOMEM;
  }
  if (!(q = ms__store_stmt(s, SQL_INSERT, &st))) {
    free(archive_json);
    free(folder);
    return st;
  }
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 3, first);
  sqlite3_bind_text(q, 4, abs_path, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, folder, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 6, meta->format);
  sqlite3_bind_text(q, 7, meta->manifest.runtime ? meta->manifest.runtime : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 8, meta->manifest.handler ? meta->manifest.handler : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 9, meta->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 10, id->size);
  sqlite3_bind_int64(q, 11, id->mtime_ns);
  sqlite3_bind_int64(q, 12, id->ino);
  sqlite3_bind_int64(q, 13, id->dev);
  sqlite3_bind_text(q, 14, archive_json, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 15, api_json ? api_json : "{}", -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  free(archive_json);
  free(folder);
  if (rc != SQLITE_DONE) return ms__store_error(s, rc, "registry: inserting a model");
  if (is_default) *is_default = first;
  return MS_OK;
}

int ms__registry_promote_default(ms_registry *r, const char *name) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(r->store, SQL_PROMOTE, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(r->store, rc, "registry: choosing a default version");
}

/* Resolve, stat and read an archive given by the caller (lim may be NULL). */
static int load_archive(const char *archive_path, const ms__read_limits *lim, char **abs_out, ms__archive_meta *meta,
                        ms__stat *id) {
  char *abs = realpath(archive_path, NULL);
  if (!abs)
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
  struct stat sb;
  int st = MS_OK;
  if (stat(abs, &sb) != 0) st = ms__fail(MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
  int fmt = st ? -1 : ms__archive_format_of(abs, S_ISDIR(sb.st_mode));
  if (!st && fmt < 0) st = MS_EUNSUPPORTED;
  if (!st) st = ms__archive_stat(abs, fmt, id);
  if (!st) st = ms__archive_read_path_limited(abs, fmt, lim, meta);
  if (st) {
    free(abs);
    return st;
  }
  *abs_out = abs;
  return MS_OK;
}

static int register_archive(ms_registry *r, const char *archive_path, const ms_overrides *ov, ms_model **out) {
  if (!r || !archive_path) return ms__fail(MS_EINVAL, "NULL argument");
  char *abs = NULL;
  ms__archive_meta meta;
  ms__stat id;
  ms__read_limits lim = ms__registry_read_limits(r);
  int st = load_archive(archive_path, &lim, &abs, &meta, &id);
  if (st) return st;
  ms__settings none;
  ms__settings_init(&none);
  const ms__settings *api = ov ? &ov->set : &none;
  char *api_json = ms__settings_to_json(api);
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
      st = ms__model_build(&row, r->global, &snap);
    }
    st = st ? (ms__store_rollback(r->store), st) : ms__store_commit(r->store);
  }
  if (st) ms_model_free(snap);
  else if (out) *out = snap;
  free(api_json);
  free(abs);
  ms__archive_meta_free(&meta);
  return st;
}

int ms_registry_register(ms_registry *r, const char *archive_path, const ms_overrides *ov, ms_model **out) {
  int st = register_archive(r, archive_path, ov, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_register");
  return st;
}

static int inspect(const char *archive_path, const char *global_config_path, ms_model **out);

int ms_archive_inspect(const char *archive_path, const char *global_config_path, ms_model **out) {
  int st = inspect(archive_path, global_config_path, out);
  if (st) ms__errmsg_prefix("registry: ms_archive_inspect");
  return st;
}

static int inspect(const char *archive_path, const char *global_config_path, ms_model **out) {
  if (!archive_path || !out) return ms__fail(MS_EINVAL, "NULL argument");
  ms__global_config *g = NULL;
  int st = MS_OK;
  if (global_config_path) {
    char *buf = NULL;
    size_t len = 0;
    if ((st = ms__file_read_all(global_config_path, GLOBAL_CONFIG_MAX, "global config", &buf, &len))) return st;
    st = ms__global_config_parse(buf, len, global_config_path, &g);
    free(buf);
    if (st) return st;
  }
  char *abs = NULL;
  ms__archive_meta meta;
  ms__stat id;
  if (!(st = load_archive(archive_path, NULL, &abs, &meta, &id))) {
    ms__model_row row = {meta.manifest.name, meta.manifest.version, meta.manifest.runtime, meta.manifest.handler,
                         abs, meta.hash, meta.format, 0, 0, &meta.config, NULL};
    st = ms__model_build(&row, g, out);
    ms__archive_meta_free(&meta);
    free(abs);
  }
  ms__global_config_free(g);
  return st;
}

/* ---- versions ------------------------------------------------------------ */

int ms_registry_unregister(ms_registry *r, const char *name, const char *version) {
  if (!r || !name) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  sqlite3_stmt *q;
  if (!version) {
    if (!(q = ms__store_stmt(s, SQL_DELETE_ALL, &st))) goto fail;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
      st = ms__store_error(s, rc, "registry: removing a model");
      goto fail;
    }
    if (sqlite3_changes(s->db) == 0) {
      st = ms__fail(MS_ENOTFOUND, "registry: no model '%s'", name);
      goto fail;
    }
    return ms__store_commit(s);
  }
  if (!(q = ms__store_stmt(s, SQL_IS_DEFAULT, &st))) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  int is_default = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
  sqlite3_reset(q);
  if (rc == SQLITE_DONE) {
    st = ms__fail(MS_ENOTFOUND, "registry: no model '%s' version '%s'", name, version);
    goto fail;
  }
  if (rc != SQLITE_ROW) {
    st = ms__store_error(s, rc, "registry: looking up a model");
    goto fail;
  }
  if (is_default) {
    if (!(q = ms__store_stmt(s, SQL_COUNT_NAME, &st))) goto fail;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW) {
      st = ms__store_error(s, rc, "registry: counting versions");
      goto fail;
    }
    if (n > 1) {
      st = ms__fail(MS_ECONFLICT,
                    "registry: model '%s' version '%s' is the default and %lld other version(s) remain; set another "
                    "default first",
                    name, version, (long long)(n - 1));
      goto fail;
    }
  }
  if (!(q = ms__store_stmt(s, SQL_DELETE_ONE, &st))) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    st = ms__store_error(s, rc, "registry: removing a version");
    goto fail;
  }
  return ms__store_commit(s);
fail:
  ms__store_rollback(s);
  return st;
}

int ms_registry_set_default(ms_registry *r, const char *name, const char *version) {
  if (!r || !name || !version) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  sqlite3_stmt *q;
  if (!(q = ms__store_stmt(s, SQL_IS_DEFAULT, &st))) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc == SQLITE_DONE) {
    st = ms__fail(MS_ENOTFOUND, "registry: no model '%s' version '%s'", name, version);
    goto fail;
  }
  if (rc != SQLITE_ROW) {
    st = ms__store_error(s, rc, "registry: looking up a model");
    goto fail;
  }
  const char *steps[2] = {SQL_CLEAR_DEFAULT, SQL_SET_DEFAULT};
  for (int i = 0; i < 2; i++) {
    if (!(q = ms__store_stmt(s, steps[i], &st))) goto fail;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (i == 1) sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
      st = ms__store_error(s, rc, "registry: setting the default version");
      goto fail;
    }
  }
  return ms__store_commit(s);
fail:
  ms__store_rollback(s);
  return st;
}

/* ---- overrides ----------------------------------------------------------- */

int ms_registry_update(ms_registry *r, const char *name, const char *version, const ms_overrides *ov) {
  if (!r || !name || !ov) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms_store *s = r->store;
  int st = ms__store_begin(s), rc;
  if (st) return st;
  ms__settings cur;
  ms__settings_init(&cur);
  char *json = NULL;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_GET_OV, &st);
  if (!q) goto fail;
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  if (version) sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 2);
  rc = sqlite3_step(q);
  int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  if (rc == SQLITE_ROW) st = ms__settings_from_json(col(q, 1), "registry: stored overrides", &cur);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc == SQLITE_DONE) {
    st = version ? ms__fail(MS_ENOTFOUND, "registry: no model '%s' version '%s'", name, version)
                 : ms__fail(MS_ENOTFOUND, "registry: no model '%s'", name);
    goto fail;
  }
  if (rc != SQLITE_ROW) {
    st = ms__store_error(s, rc, "registry: looking up a model");
    goto fail;
  }
  if (st) goto fail;
  for (int k = 0; k < MS__K_COUNT; k++)
    if (ov->clear & (1u << k)) {
      cur.set &= ~(1u << k);
      if (ms__key_is_str(k)) {
        free(cur.device);
        cur.device = NULL;
      }
    }
  if ((st = ms__settings_merge(&cur, &ov->set))) goto fail;
  if (!(json = ms__settings_to_json(&cur))) {
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
    st = ms__store_error(s, rc, "registry: writing overrides");
    goto fail;
  }
  free(json);
  ms__settings_free(&cur);
  return ms__store_commit(s);
fail:
  free(json);
  ms__settings_free(&cur);
  ms__store_rollback(s);
  return st;
}

/* ---- lookups ------------------------------------------------------------- */

int ms_registry_get(ms_registry *r, const char *name, const char *version, ms_model **out) {
  if (!r || !name || !out) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms_store *s = r->store;
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, version ? SQL_COLS_BY_NAME_VERSION : SQL_COLS_DEFAULT, &st);
  if (q) {
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (version) sqlite3_bind_text(q, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) st = row_to_model(r, q, out);
    else if (rc == SQLITE_DONE)
      st = version ? ms__fail(MS_ENOTFOUND, "registry: no model '%s' version '%s'", name, version)
                   : ms__fail(MS_ENOTFOUND, "registry: no model '%s'", name);
    else st = ms__store_error(s, rc, "registry: reading a model");
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
  return st;
}

int ms_registry_list(ms_registry *r, const char *name, ms_model_list **out) {
  if (!r || !out) return ms__fail(MS_EINVAL, "registry: NULL argument");
  ms_model_list *l = calloc(1, sizeof *l);
  if (!l) return ms__fail(MS_ENOMEM, "registry: out of memory");
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
          st = ms__fail(MS_ENOMEM, "registry: out of memory");
          break;
        }
        l->items = g;
      }
      if (!(st = row_to_model(r, q, &l->items[l->n]))) l->n++;
    }
    if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "registry: listing models");
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
