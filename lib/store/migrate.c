/* Schema migrations, keyed on PRAGMA user_version.
 *
 * Opening first looks, under a read transaction: a database already at the
 * wanted version is only checked (its schema against the one the migrations
 * build, so a damaged one is refused with what is missing), never written,
 * so opening neither waits for another process's writer nor needs write
 * access. Otherwise all pending migrations run in one IMMEDIATE transaction
 * together with the user_version bump, after looking again under it, so a
 * crash mid-way leaves the old schema intact and two processes opening a
 * fresh file at once never both migrate. A database whose version does not
 * match its tables is refused as damaged and left as it was.
 *
 * Layer 4 (store/migrate.h): the list comes from the opener (lib/schema/),
 * so the store never names a part. Runs while the handle is being opened,
 * on the opening thread, before any other thread can see it: it takes the
 * write lock and the transaction of the layers below directly. */
#include "store/migrate.h"

#include <stdio.h>

#include "common/error.h"
#include "store/conn.h"
#include "store/lock.h"
#include "store/pg/pg.h"
#include "store/txn.h"

/* 'msrv': marks a database as libmserve's, so a stranger's SQLite file is
 * refused instead of having our tables added to it. */
#define MS_APPLICATION_ID 0x6d737276

typedef struct db_info {
  int64_t version, app_id, n_tables;
} db_info;

static const char SQL_USER_VERSION[] = "PRAGMA user_version";
static const char SQL_APPLICATION_ID[] = "PRAGMA application_id";
static const char SQL_COUNT_OBJECTS[] = "SELECT count(*) FROM sqlite_schema";
static const char SQL_READ_BEGIN[] = "BEGIN";
static const char SQL_READ_END[] = "ROLLBACK";

/* The one integer `sql` returns (0 when it returns no row). */
static int read_int(ms_store *s, const char *sql, int64_t *v) {
  int st = MS_OK, row = 0;
  sqlite3_stmt *q = ms__store_stmt(s, sql, &st);
  if (!q || (st = ms__store_step_row(s, q, "read schema information", &row)) != MS_OK) return st;
  *v = row ? sqlite3_column_int64(q, 0) : 0;
  if (row) sqlite3_reset(q);
  return MS_OK;
}

static int read_info(ms_store *s, db_info *i) {
  int st;
  if ((st = read_int(s, SQL_USER_VERSION, &i->version)) || (st = read_int(s, SQL_APPLICATION_ID, &i->app_id)))
    return st;
  return read_int(s, SQL_COUNT_OBJECTS, &i->n_tables);
}

/* Can this library use a database that says `i`? */
static int judge(ms_store *s, const db_info *i, int64_t latest) {
  if (i->app_id != 0 && i->app_id != MS_APPLICATION_ID)
    return ms__fail(MS_EUNSUPPORTED, "store '%s': not a libmserve database (application_id 0x%llx)", s->path,
                    (unsigned long long)i->app_id);
  if (i->app_id == 0 && i->n_tables > 0)
    return ms__fail(MS_EUNSUPPORTED, "store '%s': an SQLite database of another application (%lld tables, no "
                                     "libmserve application_id); refusing to add tables to it",
                    s->path, (long long)i->n_tables);
  if (i->version < 0)
    return ms__fail(MS_ECORRUPT, "store '%s': schema version %lld is impossible (PRAGMA user_version is negative)",
                    s->path, (long long)i->version);
  if (i->version > latest)
    return ms__fail(MS_EUNSUPPORTED, "store '%s': schema version %lld was written by a newer libmserve; this library "
                                     "(%s) understands up to %lld", s->path, (long long)i->version, ms_version(),
                    (long long)latest);
  /* the application_id is set by the transaction that sets the version */
  if (i->app_id == MS_APPLICATION_ID && i->version == 0)
    return ms__fail(MS_ECORRUPT, "store '%s': schema version 0 is impossible for a libmserve database (%lld tables)",
                    s->path, (long long)i->n_tables);
  return MS_OK;
}

/* Run one migration's SQL. An SQL error here means the tables are not those
 * of the version the database claims: damage, not a bug (every migration is
 * tested from every earlier version). */
static int apply(ms_store *s, const ms_migration *m, int64_t from) {
  char *err = NULL;
  int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &err);
  int st = MS_OK;
  if (rc != SQLITE_OK) {
    char what[160];
    snprintf(what, sizeof what, "migration %lld (%s)", (long long)m->version, m->name);
    if ((rc & 0xff) == SQLITE_ERROR)
      st = ms__fail(MS_ECORRUPT, "store '%s': schema version %lld does not match its tables: %s fails: %s", s->path,
                    (long long)from, what, err ? err : sqlite3_errstr(rc));
    else
      st = ms__store_fail_sqlite(s, rc, what, err);
  }
  sqlite3_free(err);
  return st;
}

/* Look under a read transaction. *current: the database is at `target` or
 * later (and was checked). */
static int look(ms_store *s, int64_t target, int64_t latest, db_info *i, int *current) {
  int st = ms__store_lock_take(s);
  if (st) return st;
  if (!(st = ms__store_exec(s, SQL_READ_BEGIN)) && !(st = read_info(s, i)) && !(st = judge(s, i, latest))) {
    *current = i->version >= target;
    if (*current) st = ms__store_verify_schema(s, i->version);
  }
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, SQL_READ_END, NULL, NULL, NULL);
  ms__store_lock_drop(s);
  return st;
}

int ms__store_migrate(ms_store *s, int64_t target) {
  if (s->pg) {
    /* the same write lock as any transaction; the server's advisory lock
     * orders the hosts (store/pg/pg_migrate.c) */
    int st = ms__store_lock_take(s);
    if (st) return st;
    st = ms__pg_migrate(s, target);
    ms__store_lock_drop(s);
    return st;
  }
  int64_t latest = ms__store_latest(s);
  if (target > latest || target < 0) target = latest;
  db_info i = {0, 0, 0};
  int current = 0;
  int st = look(s, target, latest, &i, &current);
  if (st || current) return st;
  if (s->flags & MS_STORE_READONLY) {
    if (i.version == 0)
      return ms__fail(MS_EUNSUPPORTED, "store '%s': an empty database, not yet a libmserve store; a read-only store "
                                       "is never created or migrated (open it once without MS_STORE_READONLY)",
                      s->path);
    return ms__fail(MS_EUNSUPPORTED, "store '%s': schema version %lld is older than this library's (%lld), and a "
                                     "read-only store is never migrated (open it once without MS_STORE_READONLY)",
                    s->path, (long long)i.version, (long long)target);
  }

  if ((st = ms__store_lock_take(s))) return st;
  if ((st = ms__store_sql_begin(s, 1))) {
    ms__store_lock_drop(s);
    return st;
  }
  /* again, under the write lock: another process may have migrated it */
  if ((st = read_info(s, &i)) || (st = judge(s, &i, latest))) goto fail;
  if (i.version >= target || i.version > 0) {
    /* what is there must be what the version says, before anything is added */
    if ((st = ms__store_verify_schema(s, i.version)) || i.version >= target) goto fail;
  }
  const ms_migration *m = s->migrations;
  for (size_t k = 0; k < s->n_migrations; k++) {
    if (m[k].version <= i.version || m[k].version > target) continue;
    if ((st = apply(s, &m[k], i.version)) != MS_OK) goto fail;
  }
  if ((st = ms__store_verify_schema(s, target))) goto fail;
  char sql[96];
  snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%lld", MS_APPLICATION_ID,
           (long long)target);
  if ((st = ms__store_exec(s, sql))) goto fail;
  st = ms__store_sql_commit(s, 0);
  ms__store_lock_drop(s);
  if (!st)
    ms__log(MS_LOG_INFO, "store '%s': migrated schema %lld -> %lld", s->path, (long long)i.version, (long long)target);
  return st;
fail:
  ms__store_sql_rollback(s, 0); /* also the way out when there was nothing to do */
  ms__store_lock_drop(s);
  return st;
}
