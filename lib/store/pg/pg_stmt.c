/* Statements of the PostgreSQL backend (store/stmt.h's ms_stmt, store/pg/pg.h).
 *
 * A statement is prepared on the connection the first time it runs there
 * (and again after a reconnect, which the epoch shows). Binding copies each
 * value into the statement's own buffers, as text (blobs as binary); the
 * first step sends it (PQexecPrepared) and keeps the result, later steps walk
 * its rows, and reset drops it. Results come back as text: integers parse
 * with strtoll, booleans ('t'/'f') as 1/0, bytea's hex form is decoded on
 * demand into a buffer per column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg.h"
#include "store/stmt.h"

char *ms__pg_rewrite(const char *sql, int *nparams) {
  size_t n = strlen(sql);
  char *out = malloc(n * 2 + 1); /* "?" -> "$NN" at most triples a byte; ?N -> $N keeps it */
  if (!out) return NULL;
  int next = 0, max = 0;
  char quote = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = sql[i];
    if (quote) {
      if (ch == quote) quote = 0;
      out[o++] = ch;
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out[o++] = ch;
      continue;
    }
    if (ch != '?') {
      out[o++] = ch;
      continue;
    }
    int k = 0;
    size_t j = i + 1;
    while (j < n && sql[j] >= '0' && sql[j] <= '9') k = k * 10 + (sql[j++] - '0');
    if (j == i + 1) k = ++next; /* a bare "?": the next number */
    else next = k;
    if (k > max) max = k;
    o += (size_t)snprintf(out + o, 12, "$%d", k);
    i = j - 1;
  }
  out[o] = '\0';
  *nparams = max;
  return out;
}

ms__pg_stmt *ms__pg_stmt_new(ms_store *s, const char *sql, int *status) {
  ms__pg_stmt *q = calloc(1, sizeof *q);
  int np = 0;
  if (q) q->text = ms__pg_rewrite(sql, &np);
  if (q && q->text && np > 0) {
    q->vals = calloc((size_t)np, sizeof *q->vals);
    q->lens = calloc((size_t)np, sizeof *q->lens);
    q->fmts = calloc((size_t)np, sizeof *q->fmts);
    q->caps = calloc((size_t)np, sizeof *q->caps);
  }
  if (!q || !q->text || (np > 0 && (!q->vals || !q->lens || !q->fmts || !q->caps))) {
    ms__pg_stmt_free(q);
    int st = ms__fail(MS_ENOMEM, "store '%s': out of memory preparing a statement", s->path);
    if (status) *status = st;
    return NULL;
  }
  q->sql = sql;
  q->nparams = np;
  for (int i = 0; i < np; i++) q->lens[i] = -1; /* unbound: NULL, as SQLite's */
  snprintf(q->name, sizeof q->name, "ms_%llu", (unsigned long long)++ms__pg_cur(s)->next_name);
  return q;
}

static void drop_result(ms__pg_stmt *q) {
  if (q->res) PQclear(q->res);
  q->res = NULL;
  q->row = q->nrows = 0;
}

void ms__pg_stmt_free(ms__pg_stmt *q) {
  if (!q) return;
  drop_result(q);
  for (int i = 0; i < q->nparams && q->vals; i++) free(q->vals[i]);
  for (int i = 0; i < q->nblobs; i++) free(q->blobs[i].p);
  free(q->blobs);
  free(q->vals);
  free(q->lens);
  free(q->fmts);
  free(q->caps);
  free(q->text);
  free(q);
}

/* ---- binding ------------------------------------------------------------------------ */

/* Room for parameter i (1-based) of n bytes; NULL when i is out of range or
 * memory ran out (the statement then fails at its step, as SQLite's would
 * with a bind error ignored: the value is sent as NULL). */
static char *slot(ms__pg_stmt *q, int i, size_t n) {
  if (i < 1 || i > q->nparams) return NULL;
  int k = i - 1;
  if ((size_t)q->caps[k] < n + 1) {
    char *p = realloc(q->vals[k], n + 1);
    if (!p) return NULL;
    q->vals[k] = p;
    q->caps[k] = (int)(n + 1);
  }
  return q->vals[k];
}

static void set(ms__pg_stmt *q, int i, const void *v, size_t n, int binary) {
  char *p = slot(q, i, n);
  if (!p) {
    if (i >= 1 && i <= q->nparams) q->lens[i - 1] = -1;
    return;
  }
  memcpy(p, v, n);
  p[n] = '\0';
  q->lens[i - 1] = (int)n;
  q->fmts[i - 1] = binary;
}

void ms__pg_bind_int64(ms__pg_stmt *q, int i, int64_t v) {
  char b[24];
  int n = snprintf(b, sizeof b, "%lld", (long long)v);
  set(q, i, b, (size_t)n, 0);
}

void ms__pg_bind_double(ms__pg_stmt *q, int i, double v) {
  char b[40];
  int n = snprintf(b, sizeof b, "%.17g", v);
  set(q, i, b, (size_t)n, 0);
}

void ms__pg_bind_text(ms__pg_stmt *q, int i, const char *v, int len) {
  if (!v) {
    ms__pg_bind_null(q, i);
    return;
  }
  set(q, i, v, len < 0 ? strlen(v) : (size_t)len, 0);
}

void ms__pg_bind_blob(ms__pg_stmt *q, int i, const void *v, int len) {
  if (!v) {
    ms__pg_bind_null(q, i);
    return;
  }
  set(q, i, v, (size_t)(len < 0 ? 0 : len), 1);
}

void ms__pg_bind_null(ms__pg_stmt *q, int i) {
  if (i >= 1 && i <= q->nparams) q->lens[i - 1] = -1;
}

void ms__pg_reset(ms__pg_stmt *q) {
  drop_result(q);
  for (int i = 0; i < q->nparams; i++) q->lens[i] = -1; /* unbound: NULL, as SQLite's */
}

/* ---- running -------------------------------------------------------------------------- */

static int prepare(ms_store *s, ms__pg_stmt *q) {
  ms__pg_conn *c = ms__pg_cur(s);
  PGresult *r = PQprepare(c->conn, q->name, q->text, 0, NULL);
  int st = PQresultStatus(r) == PGRES_COMMAND_OK ? MS_OK : ms__pg_fail(s, r, "prepare statement");
  PQclear(r);
  if (!st) q->epoch = c->epoch;
  return st;
}

static int run(ms_store *s, ms__pg_stmt *q, const char *what) {
  ms__pg_conn *c = ms__pg_cur(s);
  int st;
  /* outside a transaction (an autocommit read) a lost connection is made
   * again here; inside one the transaction is gone and the call fails */
  if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
    if (c == s->pg && s->in_txn) return ms__fail(MS_EIO, "store '%s': %s: the connection to the server was lost", s->path, what);
    if ((st = ms__pg_ensure(s)) != MS_OK) return st;
  }
  if (q->epoch != c->epoch && (st = prepare(s, q)) != MS_OK) return st;
  const char *const *vals = (const char *const *)q->vals;
  char *nulls[64];
  const char **v = (const char **)nulls;
  char **heap = NULL;
  if (q->nparams > 64) {
    heap = malloc((size_t)q->nparams * sizeof *heap);
    if (!heap) return ms__fail(MS_ENOMEM, "store '%s': %s: out of memory", s->path, what);
    v = (const char **)heap;
  }
  for (int i = 0; i < q->nparams; i++) v[i] = q->lens[i] < 0 ? NULL : vals[i];
  q->res = PQexecPrepared(c->conn, q->name, q->nparams, v, q->lens, q->fmts, 0);
  free(heap);
  ExecStatusType t = PQresultStatus(q->res);
  if (t == PGRES_TUPLES_OK) {
    q->nrows = PQntuples(q->res);
    q->row = -1;
    return MS_OK;
  }
  if (t == PGRES_COMMAND_OK) {
    const char *n = PQcmdTuples(q->res);
    c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
    q->nrows = 0;
    q->row = -1;
    return MS_OK;
  }
  st = ms__pg_fail(s, q->res, what);
  drop_result(q);
  return st;
}

int ms__pg_step_row(ms_store *s, ms__pg_stmt *q, const char *what, int *row) {
  *row = 0;
  if (!q->res) {
    int st = run(s, q, what);
    if (st) {
      ms__pg_reset(q);
      return st;
    }
    /* an UPDATE ... RETURNING counts the rows it returned as changed */
    if (PQresultStatus(q->res) == PGRES_TUPLES_OK) {
      const char *n = PQcmdTuples(q->res);
      if (n && *n) ms__pg_cur(s)->changes = strtoll(n, NULL, 10);
    }
  }
  if (++q->row < q->nrows) {
    *row = 1;
    return MS_OK;
  }
  ms__pg_reset(q);
  return MS_OK;
}

/* ---- columns -------------------------------------------------------------------------- */

static int has(const ms__pg_stmt *q, int c) {
  return q->res && q->row >= 0 && q->row < q->nrows && c >= 0 && c < PQnfields(q->res);
}

int ms__pg_col_is_null(ms__pg_stmt *q, int c) { return !has(q, c) || PQgetisnull(q->res, q->row, c); }

const char *ms__pg_col_text(ms__pg_stmt *q, int c) {
  return ms__pg_col_is_null(q, c) ? NULL : PQgetvalue(q->res, q->row, c);
}

int64_t ms__pg_col_int64(ms__pg_stmt *q, int c) {
  const char *v = ms__pg_col_text(q, c);
  if (!v) return 0;
  if (v[0] == 't' && !v[1]) return 1; /* boolean */
  if (v[0] == 'f' && !v[1]) return 0;
  return strtoll(v, NULL, 10);
}

double ms__pg_col_double(ms__pg_stmt *q, int c) {
  const char *v = ms__pg_col_text(q, c);
  return v ? strtod(v, NULL) : 0.0;
}

static int hexval(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

#define BYTEA_OID 17

/* The column as bytes: bytea decoded from its hex form ("\x..."), any other
 * type its text. */
static int bytes_of(ms__pg_stmt *q, int c, const void **p, size_t *n) {
  *p = NULL;
  *n = 0;
  const char *v = ms__pg_col_text(q, c);
  if (!v) return 0;
  if (PQftype(q->res, c) != BYTEA_OID || v[0] != '\\' || v[1] != 'x') {
    *p = v;
    *n = (size_t)PQgetlength(q->res, q->row, c);
    return 0;
  }
  if (c >= q->nblobs) {
    int want = PQnfields(q->res);
    void *b = realloc(q->blobs, (size_t)want * sizeof *q->blobs);
    if (!b) return -1;
    q->blobs = b;
    memset(q->blobs + q->nblobs, 0, (size_t)(want - q->nblobs) * sizeof *q->blobs);
    for (int i = q->nblobs; i < want; i++) q->blobs[i].row = -1;
    q->nblobs = want;
  }
  size_t len = (size_t)PQgetlength(q->res, q->row, c);
  size_t bytes = (len - 2) / 2;
  if (q->blobs[c].cap < bytes + 1) {
    unsigned char *np = realloc(q->blobs[c].p, bytes + 1);
    if (!np) return -1;
    q->blobs[c].p = np;
    q->blobs[c].cap = bytes + 1;
  }
  for (size_t i = 0; i < bytes; i++) {
    int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
    q->blobs[c].p[i] = (unsigned char)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
  }
  q->blobs[c].p[bytes] = 0;
  q->blobs[c].n = bytes;
  *p = q->blobs[c].p;
  *n = bytes;
  return 0;
}

const void *ms__pg_col_blob(ms__pg_stmt *q, int c) {
  const void *p;
  size_t n;
  if (bytes_of(q, c, &p, &n) != 0) return NULL;
  return n ? p : NULL; /* SQLite: a zero-length blob reads as NULL */
}

int ms__pg_col_bytes(ms__pg_stmt *q, int c) {
  const void *p;
  size_t n;
  if (bytes_of(q, c, &p, &n) != 0) return 0;
  return (int)n;
}
