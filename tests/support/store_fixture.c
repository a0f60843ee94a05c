#include "store_fixture.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/pg/pg.h"
#include "store/store_internal.h"
#include "testutil.h"

int ms_test_db_setup(void **state) {
  ms_test_db *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->dir = ms_test_tmpdir("store");
  f->db = f->dir ? ms_test_path(f->dir, "test.db") : NULL;
  *state = f;
  return f->db ? 0 : -1;
}

int ms_test_db_teardown(void **state) {
  ms_test_db *f = *state;
  if (!f) return 0;
  if (f->dir) chmod(f->dir, 0755); /* a test may have made it read-only */
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f);
  *state = NULL;
  return 0;
}

int ms_test_make_store(const char *db) {
  ms_store *s = NULL;
  int st = ms_store_open(db, 0, &s);
  ms_store_close(s);
  return st;
}

static const char SQL_PUT[] = "INSERT OR REPLACE INTO ms_meta(key, value) VALUES (?1, 'v')";
/* PostgreSQL has no INSERT OR REPLACE; SQLite's is kept, whose commits the
 * WAL tests of test_store_writers.c were measured with */
static const char SQL_PUT_PG[] =
    "INSERT INTO ms_meta(key, value) VALUES (?1, 'v') ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char SQL_COUNT_KEYS[] = "SELECT count(*) FROM ms_meta WHERE key LIKE ?1";

static int put_op(ms_store *s, void *arg) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, s->pg ? SQL_PUT_PG : SQL_PUT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, arg, -1);
  return ms__stmt_done(s, q, "put a key");
}

int ms_test_put(ms_store *s, const char *key) { return ms__store_write(s, put_op, (void *)(uintptr_t)key); }

int64_t ms_test_count_keys(ms_store *s, const char *like) {
  if (ms__store_read_apart_begin(s) != MS_OK) return -1;
  int64_t n = -1;
  int row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_COUNT_KEYS, NULL);
  if (q) {
    ms__stmt_bind_text(q, 1, like, -1);
    if (ms__stmt_row(s, q, "count keys", &row) == MS_OK && row) n = ms__stmt_int64(q, 0);
    ms__stmt_reset(q);
  }
  ms__store_read_end(s);
  return n;
}

int64_t ms_test_sql_int(ms_store *s, const char *sql) {
  if (s->pg) {
    /* a literal statement, as on SQLite: prepared for this call only */
    PGresult *r = PQexec(s->pg->conn, sql);
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)
                    ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return v;
  }
  sqlite3_stmt *q = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

/* SQLite's blob literal x'0a1b' as PostgreSQL's '\x0a1b'::bytea, so the
 * tests' literal SQL serves both backends; a malloc'd copy. */
static char *pg_blob_literals(const char *sql) {
  size_t n = strlen(sql);
  char *out = malloc(n * 2 + 1);
  if (!out) return NULL;
  size_t o = 0;
  int quoted = 0;
  for (size_t i = 0; i < n; i++) {
    char prev = i ? sql[i - 1] : ' ';
    int word_start = !(prev == '_' || (prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z') ||
                       (prev >= '0' && prev <= '9'));
    if (!quoted && (sql[i] == 'x' || sql[i] == 'X') && sql[i + 1] == '\'' && word_start) {
      size_t j = i + 2;
      while (sql[j] && sql[j] != '\'') j++;
      o += (size_t)sprintf(out + o, "'\\x%.*s'::bytea", (int)(j - i - 2), sql + i + 2);
      i = sql[j] ? j : j - 1;
      continue;
    }
    if (sql[i] == '\'') quoted = !quoted;
    out[o++] = sql[i];
  }
  out[o] = '\0';
  return out;
}

int ms_test_sql_exec(ms_store *s, const char *sql) {
  if (s->pg) {
    char *text = pg_blob_literals(sql);
    if (!text) return -1;
    PGresult *r = PQexec(s->pg->conn, text);
    free(text);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "ms_test_sql_exec: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
  }
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int64_t ms_test_write_mark(ms_store *s) {
  if (s->pg) return ms_test_sql_int(s, "SELECT CAST(pg_current_wal_insert_lsn() - '0/0' AS BIGINT)");
  return sqlite3_total_changes64(s->db);
}

typedef struct held_lock {
  sqlite3 *lite;
  PGconn *pg;
} held_lock;

static const char SQL_LOCK_ALL_PG[] =
    "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP "
    "EXECUTE 'LOCK TABLE ' || quote_ident(t) || ' IN EXCLUSIVE MODE'; END LOOP; END $$";

void *ms_test_hold_write_lock(const char *path) {
  held_lock *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  if (ms__pg_is_uri(path)) {
    h->pg = PQconnectdb(path);
    PGresult *r = PQstatus(h->pg) == CONNECTION_OK ? PQexec(h->pg, "BEGIN") : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok) {
      r = PQexec(h->pg, SQL_LOCK_ALL_PG);
      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
    }
    if (ok) return h;
  } else if (sqlite3_open(path, &h->lite) == SQLITE_OK &&
             sqlite3_exec(h->lite, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
    return h;
  }
  ms_test_release_write_lock(h);
  return NULL;
}

void ms_test_release_write_lock(void *held) {
  held_lock *h = held;
  if (!h) return;
  if (h->lite) {
    sqlite3_exec(h->lite, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h->lite);
  }
  if (h->pg) {
    /* ROLLBACK answers once the locks are gone; PQfinish alone returns
     * before the server has ended the session */
    PQclear(PQexec(h->pg, "ROLLBACK"));
    PQfinish(h->pg);
  }
  free(h);
}

pid_t ms_test_fork_ready(int (*child)(void *arg, int ready_fd), void *arg) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t kid = fork();
  if (kid < 0) {
    close(ready[0]);
    close(ready[1]);
    return -1;
  }
  if (kid == 0) {
    close(ready[0]);
    _exit(child(arg, ready[1]));
  }
  close(ready[1]);
  char b;
  ssize_t n = read(ready[0], &b, 1);
  close(ready[0]);
  if (n != 1) { /* it exited (or failed) before getting there */
    waitpid(kid, NULL, 0);
    return -1;
  }
  return kid;
}

int ms_test_kill(pid_t kid) {
  int ws = 0;
  kill(kid, SIGKILL);
  if (waitpid(kid, &ws, 0) != kid) return 0;
  return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
}

typedef struct hold_arg {
  int ready_fd;
} hold_arg;

/* The write that never ends: it has the queue, SQLite's lock and a row. */
static int hold_op(ms_store *s, void *arg) {
  hold_arg *h = arg;
  if (put_op(s, "held") != MS_OK) return MS_EINTERNAL;
  if (write(h->ready_fd, "h", 1) != 1) return MS_EIO;
  for (;;) pause();
}

int ms_test_child_hold_write(void *db, int ready_fd) {
  ms_store *s = NULL;
  if (ms_store_open(db, 0, &s) != MS_OK) return 3;
  hold_arg h = {ready_fd};
  ms__store_write(s, hold_op, &h); /* never returns */
  return 4;
}
