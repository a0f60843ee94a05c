/* Backend.AI's current approach as a benchmark backend, over libpq on the
 * same PostgreSQL server as the tracker: the database is the source of truth.
 * Sessions are rows of one table (kernels: id, access key, user, status);
 * each admission counts the running sessions of its scopes with COUNT(*) ...
 * FILTER and, when both are under their limit, inserts the session, in one
 * SERIALIZABLE transaction, retried on serialization failure (40001) and
 * deadlock (40P01), as its scheduler's check_concurrency does. A release
 * deletes the row. A tick: 100 of those checks and inserts in one
 * transaction. One connection per worker thread. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>

#include "tracker_bench.h"

typedef struct bai_ctx {
  char uri[512];
} bai_ctx;

typedef struct bai_proc {
  const bai_ctx *x;
} bai_proc;

typedef struct bai_worker {
  PGconn *c;
  unsigned seed;
  long retries;
} bai_worker;

static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static const char SCHEMA[] =
    "DROP TABLE IF EXISTS kernels;"
    "CREATE TABLE kernels (id TEXT PRIMARY KEY, access_key TEXT NOT NULL, user_id TEXT NOT NULL, "
    "status TEXT NOT NULL, expires_at BIGINT NOT NULL);"
    "CREATE INDEX kernels_ak ON kernels(access_key) WHERE status = 'RUNNING';"
    "CREATE INDEX kernels_user ON kernels(user_id) WHERE status = 'RUNNING';";

static const char SQL_COUNT[] =
    "SELECT count(*) FILTER (WHERE access_key = $1), count(*) FILTER (WHERE user_id = $2) FROM kernels "
    "WHERE status = 'RUNNING' AND (access_key = $1 OR user_id = $2)";
static const char SQL_INSERT[] =
    "INSERT INTO kernels(id, access_key, user_id, status, expires_at) VALUES ($1, $2, $3, 'RUNNING', $4)";
static const char SQL_DELETE[] = "DELETE FROM kernels WHERE id = $1";

static int exec_ok(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok) fprintf(stderr, "bench: backendai: %s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  return ok ? 0 : -1;
}

static int bai_reset(void *ctx) {
  bai_ctx *x = ctx;
  PGconn *c = PQconnectdb(x->uri);
  int st = PQstatus(c) == CONNECTION_OK ? exec_ok(c, SCHEMA) : -1;
  if (PQstatus(c) != CONNECTION_OK) fprintf(stderr, "bench: backendai: %s", PQerrorMessage(c));
  PQfinish(c);
  return st;
}

static int bai_proc_open(void *ctx, void **proc) {
  bai_proc *p = calloc(1, sizeof *p);
  if (!p) return -1;
  p->x = ctx;
  *proc = p;
  return 0;
}

static void bai_proc_close(void *proc) { free(proc); }

static int bai_worker_open(void *proc, void **w) {
  bai_proc *p = proc;
  bai_worker *k = calloc(1, sizeof *k);
  if (!k) return -1;
  k->c = PQconnectdb(p->x->uri);
  if (PQstatus(k->c) != CONNECTION_OK) {
    fprintf(stderr, "bench: backendai: %s", PQerrorMessage(k->c));
    PQfinish(k->c);
    free(k);
    return -1;
  }
  PQsetNoticeProcessor(k->c, quiet, NULL);
  k->seed = (unsigned)(uintptr_t)k ^ (unsigned)getpid();
  PGresult *r = PQprepare(k->c, "count", SQL_COUNT, 2, NULL);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  r = PQprepare(k->c, "insert", SQL_INSERT, 4, NULL);
  ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  r = PQprepare(k->c, "delete", SQL_DELETE, 1, NULL);
  ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    fprintf(stderr, "bench: backendai: prepare: %s", PQerrorMessage(k->c));
    PQfinish(k->c);
    free(k);
    return -1;
  }
  *w = k;
  return 0;
}

static void bai_worker_close(void *w) {
  bai_worker *k = w;
  if (!k) return;
  PQfinish(k->c);
  free(k);
}

enum { OK = 0, RETRY = 1, FAIL = -1 };

/* The SQLSTATE of a failed result: retry on serialization failure or deadlock. */
static int judge(PGresult *r, const char *what) {
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01"))) return RETRY;
  fprintf(stderr, "bench: backendai: %s: %s", what, PQresultErrorMessage(r));
  return FAIL;
}

/* One admission's check and insert inside the open transaction. */
static int check_and_insert(bai_worker *k, const char *sid, const char *const *scopes, int64_t now_us) {
  const char *cp[2] = {scopes[0], scopes[1]};
  PGresult *r = PQexecPrepared(k->c, "count", 2, cp, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    int v = judge(r, "count");
    PQclear(r);
    return v;
  }
  long long n_ak = atoll(PQgetvalue(r, 0, 0)), n_user = atoll(PQgetvalue(r, 0, 1));
  PQclear(r);
  if (n_ak >= TB_LIMIT || n_user >= TB_LIMIT) return FAIL; /* never binding in the workloads */
  char exp[24];
  snprintf(exp, sizeof exp, "%lld", (long long)(now_us + TB_LEASE_US));
  const char *ip[4] = {sid, scopes[0], scopes[1], exp};
  r = PQexecPrepared(k->c, "insert", 4, ip, NULL, NULL, 0);
  int v = PQresultStatus(r) == PGRES_COMMAND_OK ? OK : judge(r, "insert");
  PQclear(r);
  return v;
}

/* Retries of one transaction before the run is called failed: a backoff of
 * up to 1 ms (random) between them, so contending workers spread out. */
#define BAI_RETRIES 10000

static int txn(bai_worker *k, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  for (int attempt = 0; attempt < BAI_RETRIES; attempt++) {
    if (attempt) usleep((useconds_t)(rand_r(&k->seed) % 1000));
    if (exec_ok(k->c, "BEGIN ISOLATION LEVEL SERIALIZABLE")) return -1;
    int v = OK;
    for (size_t j = 0; v == OK && j < n; j++) v = check_and_insert(k, sids[j], scopes + j * TB_SCOPES, now_us);
    if (v == OK) {
      PGresult *r = PQexec(k->c, "COMMIT");
      v = PQresultStatus(r) == PGRES_COMMAND_OK ? OK : judge(r, "commit");
      PQclear(r);
      if (v == OK) return 0;
    }
    if (PQtransactionStatus(k->c) != PQTRANS_IDLE) PQclear(PQexec(k->c, "ROLLBACK"));
    if (v == FAIL) return -1;
    k->retries++;
  }
  fprintf(stderr, "bench: backendai: %d serialization failures in a row\n", BAI_RETRIES);
  return -1;
}

static int bai_admit(void *w, const char *sid, const char *const *scopes, int64_t now_us) {
  return txn(w, 1, &sid, scopes, now_us);
}

static int bai_release(void *w, const char *sid, const char *const *scopes) {
  (void)scopes;
  bai_worker *k = w;
  const char *p[1] = {sid};
  PGresult *r = PQexecPrepared(k->c, "delete", 1, p, NULL, NULL, 0);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdTuples(r), "1");
  if (!ok) fprintf(stderr, "bench: backendai: release of '%s': %s", sid, PQresultErrorMessage(r));
  PQclear(r);
  return ok ? 0 : -1;
}

static int bai_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  return txn(w, n, sids, scopes, now_us);
}

static int bai_release_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  (void)now_us;
  bai_worker *k = w;
  if (exec_ok(k->c, "BEGIN")) return -1;
  for (size_t j = 0; j < n; j++)
    if (bai_release(w, sids[j], scopes + j * TB_SCOPES)) {
      PQclear(PQexec(k->c, "ROLLBACK"));
      return -1;
    }
  return exec_ok(k->c, "COMMIT");
}

static int bai_prefill(void *ctx, size_t n, int64_t now_us) {
  (void)ctx;
  (void)n;
  (void)now_us;
  fprintf(stderr, "bench: backendai: the growth workloads are not run on PostgreSQL\n");
  return -1;
}

int tb_bai_backend(const char *uri, tb_backend *out) {
  bai_ctx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  snprintf(x->uri, sizeof x->uri, "%s", uri);
  memset(out, 0, sizeof *out);
  out->name = "backendai";
  out->durability = "Backend.AI's approach: PostgreSQL rows, COUNT(*) FILTER + INSERT, SERIALIZABLE, retried";
  out->ctx = x;
  out->reset = bai_reset;
  out->proc_open = bai_proc_open;
  out->proc_close = bai_proc_close;
  out->worker_open = bai_worker_open;
  out->worker_close = bai_worker_close;
  out->admit = bai_admit;
  out->release = bai_release;
  out->tick = bai_tick;
  out->release_tick = bai_release_tick;
  out->prefill = bai_prefill;
  return 0;
}

void tb_bai_backend_free(tb_backend *b) {
  free(b->ctx);
  b->ctx = NULL;
}
