/* The PostgreSQL connection of a store handle (store/pg/pg.h): connecting,
 * connecting again after a loss, and the transaction statements.
 *
 * The main connection of a handle is used under the handle's write lock like
 * the SQLite connection: group commit (store/group.h) already turns the
 * writes of many threads into one transaction, so one connection carries
 * them in one round trip per statement and one commit for the batch. The
 * pool's connections (pg_pool.c) are made and set up here the same way;
 * every function works on the calling thread's connection (ms__pg_cur). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/text.h"
#include "store/pg/pg.h"

/* The server's notices (NOTICE: relation exists...) are not libmserve's
 * messages: dropped instead of printed on stderr. */
static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static int connect_now(ms_store *s) {
  ms__pg_conn *c = ms__pg_cur(s);
  if (c->conn) PQfinish(c->conn);
  /* the session says which host and process it is (pg_stat_activity), unless
   * the URI names an application itself: how one host tells who holds a
   * lock of another (ms__store_try_lock_key) */
  char me[160], host[96] = "?";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  snprintf(me, sizeof me, "libmserve@%s:%ld", host, (long)getpid());
  const char *const keys[] = {"dbname", "fallback_application_name", NULL};
  const char *const vals[] = {s->pg->conninfo, me, NULL};
  c->conn = PQconnectdbParams(keys, vals, 1);
  if (!c->conn) return ms__fail(MS_ENOMEM, "store '%s': out of memory connecting", s->path);
  if (PQstatus(c->conn) != CONNECTION_OK) {
    char why[512];
    ms__strlcpy(why, PQerrorMessage(c->conn), sizeof why);
    for (char *p = why; *p; p++)
      if (*p == '\n') *p = p[1] ? ' ' : '\0';
    PQfinish(c->conn);
    c->conn = NULL;
    return ms__fail(MS_EIO, "store '%s': cannot connect: %s", s->path, why);
  }
  PQsetNoticeProcessor(c->conn, quiet, NULL);
  c->epoch++;
  c->lock_timeout_us = -1;
  return ms__pg_exec(s, "SET client_min_messages = warning", "set up the session");
}

/* A lock another host holds longer than the busy timeout is MS_EBUSY, as
 * SQLite's busy timeout is (lock_timeout 0 would mean wait forever, so the
 * least is 1 ms). Set again only when ms_store_set_busy_timeout changed it. */
static int follow_busy_timeout(ms_store *s) {
  ms__pg_conn *c = ms__pg_cur(s);
  int64_t us = atomic_load(&s->busy_timeout_us);
  if (us == c->lock_timeout_us) return MS_OK;
  long long ms = (long long)(us / 1000);
  char sql[64];
  snprintf(sql, sizeof sql, "SET lock_timeout = %lld", ms > 0 ? ms : 1);
  int st = ms__pg_exec(s, sql, "set the lock timeout");
  if (!st) c->lock_timeout_us = us;
  return st;
}

int ms__pg_open(ms_store *s, const char *uri) {
  s->pg = calloc(1, sizeof *s->pg);
  if (!s->pg) return ms__fail(MS_ENOMEM, "store '%s': out of memory", s->path);
  int max = 0;
  s->pg->conninfo = ms__pg_uri_pool(uri, &max);
  if (!s->pg->conninfo) return ms__fail(MS_ENOMEM, "store '%s': out of memory", s->path);
  if (max < 0) return ms__fail(MS_EINVAL, "store '%s': pool_max must be a number from 1 to 64", s->path);
  int st = ms__pg_pool_new(s, max ? max : MS__PG_POOL_DEFAULT);
  return st ? st : connect_now(s);
}

void ms__pg_close(ms_store *s) {
  if (!s->pg) return;
  ms__pg_pool_free(s);
  if (s->pg->conn) PQfinish(s->pg->conn);
  if (s->pg->conninfo) {
    /* the password is not left behind in freed memory */
    memset(s->pg->conninfo, 0, strlen(s->pg->conninfo));
    free(s->pg->conninfo);
  }
  free(s->pg);
  s->pg = NULL;
}

static int lost(const ms__pg_conn *c) { return !c->conn || PQstatus(c->conn) != CONNECTION_OK; }

int ms__pg_ensure(ms_store *s) { return lost(ms__pg_cur(s)) ? connect_now(s) : MS_OK; }

int ms__pg_exec(ms_store *s, const char *sql, const char *what) {
  ms__pg_conn *c = ms__pg_cur(s);
  if (lost(c)) return ms__fail(MS_EIO, "store '%s': %s: the connection to the server was lost", s->path, what);
  PGresult *r = PQexec(c->conn, sql);
  ExecStatusType t = PQresultStatus(r);
  int st = MS_OK;
  if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
    st = ms__pg_fail(s, r, what);
  } else if (t == PGRES_COMMAND_OK) {
    const char *n = PQcmdTuples(r);
    c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
  }
  PQclear(r);
  return st;
}

int ms__pg_begin(ms_store *s) {
  int st = ms__pg_ensure(s);
  if (st) return st;
  st = follow_busy_timeout(s);
  ms__pg_cur(s)->holds_locks = 0;
  if (!st) st = ms__pg_exec(s, "BEGIN", "begin transaction");
  /* the server went away since the last call: nothing was sent that could
   * have been applied, so connecting again and beginning once more is safe */
  if (st == MS_EIO && lost(ms__pg_cur(s)) && (st = connect_now(s)) == MS_OK && (st = follow_busy_timeout(s)) == MS_OK)
    st = ms__pg_exec(s, "BEGIN", "begin transaction");
  return st;
}

int ms__pg_commit(ms_store *s) {
  ms__pg_conn *c = ms__pg_cur(s);
  if (!lost(c) && PQtransactionStatus(c->conn) == PQTRANS_INERROR) {
    /* PostgreSQL answers COMMIT of a failed transaction with ROLLBACK */
    ms__pg_rollback(s);
    return ms__fail(MS_EINTERNAL, "store '%s': commit: a statement of the transaction failed; rolled back", s->path);
  }
  if (lost(c)) return ms__fail(MS_EIO, "store '%s': commit: the connection to the server was lost; the transaction "
                                       "did not commit", s->path);
  PGresult *r = PQexec(c->conn, "COMMIT");
  int st = MS_OK;
  if (PQresultStatus(r) != PGRES_COMMAND_OK) st = ms__pg_fail(s, r, "commit");
  else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
    st = ms__fail(MS_EINTERNAL, "store '%s': commit: the server rolled the transaction back", s->path);
  PQclear(r);
  if (st && !lost(c) && PQtransactionStatus(c->conn) != PQTRANS_IDLE) ms__pg_rollback(s);
  return st;
}

void ms__pg_rollback(ms_store *s) {
  ms__pg_conn *c = ms__pg_cur(s);
  if (lost(c) || PQtransactionStatus(c->conn) == PQTRANS_IDLE) return;
  PQclear(PQexec(c->conn, "ROLLBACK"));
}

int ms__pg_autocommit(const ms_store *s) {
  const ms__pg_conn *c = ms__pg_cur(s);
  return lost(c) || PQtransactionStatus(c->conn) == PQTRANS_IDLE;
}

int ms__pg_backend_pid(const ms_store *s) {
  const ms__pg_conn *c = s->pg ? ms__pg_cur(s) : NULL;
  return c && !lost(c) ? PQbackendPID(c->conn) : 0;
}

int ms__pg_connect(ms_store *s) { return connect_now(s); }
