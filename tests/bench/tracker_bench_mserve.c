/* libmserve's tracker as a benchmark backend: an SQLite file on disk in WAL
 * mode with synchronous=NORMAL (the store's default). Threads of one process
 * share one ms_store + ms_tracker (the documented usage); each process opens
 * its own. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mserve/store.h"
#include "mserve/tracker.h"
#include "tracker_bench.h"

typedef struct mb_ctx {
  char path[4096];
} mb_ctx;

typedef struct mb_proc {
  ms_store *store;
  ms_tracker *tracker;
} mb_proc;

long long tb_mserve_autocheckpoint = -1;

const char *tb_sqlite_version(void) { return sqlite3_libversion(); }

static int fail(const char *what, int st) {
  fprintf(stderr, "bench: tracker: %s: %s: %s\n", what, ms_status_name(st), ms_errmsg());
  return -1;
}

static void remove_db(const char *path) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal", "-mslock"};
  for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
}

static int mb_proc_open(void *ctx, void **proc) {
  mb_ctx *x = ctx;
  mb_proc *p = calloc(1, sizeof *p);
  if (!p) return -1;
  int st = ms_store_open(x->path, 0, &p->store);
  if (st) {
    free(p);
    return fail("open store", st);
  }
  if (tb_mserve_autocheckpoint >= 0) ms_store_set_autocheckpoint(p->store, tb_mserve_autocheckpoint);
  st = ms_tracker_open(p->store, &p->tracker);
  if (st) {
    ms_store_close(p->store);
    free(p);
    return fail("open tracker", st);
  }
  *proc = p;
  return 0;
}

static void mb_proc_close(void *proc) {
  mb_proc *p = proc;
  if (!p) return;
  ms_tracker_close(p->tracker);
  ms_store_close(p->store);
  free(p);
}

/* A fresh database file with a limit on every scope the workloads use, so
 * the limit check really runs (never binding: TB_LIMIT). */
static int mb_reset(void *ctx) {
  mb_ctx *x = ctx;
  if (strncmp(x->path, "postgres", 8) == 0) {
    if (tb_pg_recreate(x->path)) return -1; /* a fresh database on the server */
  } else {
    remove_db(x->path);
  }
  void *proc = NULL;
  if (mb_proc_open(ctx, &proc)) return -1;
  mb_proc *p = proc;
  int st = 0;
  for (unsigned u = 0; !st && u < TB_USERS; u++) {
    char kp[32], user[32];
    tb_scope_names(u, kp, user);
    st = ms_tracker_set_limit(p->tracker, kp, MS_CLASS_COMPUTE, TB_LIMIT);
    if (!st) st = ms_tracker_set_limit(p->tracker, user, MS_CLASS_COMPUTE, TB_LIMIT);
  }
  if (!st) st = ms_tracker_set_limit(p->tracker, TB_DOMAIN, MS_CLASS_COMPUTE, TB_LIMIT);
  if (st) fail("set limits", st);
  mb_proc_close(proc);
  return st ? -1 : 0;
}

/* Threads share their process's tracker. */
static int mb_worker_open(void *proc, void **w) {
  *w = proc;
  return 0;
}

static void mb_worker_close(void *w) { (void)w; }

static int mb_admit(void *w, const char *sid, const char *const *scopes, int64_t now_us) {
  mb_proc *p = w;
  int st = ms_tracker_admit(p->tracker, sid, MS_CLASS_COMPUTE, scopes, TB_SCOPES, TB_LEASE_US, now_us, NULL);
  return st ? fail("admit", st) : 0;
}

static int mb_release(void *w, const char *sid, const char *const *scopes) {
  (void)scopes; /* the tracker knows them */
  mb_proc *p = w;
  int was_held = 0;
  int st = ms_tracker_release(p->tracker, sid, ms_clock_realtime_us(), &was_held);
  if (st) return fail("release", st);
  if (!was_held) {
    fprintf(stderr, "bench: tracker: release of '%s': it was not held\n", sid);
    return -1;
  }
  return 0;
}

static int mb_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  mb_proc *p = w;
  ms_tracker_txn *x = NULL;
  int st = ms_tracker_begin(p->tracker, &x);
  if (st) return fail("begin tick", st);
  for (size_t j = 0; j < n; j++) {
    st = ms_tracker_txn_admit(x, sids[j], MS_CLASS_COMPUTE, scopes + j * TB_SCOPES, TB_SCOPES, TB_LEASE_US,
                              now_us, NULL);
    if (st) {
      ms_tracker_txn_rollback(x);
      return fail("admit in tick", st);
    }
  }
  st = ms_tracker_txn_commit(x);
  return st ? fail("commit tick", st) : 0;
}

static int mb_release_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  (void)scopes;
  mb_proc *p = w;
  ms_tracker_txn *x = NULL;
  int st = ms_tracker_begin(p->tracker, &x);
  if (st) return fail("begin release tick", st);
  for (size_t j = 0; j < n; j++) {
    int was_held = 0;
    if ((st = ms_tracker_txn_release(x, sids[j], now_us, &was_held)) != MS_OK || !was_held) {
      ms_tracker_txn_rollback(x);
      if (!st) fprintf(stderr, "bench: tracker: release of '%s' in a tick: it was not held\n", sids[j]);
      return st ? fail("release in tick", st) : -1;
    }
  }
  st = ms_tracker_txn_commit(x);
  return st ? fail("commit release tick", st) : 0;
}

/* n sessions held by the domain, 1,000 per tick. The domain's limit is
 * lifted meanwhile: the tracker before counted sets counted a limited scope's
 * members at every admission, which would make the fill itself quadratic
 * (the fill is not measured; the limit is back before the runs). */
static int mb_prefill(void *ctx, size_t n, int64_t now_us) {
  void *proc = NULL;
  if (mb_proc_open(ctx, &proc)) return -1;
  mb_proc *p = proc;
  int st = ms_tracker_set_limit(p->tracker, TB_DOMAIN, MS_CLASS_COMPUTE, MS_UNLIMITED);
  for (size_t i = 0; !st && i < n;) {
    ms_tracker_txn *x = NULL;
    if ((st = ms_tracker_begin(p->tracker, &x)) != MS_OK) break;
    for (size_t end = i + 1000 < n ? i + 1000 : n; !st && i < end; i++) {
      char sid[32], kp[32], user[32];
      snprintf(sid, sizeof sid, "held-%zu", i);
      tb_scope_names((unsigned)(i % TB_USERS), kp, user);
      const char *sc[] = {TB_DOMAIN, user};
      st = ms_tracker_txn_admit(x, sid, MS_CLASS_COMPUTE, sc, 2, 0, now_us, NULL);
    }
    if (st) ms_tracker_txn_rollback(x);
    else st = ms_tracker_txn_commit(x);
  }
  if (!st) st = ms_tracker_set_limit(p->tracker, TB_DOMAIN, MS_CLASS_COMPUTE, TB_LIMIT);
  if (st) fail("prefill", st);
  mb_proc_close(proc);
  return st ? -1 : 0;
}

int tb_mserve_backend(const char *db_path, tb_backend *out) {
  mb_ctx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  snprintf(x->path, sizeof x->path, "%s", db_path);
  memset(out, 0, sizeof *out);
  out->name = "tracker";
  out->durability = strncmp(db_path, "postgres", 8) == 0
                        ? "libmserve tracker: PostgreSQL 15 on this machine (loopback), fsync on, synchronous_commit on"
                        : "libmserve tracker: SQLite file on disk, WAL, synchronous=NORMAL (store default)";
  out->ctx = x;
  out->reset = mb_reset;
  out->proc_open = mb_proc_open;
  out->proc_close = mb_proc_close;
  out->worker_open = mb_worker_open;
  out->worker_close = mb_worker_close;
  out->admit = mb_admit;
  out->release = mb_release;
  out->tick = mb_tick;
  out->release_tick = mb_release_tick;
  out->prefill = mb_prefill;
  return 0;
}

void tb_mserve_backend_free(tb_backend *b) {
  mb_ctx *x = b ? b->ctx : NULL;
  if (!x) return;
  remove_db(x->path);
  free(x);
  b->ctx = NULL;
}
