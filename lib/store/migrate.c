/* Schema migrations, keyed on PRAGMA user_version.
 *
 * All pending migrations run in one IMMEDIATE transaction together with the
 * user_version bump, so a crash mid-way leaves the old schema intact and two
 * processes opening a fresh file at once never both migrate. */
#include <stdio.h>

#include "../common/error.h"
#include "store_internal.h"

/* 'msrv': marks a database as libmserve's, so a stranger's SQLite file is
 * refused instead of having our tables added to it. */
#define MS_APPLICATION_ID 0x6d737276

int64_t ms_store_latest_schema(void) {
  size_t n;
  const ms_migration *m = ms__migrations(&n);
  return n ? m[n - 1].version : 0;
}

static int read_int(ms_store *s, const char *sql, int64_t *v) {
  sqlite3_stmt *q = ms__store_stmt(s, sql, NULL);
  if (!q) return MS_EINTERNAL;
  int rc = sqlite3_step(q);
  *v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  sqlite3_reset(q);
  return rc == SQLITE_ROW ? MS_OK : ms__store_error(s, rc, "read schema information");
}

int ms__store_migrate(ms_store *s, int64_t target) {
  int64_t latest = ms_store_latest_schema();
  if (target > latest || target < 0) target = latest;
  int st = ms__store_begin(s);
  if (st) {
    if (st == MS_ECORRUPT) ms__fail(MS_ECORRUPT, "store '%s': the file is not an SQLite database", s->path);
    return st;
  }
  int64_t version, app_id, n_tables;
  if ((st = read_int(s, "PRAGMA user_version", &version)) ||
      (st = read_int(s, "PRAGMA application_id", &app_id)) ||
      (st = read_int(s, "SELECT count(*) FROM sqlite_schema", &n_tables)))
    goto fail;
  if (app_id != 0 && app_id != MS_APPLICATION_ID) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': not a libmserve database (application_id 0x%llx)", s->path,
                  (unsigned long long)app_id);
    goto fail;
  }
  if (app_id == 0 && n_tables > 0) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': an SQLite database of another application (%lld tables, no libmserve "
                                   "application_id); refusing to add tables to it", s->path, (long long)n_tables);
    goto fail;
  }
  if (version > latest) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': schema version %lld was written by a newer libmserve; this library "
                                   "(%s) understands up to %lld", s->path, (long long)version, ms_version(),
                  (long long)latest);
    goto fail;
  }
  if (version >= target) {
    ms__store_rollback(s);
    return MS_OK;
  }
  size_t n;
  const ms_migration *m = ms__migrations(&n);
  for (size_t i = 0; i < n; i++) {
    if (m[i].version <= version || m[i].version > target) continue;
    if ((st = ms__store_exec(s, m[i].sql)) != MS_OK) {
      ms__errmsg_prefix("migration %lld (%s)", (long long)m[i].version, m[i].name);
      goto fail;
    }
  }
  char sql[96];
  snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%lld", MS_APPLICATION_ID,
           (long long)target);
  if ((st = ms__store_exec(s, sql))) goto fail;
  st = ms__store_commit(s);
  if (!st) ms__log(MS_LOG_INFO, "store '%s': migrated schema %lld -> %lld", s->path, (long long)version, (long long)target);
  return st;
fail:
  ms__store_rollback(s);
  return st;
}
