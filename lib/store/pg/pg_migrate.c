/* Schema migrations on PostgreSQL (store/pg/pg.h), keyed on the
 * 'schema_version' row of ms_meta.
 *
 * Several hosts may open one database at once; each takes a transaction-
 * scoped advisory lock first (the key is libmserve's application id, the
 * one that marks its SQLite files), so exactly one of them migrates and the
 * others, let in after its COMMIT, find the version current. The whole list
 * of pending migrations and the version row change in that one transaction:
 * a failure leaves the schema as it was. Each migration carries its own
 * PostgreSQL SQL (ms_migration.pg_sql; NULL when the version changes nothing
 * there, because the PostgreSQL layout was written at a later version's
 * shape). */
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "store/pg/pg.h"

#define MS_ADVISORY_KEY 0x6d737276 /* 'msrv' */

/* The one value `sql` returns as an integer in *v (0 when no row or NULL). */
static int read_int(ms_store *s, const char *sql, int64_t *v) {
  PGresult *r = PQexec(ms__pg_cur(s)->conn, sql);
  int st = MS_OK;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) st = ms__pg_fail(s, r, "read schema information");
  else {
    const char *t = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
    *v = !t ? 0 : t[0] == 't' ? 1 : t[0] == 'f' ? 0 : strtoll(t, NULL, 10);
  }
  PQclear(r);
  return st;
}

static const char SQL_HAS_META[] = "SELECT to_regclass('ms_meta') IS NOT NULL";
static const char SQL_VERSION[] = "SELECT CAST(value AS BIGINT) FROM ms_meta WHERE key = 'schema_version'";
static const char SQL_N_TABLES[] =
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()";

/* The version (0: none) and how many tables the schema holds. */
static int look(ms_store *s, int64_t *version, int64_t *tables) {
  int64_t meta = 0;
  int st = read_int(s, SQL_HAS_META, &meta);
  *version = 0;
  if (!st && meta) st = read_int(s, SQL_VERSION, version);
  if (!st) st = read_int(s, SQL_N_TABLES, tables);
  return st;
}

int ms__pg_schema_version(ms_store *s, int64_t *version) {
  int st = ms__pg_ensure(s);
  int64_t tables = 0;
  return st ? st : look(s, version, &tables);
}

static int64_t latest_of(const ms_store *s) {
  return s->n_migrations ? s->migrations[s->n_migrations - 1].version : 0;
}

int ms__pg_migrate(ms_store *s, int64_t target) {
  int64_t latest = latest_of(s);
  if (target > latest || target < 0) target = latest;
  int st = ms__pg_begin(s);
  if (st) return st;
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", MS_ADVISORY_KEY);
  int64_t v = 0, tables = 0, ignored = 0;
  if ((st = read_int(s, sql, &ignored)) || (st = look(s, &v, &tables))) goto out;
  if (v == 0 && tables > 0) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': the database's schema holds %lld tables of another application and "
                                   "no libmserve schema version; refusing to add tables to it",
                  s->path, (long long)tables);
    goto out;
  }
  if (v < 0) {
    st = ms__fail(MS_ECORRUPT, "store '%s': schema version %lld is impossible", s->path, (long long)v);
    goto out;
  }
  if (v > latest) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': schema version %lld was written by a newer libmserve; this library "
                                   "(%s) understands up to %lld", s->path, (long long)v, ms_version(),
                  (long long)latest);
    goto out;
  }
  if (v >= target) goto out; /* current (or newer than asked, as on SQLite): nothing to do */
  if (s->flags & MS_STORE_READONLY) {
    st = ms__fail(MS_EUNSUPPORTED, "store '%s': schema version %lld is older than this library's (%lld), and a "
                                   "read-only store is never migrated", s->path, (long long)v, (long long)target);
    goto out;
  }
  for (size_t k = 0; k < s->n_migrations; k++) {
    const ms_migration *m = &s->migrations[k];
    if (m->version <= v || m->version > target || !m->pg_sql) continue;
    char what[160];
    snprintf(what, sizeof what, "migration %lld (%s)", (long long)m->version, m->name);
    if ((st = ms__pg_exec(s, m->pg_sql, what))) goto out;
  }
  snprintf(sql, sizeof sql,
           "INSERT INTO ms_meta(key, value) VALUES ('schema_version', '%lld') "
           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (long long)target);
  if ((st = ms__pg_exec(s, sql, "record the schema version"))) goto out;
  st = ms__pg_commit(s);
  if (!st)
    ms__log(MS_LOG_INFO, "store '%s': migrated schema %lld -> %lld", s->path, (long long)v, (long long)target);
  return st;
out:
  ms__pg_rollback(s);
  return st;
}
