/* The SQLite floor: the least any exact tracker on SQLite can cost.
 *
 * Not a tracker. Each admission writes just what an exact, O(log n) design
 * has to write in the same transaction — one session row, one member row per
 * scope, and a count per scope — through prepared statements on one
 * connection per thread, and reads nothing: no retry check, no limit, no
 * expiry, no error messages, and count rows found by an id computed from the
 * scope's name instead of looked up. Same file options as the store (WAL,
 * synchronous=NORMAL). A tracker figure near this one is at the physical
 * limit of SQLite on the machine; a target above it is out of reach for any
 * design that keeps its state in SQLite. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracker_bench.h"

/* Count rows: keypair:AK<u> -> 1 + u, user:<u> -> 1 + TB_USERS + u, domain -> N_COUNTS - 1. */
#define N_COUNTS (2 * TB_USERS + 2)

typedef struct fl_ctx {
  char path[4200];
} fl_ctx;

typedef struct fl_worker {
  sqlite3 *db;
  sqlite3_stmt *begin, *commit, *rollback, *add_session, *add_member, *del_session, *del_member, *count;
  long long delta[N_COUNTS];
} fl_worker;

static const char SCHEMA[] =
    "CREATE TABLE floor_sessions(session TEXT PRIMARY KEY, cls INTEGER NOT NULL, expires_us INTEGER NOT NULL, "
    "  scopes BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE floor_members(scope TEXT NOT NULL, session TEXT NOT NULL, PRIMARY KEY(scope, session)) "
    "  WITHOUT ROWID;"
    "CREATE TABLE floor_counts(id INTEGER PRIMARY KEY, n INTEGER NOT NULL);";

static int fl_count_id(const char *scope) {
  if (!strncmp(scope, "keypair:AK", 10)) return 1 + atoi(scope + 10) % TB_USERS;
  if (!strncmp(scope, "user:", 5)) return 1 + TB_USERS + atoi(scope + 5) % TB_USERS;
  return N_COUNTS - 1;
}

static int fl_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
  fprintf(stderr, "bench: floor: %s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  return -1;
}

static int fl_open_db(const char *path, sqlite3 **db) {
  if (sqlite3_open(path, db) != SQLITE_OK) {
    fprintf(stderr, "bench: floor: cannot open %s\n", path);
    sqlite3_close(*db);
    return -1;
  }
  sqlite3_busy_timeout(*db, 10000);
  return fl_exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
}

static int fl_reset(void *ctx) {
  fl_ctx *x = ctx;
  char p[4300];
  unlink(x->path);
  snprintf(p, sizeof p, "%s-wal", x->path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", x->path);
  unlink(p);
  sqlite3 *db = NULL;
  if (fl_open_db(x->path, &db)) return -1;
  int st = fl_exec(db, SCHEMA);
  for (int i = 0; !st && i < N_COUNTS; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO floor_counts VALUES (%d, 0)", i);
    st = fl_exec(db, sql);
  }
  sqlite3_close(db);
  return st;
}

static int fl_proc_open(void *ctx, void **proc) {
  *proc = ctx;
  return 0;
}

static void fl_proc_close(void *proc) { (void)proc; }

static void fl_worker_close(void *w) {
  fl_worker *k = w;
  if (!k) return;
  sqlite3_stmt *all[] = {k->begin,       k->commit,     k->rollback,   k->add_session,
                         k->add_member,  k->del_session, k->del_member, k->count};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
  sqlite3_close(k->db);
  free(k);
}

static int fl_worker_open(void *proc, void **w) {
  fl_ctx *x = proc;
  fl_worker *k = calloc(1, sizeof *k);
  if (!k) return -1;
  if (fl_open_db(x->path, &k->db)) {
    fl_worker_close(k);
    return -1;
  }
  struct {
    sqlite3_stmt **q;
    const char *sql;
  } st[] = {
      {&k->begin, "BEGIN IMMEDIATE"},
      {&k->commit, "COMMIT"},
      {&k->rollback, "ROLLBACK"},
      {&k->add_session, "INSERT INTO floor_sessions VALUES (?1, 0, ?2, ?3)"},
      {&k->add_member, "INSERT INTO floor_members VALUES (?1, ?2)"},
      {&k->del_session, "DELETE FROM floor_sessions WHERE session = ?1"},
      {&k->del_member, "DELETE FROM floor_members WHERE scope = ?1 AND session = ?2"},
      {&k->count, "UPDATE floor_counts SET n = n + ?2 WHERE id = ?1"},
  };
  for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
    if (sqlite3_prepare_v3(k->db, st[i].sql, -1, SQLITE_PREPARE_PERSISTENT, st[i].q, NULL) != SQLITE_OK) {
      fprintf(stderr, "bench: floor: %s: %s\n", st[i].sql, sqlite3_errmsg(k->db));
      fl_worker_close(k);
      return -1;
    }
  }
  *w = k;
  return 0;
}

static int fl_step(fl_worker *k, sqlite3_stmt *q) {
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc == SQLITE_DONE) return 0;
  fprintf(stderr, "bench: floor: %s: %s\n", sqlite3_sql(q), sqlite3_errmsg(k->db));
  return -1;
}

/* The rows of one session, and its counts into k->delta. */
static int fl_put(fl_worker *k, const char *sid, const char *const *scopes, size_t n, int add, int64_t exp) {
  sqlite3_stmt *s = add ? k->add_session : k->del_session;
  sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
  char blob[2 * 64];
  if (add) { /* the scope list as the tracker stores it: each name and a NUL */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(scopes[i]) + 1;
      if (len + l > sizeof blob) break;
      memcpy(blob + len, scopes[i], l);
      len += l;
    }
    sqlite3_bind_int64(s, 2, exp);
    sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
  }
  if (fl_step(k, s)) return -1;
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *m = add ? k->add_member : k->del_member;
    sqlite3_bind_text(m, 1, scopes[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(m, 2, sid, -1, SQLITE_STATIC);
    if (fl_step(k, m)) return -1;
    k->delta[fl_count_id(scopes[i])] += add ? 1 : -1;
  }
  return 0;
}

static int fl_counts(fl_worker *k) {
  for (int i = 0; i < N_COUNTS; i++) {
    if (!k->delta[i]) continue;
    sqlite3_bind_int(k->count, 1, i);
    sqlite3_bind_int64(k->count, 2, k->delta[i]);
    k->delta[i] = 0;
    if (fl_step(k, k->count)) return -1;
  }
  return 0;
}

/* One transaction over n sessions (n * TB_SCOPES scopes, or `scopes` for all
 * when shared). */
static int fl_txn(fl_worker *k, size_t n, const char *const *sids, const char *const *scopes, size_t per, int add,
                  int64_t now_us) {
  if (fl_step(k, k->begin)) return -1;
  int st = 0;
  for (size_t j = 0; !st && j < n; j++)
    st = fl_put(k, sids[j], scopes + j * per, per, add, now_us + TB_LEASE_US);
  if (!st) st = fl_counts(k);
  if (!st) st = fl_step(k, k->commit);
  if (st) {
    memset(k->delta, 0, sizeof k->delta);
    fl_step(k, k->rollback);
  }
  return st;
}

static int fl_admit(void *w, const char *sid, const char *const *scopes, int64_t now_us) {
  return fl_txn(w, 1, &sid, scopes, TB_SCOPES, 1, now_us);
}

static int fl_release(void *w, const char *sid, const char *const *scopes) {
  return fl_txn(w, 1, &sid, scopes, TB_SCOPES, 0, 0);
}

static int fl_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  return fl_txn(w, n, sids, scopes, TB_SCOPES, 1, now_us);
}

static int fl_release_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  return fl_txn(w, n, sids, scopes, TB_SCOPES, 0, now_us);
}

static int fl_prefill(void *ctx, size_t n, int64_t now_us) {
  fl_worker *k = NULL;
  if (fl_worker_open(ctx, (void **)&k)) return -1;
  int st = 0;
  for (size_t i = 0; !st && i < n;) {
    if ((st = fl_step(k, k->begin)) != 0) break;
    for (size_t end = i + 1000 < n ? i + 1000 : n; !st && i < end; i++) {
      char sid[32], kp[32], user[32];
      snprintf(sid, sizeof sid, "held-%zu", i);
      tb_scope_names((unsigned)(i % TB_USERS), kp, user);
      const char *sc[] = {TB_DOMAIN, user};
      st = fl_put(k, sid, sc, 2, 1, now_us + TB_LEASE_US);
    }
    if (!st) st = fl_counts(k);
    if (!st) st = fl_step(k, k->commit);
  }
  fl_worker_close(k);
  return st;
}

int tb_floor_backend(const char *db_path, tb_backend *out) {
  fl_ctx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  snprintf(x->path, sizeof x->path, "%s", db_path);
  memset(out, 0, sizeof *out);
  out->name = "sql_floor";
  out->durability = "not a tracker: the rows an exact tracker must write, raw SQLite, WAL, synchronous=NORMAL";
  out->ctx = x;
  out->reset = fl_reset;
  out->proc_open = fl_proc_open;
  out->proc_close = fl_proc_close;
  out->worker_open = fl_worker_open;
  out->worker_close = fl_worker_close;
  out->admit = fl_admit;
  out->release = fl_release;
  out->tick = fl_tick;
  out->release_tick = fl_release_tick;
  out->prefill = fl_prefill;
  return 0;
}

void tb_floor_backend_free(tb_backend *b) {
  free(b->ctx);
  b->ctx = NULL;
}
