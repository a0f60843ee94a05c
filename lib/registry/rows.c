/* Writing the registry's rows: inserting a registration and choosing a
 * default version. */
#include "registry/rows.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "store/store_internal.h"

static const char SQL_FIND_PATH[] = "SELECT name, version FROM registry_models WHERE archive_path = ?1";
static const char SQL_FIND_NAME_VERSION[] =
    "SELECT archive_path FROM registry_models WHERE name = ?1 AND version = ?2";
static const char SQL_COUNT_NAME[] = "SELECT count(*) FROM registry_models WHERE name = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO registry_models (name, version, is_default, archive_path, folder, format, runtime, handler,"
    " content_hash, size, mtime_ns, ino, dev, missing, archive_settings, overrides)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15)";
static const char SQL_CLEAR_DEFAULT[] = "UPDATE registry_models SET is_default = 0 WHERE name = ?1 AND is_default = 1";
static const char SQL_PROMOTE[] =
    "UPDATE registry_models SET is_default = 1 WHERE id = (SELECT id FROM registry_models WHERE name = ?1"
    " ORDER BY id LIMIT 1) AND NOT EXISTS (SELECT 1 FROM registry_models WHERE name = ?1 AND is_default = 1)";

static const char SQL_MARK_REMOVED[] =
    "INSERT INTO registry_removed (archive_path, folder, name, version, content_hash, size, mtime_ns,"
    " ino, dev) SELECT archive_path, folder, name, version, content_hash, size, mtime_ns, ino, dev"
    " FROM registry_models WHERE name = ?1 AND (CAST(?2 AS TEXT) IS NULL OR version = ?2)"
    " ON CONFLICT (archive_path) DO UPDATE SET folder = excluded.folder, name = excluded.name,"
    " version = excluded.version, content_hash = excluded.content_hash, size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, ino = excluded.ino, dev = excluded.dev";
static const char SQL_CLEAR_MARK[] = "DELETE FROM registry_removed WHERE archive_path = ?1";
static const char SQL_TOUCH_MARK[] =
    "UPDATE registry_removed SET size = ?2, mtime_ns = ?3, ino = ?4, dev = ?5 WHERE archive_path = ?1";

static const char *col(ms_stmt *q, int i) {
  const char *s = ms__stmt_text(q, i);
  return s ? s : "";
}

int ms__registry_insert(ms_registry *r, const char *abs_path, const ms__archive_meta *meta, const ms__stat *id,
                        const char *api_json, int *is_default) {
  ms_store *s = r->store;
  int st = MS_OK, row = 0;
  const char *name = meta->manifest.name, *version = meta->manifest.version;
  ms_stmt *q = ms__store_prepare(s, SQL_FIND_PATH, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, abs_path, -1);
  if ((st = ms__stmt_row(s, q, "looking up an archive path", &row))) return st;
  if (row) {
    st = ms__fail(MS_EEXIST, "archive '%s': already registered as model '%s' version '%s'", abs_path, col(q, 0),
                  col(q, 1));
    ms__stmt_reset(q);
    return st;
  }
  if (!(q = ms__store_prepare(s, SQL_FIND_NAME_VERSION, &st))) return st;
  ms__stmt_bind_text(q, 1, name, -1);
  ms__stmt_bind_text(q, 2, version, -1);
  if ((st = ms__stmt_row(s, q, "looking up a model", &row))) return st;
  if (row) {
    st = ms__fail(MS_EEXIST, "archive '%s': model '%s' version '%s' is already registered from '%s'", abs_path,
                  name, version, col(q, 0));
    ms__stmt_reset(q);
    return st;
  }
  int64_t others = 0;
  if ((st = ms__registry_count_versions(r, name, &others))) return st;
  /* The first version of a name is its default, and so is a version the
   * global config marks "defaultVersion": true. */
  int make_default = others == 0 || ms__registry_global_is_default(r->global, name, version);
  if (others && make_default && (st = ms__registry_clear_default(r, name))) return st;
  /* Registered now: an earlier "removed through the API" mark is void. */
  if ((st = ms__registry_clear_mark(r, abs_path))) return st;
  char *archive_json = ms__registry_settings_to_json(&meta->config);
  char *folder = ms__fs_parent_dir(abs_path);
  if (!archive_json || !folder) {
    free(archive_json);
    free(folder);
    return ms__fail(MS_ENOMEM, "archive '%s': out of memory", abs_path);
  }
  if (!(q = ms__store_prepare(s, SQL_INSERT, &st))) {
    free(archive_json);
    free(folder);
    return st;
  }
  ms__stmt_bind_text(q, 1, name, -1);
  ms__stmt_bind_text(q, 2, version, -1);
  ms__stmt_bind_int(q, 3, make_default);
  ms__stmt_bind_text(q, 4, abs_path, -1);
  ms__stmt_bind_text(q, 5, folder, -1);
  ms__stmt_bind_int(q, 6, meta->format);
  ms__stmt_bind_text(q, 7, meta->manifest.runtime ? meta->manifest.runtime : "", -1);
  ms__stmt_bind_text(q, 8, meta->manifest.handler ? meta->manifest.handler : "", -1);
  ms__stmt_bind_text(q, 9, meta->hash, -1);
  ms__stmt_bind_int64(q, 10, id->size);
  ms__stmt_bind_int64(q, 11, id->mtime_ns);
  ms__stmt_bind_int64(q, 12, id->ino);
  ms__stmt_bind_int64(q, 13, id->dev);
  ms__stmt_bind_text(q, 14, archive_json, -1);
  ms__stmt_bind_text(q, 15, api_json ? api_json : "{}", -1);
  st = ms__stmt_done(s, q, "inserting a model");
  free(archive_json);
  free(folder);
  if (st) return st;
  if (is_default) *is_default = make_default;
  return MS_OK;
}

int ms__registry_promote_default(ms_registry *r, const char *name) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(r->store, SQL_PROMOTE, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, name, -1);
  return ms__stmt_done(r->store, q, "choosing a default version");
}

int ms__registry_count_versions(ms_registry *r, const char *name, int64_t *n) {
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(r->store, SQL_COUNT_NAME, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, name, -1);
  if ((st = ms__stmt_row(r->store, q, "counting versions", &row))) return st;
  *n = row ? ms__stmt_int64(q, 0) : 0;
  ms__stmt_reset(q);
  return MS_OK;
}

int ms__registry_clear_default(ms_registry *r, const char *name) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(r->store, SQL_CLEAR_DEFAULT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, name, -1);
  return ms__stmt_done(r->store, q, "clearing the default version");
}

int ms__registry_mark_removed(ms_registry *r, const char *name, const char *version) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(r->store, SQL_MARK_REMOVED, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, name, -1);
  if (version) ms__stmt_bind_text(q, 2, version, -1);
  else ms__stmt_bind_null(q, 2);
  return ms__stmt_done(r->store, q, "marking an archive removed");
}

int ms__registry_clear_mark(ms_registry *r, const char *abs_path) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(r->store, SQL_CLEAR_MARK, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, abs_path, -1);
  return ms__stmt_done(r->store, q, "clearing an archive's removal mark");
}

int ms__registry_touch_mark(ms_registry *r, const char *abs_path, const ms__stat *id) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(r->store, SQL_TOUCH_MARK, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, abs_path, -1);
  ms__stmt_bind_int64(q, 2, id->size);
  ms__stmt_bind_int64(q, 3, id->mtime_ns);
  ms__stmt_bind_int64(q, 4, id->ino);
  ms__stmt_bind_int64(q, 5, id->dev);
  return ms__stmt_done(r->store, q, "updating an archive's removal mark");
}
