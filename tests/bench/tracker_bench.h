/* Shared pieces of the tracker-vs-Redis benchmark (tracker_vs_redis.c).
 *
 * Every system under test is a tb_backend: a small table of functions the
 * workload drivers call without knowing whether libmserve's tracker or a
 * Redis server sits behind it, so both sides run the very same loops, with
 * the same session ids, scopes, limits and leases. */
#ifndef TRACKER_BENCH_H
#define TRACKER_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define TB_SCOPES 2              /* scopes named by every admit: keypair + user */
#define TB_USERS 64              /* users (and key pairs) sessions spread over */
#define TB_LIMIT 1000000         /* per-scope limit: high enough that nothing is denied */
#define TB_TICK 100              /* sessions admitted per scheduler tick */
#define TB_LEASE_US (60 * 1000000LL) /* lease of every admitted session */

/* ---- latency samples (tracker_bench_stats.c) ------------------------------ */

/* Per-call latencies of one worker, nanoseconds (capped at UINT32_MAX). */
typedef struct tb_samples {
  uint32_t *ns;
  size_t n, cap;
} tb_samples;

int tb_samples_add(tb_samples *s, uint64_t ns);           /* 0, or -1 out of memory */
int tb_samples_append(tb_samples *dst, const tb_samples *src);
void tb_samples_free(tb_samples *s);
/* Mean in microseconds; 0 when empty. */
double tb_samples_mean_us(const tb_samples *s);
/* Percentile (0..100) in microseconds; sorts the samples. 0 when empty. */
double tb_samples_pct_us(tb_samples *s, double pct);
/* Median of v[0..n) (sorts v); 0 when n == 0. */
double tb_median(double *v, size_t n);
/* CLOCK_MONOTONIC in nanoseconds: comparable across processes. */
uint64_t tb_now_ns(void);

/* ---- where the time goes (tracker_bench_vfs.c) ------------------------------ */

/* Per thread: time in WAL writes, other writes, syncs and WAL shared-memory
 * locks, WAL bytes, commits (frames that end a transaction), and, filled by
 * the workers, CPU time and context switches (voluntary: slept, e.g. on a
 * lock; involuntary: preempted). */
typedef struct tb_io {
  uint64_t wal_write_ns, wal_bytes, db_write_ns, sync_ns, syncs, shm_lock_ns, commits;
  uint64_t cpu_ns, vcsw, ivcsw;
} tb_io;

/* Make SQLite's default VFS a timing wrapper of itself (before any store is
 * opened; for the breakdown runs only). 0 or -1. */
int tb_vfs_install(void);
/* This thread's counters since the last take, then zeroed. */
void tb_io_take(tb_io *out);
void tb_io_add(tb_io *sum, const tb_io *x);
/* Workers measure CPU time and context switches and take their I/O counters. */
extern int tb_breakdown;

/* ---- systems under test ---------------------------------------------------- */

typedef struct tb_backend {
  const char *name;       /* "tracker", "redis", "redis_aof" */
  const char *durability; /* one line for the table and the JSON */
  void *ctx;
  /* Fresh, empty state with the limits in place. Called in the parent with
   * no process handle open (so forking afterwards is safe). */
  int (*reset)(void *ctx);
  /* Per-process handle, shared by the threads of that process. */
  int (*proc_open)(void *ctx, void **proc);
  void (*proc_close)(void *proc);
  /* Per-worker (thread) handle. */
  int (*worker_open)(void *proc, void **w);
  void (*worker_close)(void *w);
  /* One admission over TB_SCOPES scopes; 0 or -1 (message on stderr). */
  int (*admit)(void *w, const char *sid, const char *const *scopes, int64_t now_us);
  /* One release; `scopes` are those named at admission (Redis needs them). */
  int (*release)(void *w, const char *sid, const char *const *scopes);
  /* One scheduler tick: admit n sessions in one transaction / script call;
   * scopes holds n * TB_SCOPES names. */
  int (*tick)(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us);
  /* Release n sessions in one transaction / script call. */
  int (*release_tick)(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us);
  /* After reset, in the parent: n sessions held by TB_DOMAIN, each also in
   * user:<i % TB_USERS>, with no lease (Redis: a score far in the future). */
  int (*prefill)(void *ctx, size_t n, int64_t now_us);
} tb_backend;

/* The domain scope of the growth workload, with a limit of TB_LIMIT. */
#define TB_DOMAIN "domain:D"

/* Scope names of user u: "keypair:AK<u>" and "user:<u>". */
void tb_scope_names(unsigned u, char keypair[32], char user[32]);

/* ---- the tracker (tracker_bench_mserve.c) ---------------------------------- */

/* The tracker over an SQLite file at db_path (WAL, synchronous=NORMAL). */
int tb_mserve_backend(const char *db_path, tb_backend *out);
/* The store's auto-checkpoint threshold for the tracker backend; -1 = the
 * store's default. */
extern long long tb_mserve_autocheckpoint;
void tb_mserve_backend_free(tb_backend *b);
const char *tb_sqlite_version(void);

/* ---- PostgreSQL (tracker_bench_bai.c, tracker_bench_pg.c) ------------------- */

/* Backend.AI's approach over libpq at uri: COUNT(*) FILTER + INSERT per
 * admission in a SERIALIZABLE transaction, retried on serialization failure. */
int tb_bai_backend(const char *uri, tb_backend *out);
void tb_bai_backend_free(tb_backend *b);
/* Drop and create again the database uri names (through the server's
 * "postgres" database). 0 or -1. */
int tb_pg_recreate(const char *uri);
/* --backend postgresql: the tracker on PostgreSQL, Backend.AI's approach and
 * Redis, on one server started for the run; prints a table, writes JSON. */
int tb_pg_main(int repeats, double seconds, const char *json, const char *redis_bin);

/* ---- the SQLite floor (tracker_bench_floor.c) ------------------------------- */

/* Not a tracker: the rows an exact tracker must write per admission, raw
 * SQLite at db_path, nothing read (the bound on any tracker on SQLite). */
int tb_floor_backend(const char *db_path, tb_backend *out);
void tb_floor_backend_free(tb_backend *b);

/* ---- Redis (tracker_bench_redis.c) ------------------------------------------ */

/* Start `server_bin` on a free 127.0.0.1 port, data dir `dir`, with AOF
 * (appendonly yes, appendfsync everysec) when aof != 0, else no persistence;
 * load the Lua scripts. The server is killed by tb_redis_backend_free, and
 * by tb_redis_kill_all at exit or on a signal. */
int tb_redis_backend(const char *server_bin, const char *dir, int aof, tb_backend *out);
void tb_redis_backend_free(tb_backend *b);
const char *tb_redis_version(const tb_backend *b);
/* Kill every server this process started (async-signal-safe; registered
 * with atexit by the first tb_redis_backend; call it from signal handlers). */
void tb_redis_kill_all(void);
/* redis-server found on PATH (or as given)? Fills `path` when found. */
int tb_redis_find(const char *name, char *path, size_t path_len);

/* ---- workloads (tracker_bench_run.c) ---------------------------------------- */

typedef struct tb_result {
  uint64_t ops;      /* admit + release calls (W1, W3, W4, growth) or ticks (W2) */
  uint64_t sessions; /* sessions admitted and released */
  double seconds;    /* wall window: first worker start to last worker end */
  tb_samples lat;    /* per call; W2: per tick admit (one txn / one script) */
  tb_io io;          /* summed over the workers (breakdown runs) */
  int workers;
} tb_result;

void tb_result_free(tb_result *r);
/* W1: one client, admit then release. */
int tb_run_single(const tb_backend *b, double seconds, tb_result *r);
/* W2: ticks of TB_TICK admits in one transaction, then TB_TICK releases:
 * one call each, or (batched) one more transaction / script call. */
int tb_run_ticks(const tb_backend *b, double seconds, int batched, tb_result *r);
/* Growth: `held` sessions prefilled into TB_DOMAIN, then one client admits
 * and releases sessions naming TB_DOMAIN and a user scope. */
int tb_run_growth(const tb_backend *b, size_t held, double seconds, tb_result *r);
/* W3 / W4: `procs` processes (1 = this one) of `threads` threads each. */
int tb_run_workers(const tb_backend *b, int procs, int threads, double seconds, tb_result *r);
/* Kill and reap W4's worker processes (async-signal-safe; for handlers). */
void tb_workers_kill_all(void);

#endif
