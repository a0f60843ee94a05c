/* bench-tracker (tracker_vs_redis.c) — libmserve's concurrency tracker against the Redis design
 * Backend.AI proposed (sorted sets + an idempotent admission Lua script via
 * hiredis), measured in the same run on the same machine.
 *
 *   bench-tracker [--quick] [--json FILE] [--repeats N] [--seconds S] [--no-aof]
 *                 [--redis-server PATH] [--only w1,w3,...] [--autocheckpoint N] [--breakdown]
 *   bench-tracker --backend postgresql [--quick] [--json FILE] [--repeats N] [--seconds S]
 *                 (tracker_bench_pg.c)
 *
 * Workloads, each for the tracker and for Redis:
 *   W1 one client: admit then release, one call each;
 *   W2 a scheduler tick: 100 admits in one transaction (Redis: one script call),
 *      then 100 release calls; W2B the same with the 100 releases in one more
 *      transaction (Redis: one more script call). Besides ticks per second of
 *      the whole cycle, the table gives the rate of the tick alone (one
 *      second over the mean time of the tick's admit transaction);
 *   W3 4 threads in one process (one shared ms_store + ms_tracker; Redis: one
 *      connection per thread);
 *   W4 2 processes x 2 threads (each process opens its own store);
 *   G0, G1K, G10K, G100K growth: one client admits and releases sessions
 *      naming domain:D and a user scope after domain:D was filled with 0, 1 k,
 *      10 k or 100 k held sessions (Redis: as many members in its sorted set).
 * An op is one admit or one release call (W2: one tick). Each measurement is
 * repeated (5 times, --quick: once) and the medians are reported; ratios are
 * taken between medians. --breakdown then runs W3 and W4 once more for the
 * tracker through a timing VFS and reports where the time of a commit and of
 * an op goes, measured (WAL writes, syncs, shared-memory locks, CPU, time off
 * the CPU, sleeps and preemptions per op). Prints a table and writes every
 * raw run to JSON. */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mserve/common.h"
#include "tracker_bench.h"

enum { KIND_CALLS = 0, KIND_TICKS = 1, KIND_TICKS_BATCHED = 2, KIND_GROWTH = 3 };

typedef struct workload {
  const char *id, *title;
  int kind, procs, threads;
  size_t held; /* growth: sessions the domain holds */
} workload;

static const workload WORKLOADS[] = {
    {"w1", "one client: admit then release", KIND_CALLS, 1, 1, 0},
    {"w2", "scheduler tick: 100 admits in one transaction, then 100 release calls", KIND_TICKS, 1, 1, 0},
    {"w2b", "scheduler tick: 100 admits in one transaction, then 100 releases in one more", KIND_TICKS_BATCHED, 1, 1,
     0},
    {"w3", "4 threads in one process", KIND_CALLS, 1, 4, 0},
    {"w4", "2 processes x 2 threads", KIND_CALLS, 2, 2, 0},
    {"g0", "growth: admit + release naming domain:D and a user; domain:D holds 0", KIND_GROWTH, 1, 1, 0},
    {"g1k", "growth: domain:D holds 1,000", KIND_GROWTH, 1, 1, 1000},
    {"g10k", "growth: domain:D holds 10,000", KIND_GROWTH, 1, 1, 10000},
    {"g100k", "growth: domain:D holds 100,000", KIND_GROWTH, 1, 1, 100000},
};
enum { W1 = 0, W2 = 1, W2B = 2, W3 = 3, W4 = 4, G0 = 5, G100K = 8 };
#define N_WORKLOADS (sizeof WORKLOADS / sizeof WORKLOADS[0])
#define MAX_BACKENDS 4
#define MAX_REPEATS 50

typedef struct run_stats {
  double rate;        /* ops/s (W2: ticks/s) */
  double mean_us;     /* mean latency (W2: of the tick's admit transaction) */
  double p50_us, p99_us, max_us;
  double us_per_session;
  double seconds;
  uint64_t ops, sessions;
} run_stats;

typedef struct cell { /* one workload x one backend */
  int present;
  size_t n;
  run_stats runs[MAX_REPEATS];
  double med_rate, med_mean, med_p50, med_p99, med_us_per_session;
} cell;

/* The breakdown runs (--breakdown): W3 and W4 of the tracker. */
typedef struct breakdown {
  int present;
  double seconds;
  uint64_t ops;
  int workers;
  tb_io io;
  double p99_us;
} breakdown;
static breakdown g_bd[2];

static cell g_cells[N_WORKLOADS][MAX_BACKENDS];
/* Backend 0 is the tracker; Redis, when present, is 1 (and 2 with AOF); the
 * SQLite floor comes last (g_floor; -1 when not run). */
static int g_redis, g_floor = -1;
static double g_load_start = -1, g_load_end = -1; /* 1-minute load average: how busy the machine was */

static double load1(void) {
  double l[1];
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}
static char g_tmpdir[4096];
static pid_t g_main_pid;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* Runs after tb_redis_kill_all (atexit order is reverse registration; the
 * servers are registered later), so the servers are gone first. */
static void cleanup_tmpdir(void) {
  if (getpid() == g_main_pid && g_tmpdir[0]) nftw(g_tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Interrupted: no server and no scratch folder may outlive the run. nftw is
 * not async-signal-safe, but the process dies right after, so the worst case
 * is a folder left behind. */
static void on_signal(int sig) {
  tb_workers_kill_all();
  tb_redis_kill_all();
  cleanup_tmpdir();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int make_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = P_tmpdir;
  snprintf(g_tmpdir, sizeof g_tmpdir, "%s/mserve-bench-tracker-XXXXXX", base);
  if (!mkdtemp(g_tmpdir)) {
    perror("bench: mkdtemp");
    g_tmpdir[0] = '\0';
    return -1;
  }
  atexit(cleanup_tmpdir);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-tracker [--quick] [--json FILE] [--repeats N] [--seconds S]\n"
          "                     [--no-aof] [--redis-server PATH] [--only LIST] [--autocheckpoint N]\n"
          "  --quick          one short run per measurement (~10 s smoke run)\n"
          "  --json FILE      where to write the results (default bench-tracker.json)\n"
          "  --repeats N      runs per measurement, medians reported (default 5)\n"
          "  --seconds S      length of each run (default 0.8; --quick 0.15)\n"
          "  --no-aof         skip the second Redis baseline with appendonly yes/everysec\n"
          "  --redis-server P the redis-server binary (default: redis-server on PATH)\n"
          "  --only LIST      run only these workloads and backends, e.g. w1,w3,tracker\n"
          "                   (for profiling; targets then report what was measured)\n"
          "  --autocheckpoint N  the store's auto-checkpoint threshold in WAL frames\n"
          "                   (default: the store's own, 1000; 0 = no checkpoints during the runs)\n"
          "  --breakdown      then run w3 and w4 once more for the tracker through a timing VFS\n"
          "                   and report where a commit's and an op's time goes\n"
          "  --backend postgresql  instead: the tracker on a PostgreSQL server started for the run, against\n"
          "                   Backend.AI's approach (COUNT(*) FILTER + INSERT, SERIALIZABLE) and Redis:\n"
          "                   w1, w2 and w12 (3 processes x 4 threads)\n");
}

static void summarize(cell *c, int kind) {
  double v[MAX_REPEATS];
  for (size_t i = 0; i < c->n; i++) v[i] = c->runs[i].rate;
  c->med_rate = tb_median(v, c->n);
  for (size_t i = 0; i < c->n; i++) v[i] = c->runs[i].p50_us;
  c->med_p50 = tb_median(v, c->n);
  for (size_t i = 0; i < c->n; i++) v[i] = c->runs[i].p99_us;
  c->med_p99 = tb_median(v, c->n);
  for (size_t i = 0; i < c->n; i++) v[i] = c->runs[i].us_per_session;
  c->med_us_per_session = tb_median(v, c->n);
  for (size_t i = 0; i < c->n; i++) v[i] = c->runs[i].mean_us;
  c->med_mean = tb_median(v, c->n);
  (void)kind;
}

/* --only: a comma list of workload ids and/or backend names; an empty side
 * of the filter selects everything of that kind. */
static int in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && !strncmp(p, name, n)) return 1;
    p += len;
    if (*p) p++;
  }
  return 0;
}

static int selected(const char *only, const char *workload_id, const char *backend) {
  if (!only) return 1;
  int any_w = 0, any_b = 0;
  for (size_t w = 0; w < N_WORKLOADS; w++) any_w |= in_list(only, WORKLOADS[w].id);
  any_b = in_list(only, "tracker") || in_list(only, "redis") || in_list(only, "redis_aof") ||
          in_list(only, "sql_floor");
  return (!any_w || in_list(only, workload_id)) && (!any_b || in_list(only, backend));
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

/* ---- JSON ------------------------------------------------------------------------------ */

static cJSON *num_or_null(int present, double v) { return present ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* One target: what, whether both sides were measured, the figure, the
 * threshold and how they compare (">=", "<", "<="). */
typedef struct target {
  char what[96];
  int present;
  double value, threshold;
  const char *cmp;
} target;

static int target_pass(const target *t) {
  if (!strcmp(t->cmp, ">=")) return t->value >= t->threshold;
  if (!strcmp(t->cmp, "<=")) return t->value <= t->threshold;
  return t->value < t->threshold;
}

static double tick_alone(const cell *c) { return c->med_mean > 0 ? 1e6 / c->med_mean : 0; }

#define MAX_TARGETS 24

/* The targets, from the medians; b = 1 is Redis without persistence. */
static size_t targets(int nb, target *out) {
  const cell *t = NULL, *r = NULL;
  size_t n = 0;
#define T(w, b) (&g_cells[(w)][(b)])
#define ADD(present_, value_, thr_, cmp_, ...)                                              \
  do {                                                                                       \
    snprintf(out[n].what, sizeof out[n].what, __VA_ARGS__);                                  \
    out[n].present = (present_);                                                             \
    out[n].value = out[n].present ? (value_) : 0;                                            \
    out[n].threshold = (thr_);                                                               \
    out[n].cmp = (cmp_);                                                                     \
    n++;                                                                                     \
  } while (0)
  (void)nb;
  int redis = g_redis;
  t = T(W1, 0), r = T(W1, 1);
  ADD(t->present && redis && r->present, ratio(t->med_rate, r->med_rate), 2.0, ">=", "w1: tracker ops/s >= 2x Redis");
  t = T(W2, 0), r = T(W2, 1);
  ADD(t->present && redis && r->present, ratio(t->med_rate, r->med_rate), 20.0, ">=",
      "w2: tracker ticks/s >= 20x Redis (tick + 100 release calls)");
  ADD(t->present, tick_alone(t), 3000.0, ">=", "w2: tracker tick alone >= 3000 ticks/s");
  ADD(t->present && redis && r->present, ratio(tick_alone(t), tick_alone(r)), 20.0, ">=",
      "w2: tracker tick alone >= 20x Redis's");
  t = T(W2B, 0), r = T(W2B, 1);
  ADD(t->present && redis && r->present, ratio(t->med_rate, r->med_rate), 20.0, ">=",
      "w2b: tracker ticks/s >= 20x Redis (releases batched)");
  t = T(W3, 0), r = T(W3, 1);
  ADD(t->present && redis && r->present, ratio(t->med_rate, r->med_rate), 1.0, ">=", "w3: tracker ops/s >= Redis");
  ADD(t->present && T(W1, 0)->present, ratio(t->med_rate, T(W1, 0)->med_rate), 1.0, ">=",
      "w3: tracker ops/s >= tracker w1");
  ADD(t->present, t->med_p99, 1000.0, "<", "w3: tracker p99 < 1000 us");
  t = T(W4, 0);
  ADD(t->present && T(W1, 0)->present, ratio(t->med_rate, T(W1, 0)->med_rate), 1.0, ">=",
      "w4: tracker ops/s >= tracker w1");
  ADD(t->present, t->med_p99, 1000.0, "<", "w4: tracker p99 < 1000 us");
  ADD(T(G0, 0)->present && T(G100K, 0)->present,
      ratio(T(G100K, 0)->med_us_per_session, T(G0, 0)->med_us_per_session), 1.2, "<=",
      "g100k: tracker us per admit+release <= 1.2x g0");
  for (int w = G0; w <= G100K; w++)
    ADD(T(w, 0)->present && redis && T(w, 1)->present, ratio(T(w, 0)->med_rate, T(w, 1)->med_rate), 2.0, ">=",
        "%s: tracker >= 2x Redis", WORKLOADS[w].id);
#undef ADD
#undef T
  return n;
}

static cJSON *target_json(const target *t) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "target", t->what);
  cJSON_AddItemToObject(j, "value", num_or_null(t->present, t->value));
  cJSON_AddNumberToObject(j, "threshold", t->threshold);
  cJSON_AddStringToObject(j, "comparison", t->cmp);
  if (!t->present)
    cJSON_AddNullToObject(j, "pass");
  else
    cJSON_AddBoolToObject(j, "pass", target_pass(t));
  return j;
}

static cJSON *breakdown_json(const breakdown *d) {
  cJSON *j = cJSON_CreateObject();
  double ops = (double)d->ops, commits = (double)(d->io.commits ? d->io.commits : 1);
  cJSON_AddNumberToObject(j, "ops", ops);
  cJSON_AddNumberToObject(j, "seconds", d->seconds);
  cJSON_AddNumberToObject(j, "ops_per_s", d->seconds > 0 ? ops / d->seconds : 0);
  cJSON_AddNumberToObject(j, "p99_us", d->p99_us);
  cJSON_AddNumberToObject(j, "commits", (double)d->io.commits);
  cJSON_AddNumberToObject(j, "ops_per_commit", ops / commits);
  cJSON_AddNumberToObject(j, "wal_bytes_per_commit", (double)d->io.wal_bytes / commits);
  cJSON_AddNumberToObject(j, "wal_write_us_per_commit", (double)d->io.wal_write_ns / 1e3 / commits);
  cJSON_AddNumberToObject(j, "sync_us_per_commit", (double)d->io.sync_ns / 1e3 / commits);
  cJSON_AddNumberToObject(j, "shm_lock_us_per_commit", (double)d->io.shm_lock_ns / 1e3 / commits);
  cJSON_AddNumberToObject(j, "db_write_us_per_commit", (double)d->io.db_write_ns / 1e3 / commits);
  double wall = d->ops ? d->seconds * 1e6 * d->workers / ops : 0;
  double cpu = d->ops ? (double)d->io.cpu_ns / 1e3 / ops : 0;
  cJSON_AddNumberToObject(j, "wall_us_per_op", wall);
  cJSON_AddNumberToObject(j, "cpu_us_per_op", cpu);
  cJSON_AddNumberToObject(j, "off_cpu_us_per_op", wall - cpu);
  cJSON_AddNumberToObject(j, "sleeps_per_op", d->ops ? (double)d->io.vcsw / ops : 0);
  cJSON_AddNumberToObject(j, "preemptions_per_op", d->ops ? (double)d->io.ivcsw / ops : 0);
  return j;
}

static int write_json(const char *path, const tb_backend *bs, int nb, int quick, int repeats, double seconds,
                      const char *redis_version, int redis_present) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "benchmark", "bench-tracker");
  cJSON_AddNumberToObject(root, "autocheckpoint_frames", (double)tb_mserve_autocheckpoint); /* -1: store default */
  cJSON_AddBoolToObject(root, "quick", quick);
  cJSON_AddNumberToObject(root, "repeats", repeats);
  cJSON_AddNumberToObject(root, "seconds_per_run", seconds);
  cJSON_AddStringToObject(root, "op", "one admit or one release call (W2: one tick = 100 admits in one "
                                      "transaction/script call followed by 100 release calls; W2B: followed by "
                                      "100 releases in one transaction/script call)");
  cJSON_AddStringToObject(root, "latency", "per call, merged across workers; W2: the tick's admit call; "
                                           "medians over runs of each run's percentile");
  cJSON *m = cJSON_AddObjectToObject(root, "machine");
  cJSON_AddNumberToObject(m, "nproc", (double)sysconf(_SC_NPROCESSORS_ONLN));
  cJSON_AddStringToObject(m, "sqlite_version", tb_sqlite_version());
  if (redis_present)
    cJSON_AddStringToObject(m, "redis_version", redis_version);
  else
    cJSON_AddNullToObject(m, "redis_version");
  cJSON_AddStringToObject(m, "libmserve_version", ms_version());
  cJSON_AddNumberToObject(m, "loadavg1_start", g_load_start);
  cJSON_AddNumberToObject(m, "loadavg1_end", g_load_end);
  cJSON_AddStringToObject(m, "note", "shared machine: other builds may run at the same time; figures are noisy");
  cJSON *dur = cJSON_AddObjectToObject(root, "durability");
  for (int b = 0; b < nb; b++) cJSON_AddStringToObject(dur, bs[b].name, bs[b].durability);
  cJSON_AddBoolToObject(root, "redis_present", redis_present);

  cJSON *ws = cJSON_AddArrayToObject(root, "workloads");
  for (size_t w = 0; w < N_WORKLOADS; w++) {
    const workload *wl = &WORKLOADS[w];
    cJSON *jw = cJSON_CreateObject();
    cJSON_AddStringToObject(jw, "id", wl->id);
    cJSON_AddStringToObject(jw, "title", wl->title);
    cJSON_AddNumberToObject(jw, "processes", wl->procs);
    cJSON_AddNumberToObject(jw, "threads_per_process", wl->threads);
    int ticks = wl->kind == KIND_TICKS || wl->kind == KIND_TICKS_BATCHED;
    cJSON_AddStringToObject(jw, "rate_unit", ticks ? "ticks/s" : "ops/s");
    if (wl->kind == KIND_GROWTH) cJSON_AddNumberToObject(jw, "held", (double)wl->held);
    cJSON *res = cJSON_AddObjectToObject(jw, "results");
    for (int b = 0; b < nb; b++) {
      cell *c = &g_cells[w][b];
      if (!c->present) {
        cJSON_AddNullToObject(res, bs[b].name);
        continue;
      }
      cJSON *jb = cJSON_AddObjectToObject(res, bs[b].name);
      cJSON *runs = cJSON_AddArrayToObject(jb, "runs");
      for (size_t i = 0; i < c->n; i++) {
        const run_stats *r = &c->runs[i];
        cJSON *jr = cJSON_CreateObject();
        cJSON_AddNumberToObject(jr, "rate", r->rate);
        cJSON_AddNumberToObject(jr, "ops", (double)r->ops);
        cJSON_AddNumberToObject(jr, "sessions", (double)r->sessions);
        cJSON_AddNumberToObject(jr, "seconds", r->seconds);
        cJSON_AddNumberToObject(jr, "mean_us", r->mean_us);
        cJSON_AddNumberToObject(jr, "p50_us", r->p50_us);
        cJSON_AddNumberToObject(jr, "p99_us", r->p99_us);
        cJSON_AddNumberToObject(jr, "max_us", r->max_us);
        cJSON_AddNumberToObject(jr, "us_per_session", r->us_per_session);
        cJSON_AddItemToArray(runs, jr);
      }
      cJSON *med = cJSON_AddObjectToObject(jb, "median");
      cJSON_AddNumberToObject(med, "rate", c->med_rate);
      cJSON_AddNumberToObject(med, "mean_us", c->med_mean);
      cJSON_AddNumberToObject(med, "p50_us", c->med_p50);
      cJSON_AddNumberToObject(med, "p99_us", c->med_p99);
      cJSON_AddNumberToObject(med, "us_per_session", c->med_us_per_session);
    }
    cJSON *rat = cJSON_AddObjectToObject(jw, "tracker_over");
    for (int b = 1; b < nb; b++) {
      int ok = g_cells[w][0].present && g_cells[w][b].present;
      cJSON_AddItemToObject(rat, bs[b].name, num_or_null(ok, ratio(g_cells[w][0].med_rate, g_cells[w][b].med_rate)));
    }
    cJSON_AddItemToArray(ws, jw);
  }

  /* Scaling ratios: W3/W1 and W4/W1 per backend. */
  cJSON *scal = cJSON_AddObjectToObject(root, "scaling");
  for (int b = 0; b < nb; b++) {
    cJSON *jb = cJSON_AddObjectToObject(scal, bs[b].name);
    int ok = g_cells[W1][b].present;
    cJSON_AddItemToObject(jb, "w3_over_w1", num_or_null(ok && g_cells[W3][b].present,
                                                        ratio(g_cells[W3][b].med_rate, g_cells[W1][b].med_rate)));
    cJSON_AddItemToObject(jb, "w4_over_w1", num_or_null(ok && g_cells[W4][b].present,
                                                        ratio(g_cells[W4][b].med_rate, g_cells[W1][b].med_rate)));
  }
  cJSON *alone = cJSON_AddObjectToObject(root, "w2_tick_alone_per_s");
  for (int b = 0; b < nb; b++)
    cJSON_AddItemToObject(alone, bs[b].name, num_or_null(g_cells[W2][b].present, tick_alone(&g_cells[W2][b])));
  cJSON *growth = cJSON_AddArrayToObject(root, "growth");
  for (int w = G0; w <= G100K; w++) {
    cJSON *g = cJSON_CreateObject();
    cJSON_AddNumberToObject(g, "held", (double)WORKLOADS[w].held);
    for (int b = 0; b < nb; b++) {
      char key[48];
      snprintf(key, sizeof key, "%s_us_per_admit_release", bs[b].name);
      cJSON_AddItemToObject(g, key, num_or_null(g_cells[w][b].present, g_cells[w][b].med_us_per_session));
    }
    cJSON_AddItemToObject(g, "tracker_over_g0", num_or_null(g_cells[w][0].present && g_cells[G0][0].present,
                                                            ratio(g_cells[w][0].med_us_per_session,
                                                                  g_cells[G0][0].med_us_per_session)));
    cJSON_AddItemToArray(growth, g);
  }
  if (g_bd[0].present || g_bd[1].present) {
    cJSON *bd = cJSON_AddObjectToObject(root, "breakdown");
    cJSON_AddStringToObject(bd, "note", "tracker only, one run each through a timing VFS (adds a clock read per I/O "
                                        "call); per op: wall = threads x window / ops, off-CPU = wall - CPU");
    if (g_bd[0].present) cJSON_AddItemToObject(bd, "w3", breakdown_json(&g_bd[0]));
    if (g_bd[1].present) cJSON_AddItemToObject(bd, "w4", breakdown_json(&g_bd[1]));
  }

  cJSON *tg = cJSON_AddArrayToObject(root, "targets");
  target ts[MAX_TARGETS];
  size_t n_targets = targets(nb, ts);
  for (size_t i = 0; i < n_targets; i++) cJSON_AddItemToArray(tg, target_json(&ts[i]));

  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) return -1;
  FILE *f = fopen(path, "w");
  int st = -1;
  if (f) {
    st = fputs(text, f) < 0 ? -1 : 0;
    if (fputc('\n', f) == EOF) st = -1;
    if (fclose(f)) st = -1;
  }
  if (st) perror(path);
  free(text);
  return st;
}

/* ---- table -------------------------------------------------------------------------------- */

static void print_table(const tb_backend *bs, int nb) {
  printf("\n%-5s %-10s %14s %10s %10s %12s %14s\n", "wl", "backend", "rate (median)", "p50 us", "p99 us",
         "us/session", "tracker/this");
  for (size_t w = 0; w < N_WORKLOADS; w++) {
    const workload *wl = &WORKLOADS[w];
    int ticks = wl->kind == KIND_TICKS || wl->kind == KIND_TICKS_BATCHED;
    printf("%s: %s%s\n", wl->id, wl->title, ticks ? " [rate = ticks/s, latency = tick admit]" : "");
    for (int b = 0; b < nb; b++) {
      const cell *c = &g_cells[w][b];
      if (!c->present) {
        printf("      %-10s %14s\n", bs[b].name, "-");
        continue;
      }
      char rat[32] = "";
      if (b > 0 && g_cells[w][0].present)
        snprintf(rat, sizeof rat, "%.2fx", ratio(g_cells[w][0].med_rate, c->med_rate));
      printf("      %-10s %14.0f %10.1f %10.1f %12.2f %14s", bs[b].name, c->med_rate, c->med_p50, c->med_p99,
             c->med_us_per_session, rat);
      if (wl->kind == KIND_TICKS) printf("   tick alone: %.0f ticks/s", tick_alone(c));
      printf("\n");
    }
  }
  printf("\ngrowth (one client, admit + release naming domain:D and a user; us per admit + release):\n");
  printf("  %10s", "held");
  for (int b = 0; b < nb; b++) printf(" %12s", bs[b].name);
  printf(" %14s %14s\n", "tracker/redis", "tracker/g0");
  for (int w = G0; w <= G100K; w++) {
    printf("  %10zu", WORKLOADS[w].held);
    for (int b = 0; b < nb; b++)
      if (g_cells[w][b].present) printf(" %12.2f", g_cells[w][b].med_us_per_session);
      else printf(" %12s", "-");
    const cell *t = &g_cells[w][0], *r = g_redis ? &g_cells[w][1] : NULL;
    if (t->present && r && r->present) printf(" %13.2fx", ratio(t->med_rate, r->med_rate));
    else printf(" %14s", "-");
    if (t->present && g_cells[G0][0].present)
      printf(" %13.2fx", ratio(t->med_us_per_session, g_cells[G0][0].med_us_per_session));
    printf("\n");
  }
}

static void print_breakdown(void) {
  if (!g_bd[0].present && !g_bd[1].present) return;
  printf("\nbreakdown (tracker, one run each through a timing VFS):\n");
  printf("  %-4s %9s %8s %8s %10s %9s %9s %9s | %8s %8s %8s %8s %8s\n", "wl", "ops/s", "ops/cmt", "p99 us",
         "WAL B/cmt", "WAL us", "sync us", "shm us", "wall us", "CPU us", "off us", "sleeps", "preempt");
  printf("  %-4s %9s %8s %8s %10s %9s %9s %9s | %8s %8s %8s %8s %8s\n", "", "", "", "", "(per commit)", "", "", "",
         "(per op, each thread)", "", "", "", "");
  for (int i = 0; i < 2; i++) {
    const breakdown *d = &g_bd[i];
    if (!d->present) continue;
    double ops = (double)d->ops, commits = (double)(d->io.commits ? d->io.commits : 1);
    double wall = d->ops ? d->seconds * 1e6 * d->workers / ops : 0;
  double cpu = d->ops ? (double)d->io.cpu_ns / 1e3 / ops : 0;
    printf("  %-4s %9.0f %8.2f %8.1f %10.0f %9.2f %9.2f %9.2f | %8.2f %8.2f %8.2f %8.3f %8.3f\n", i ? "w4" : "w3",
           d->seconds > 0 ? ops / d->seconds : 0, ops / commits, d->p99_us, (double)d->io.wal_bytes / commits,
           (double)d->io.wal_write_ns / 1e3 / commits, (double)d->io.sync_ns / 1e3 / commits,
           (double)d->io.shm_lock_ns / 1e3 / commits, wall, cpu, wall - cpu, d->ops ? (double)d->io.vcsw / ops : 0,
           d->ops ? (double)d->io.ivcsw / ops : 0);
  }
  printf("  (wall = threads x window / ops: what each thread spends per op; off = wall - CPU: waiting for the lock,\n"
         "   the disk or a CPU; sleeps / preempt = voluntary / involuntary context switches per op)\n");
}

static void print_targets(int nb) {
  const cell *t1 = &g_cells[W1][0], *t3 = &g_cells[W3][0], *t4 = &g_cells[W4][0];
  printf("\nscaling (tracker): w3/w1 = %.2f, w4/w1 = %.2f", ratio(t3->med_rate, t1->med_rate),
         ratio(t4->med_rate, t1->med_rate));
  if (g_redis && g_cells[W1][1].present)
    printf("   (redis: w3/w1 = %.2f, w4/w1 = %.2f; tracker/redis at w4: %.2fx)",
           ratio(g_cells[W3][1].med_rate, g_cells[W1][1].med_rate),
           ratio(g_cells[W4][1].med_rate, g_cells[W1][1].med_rate), ratio(t4->med_rate, g_cells[W4][1].med_rate));
  if (g_floor >= 0) {
    const cell *f1 = &g_cells[W1][g_floor], *f2 = &g_cells[W2][g_floor], *f3 = &g_cells[W3][g_floor],
               *f4 = &g_cells[W4][g_floor];
    printf("\nthe SQLite floor (the rows an exact tracker must write, nothing read; a target above it is out of\n"
           "reach for any tracker on SQLite): tick alone %.0f ticks/s (tracker at %.2fx of it), w2 %.0f ticks/s\n"
           "(tracker %.2fx), w1 %.0f ops/s (tracker %.2fx), w3 %.0f (tracker %.2fx), w4 %.0f (tracker %.2fx)",
           tick_alone(f2), ratio(tick_alone(&g_cells[W2][0]), tick_alone(f2)), f2->med_rate,
           ratio(g_cells[W2][0].med_rate, f2->med_rate), f1->med_rate, ratio(t1->med_rate, f1->med_rate),
           f3->med_rate, ratio(t3->med_rate, f3->med_rate), f4->med_rate, ratio(t4->med_rate, f4->med_rate));
    if (g_redis && g_cells[W2][1].present)
      printf("\n  the floor against Redis: w2 %.2fx, tick alone %.2fx", ratio(f2->med_rate, g_cells[W2][1].med_rate),
             ratio(tick_alone(f2), tick_alone(&g_cells[W2][1])));
    printf("\n");
  }
  printf("\ntargets:\n");
  target ts[MAX_TARGETS];
  size_t n = targets(nb, ts);
  for (size_t i = 0; i < n; i++) {
    printf("  %-62s %s", ts[i].what, ts[i].present ? (target_pass(&ts[i]) ? "PASS" : "MISS") : "n/a (not measured)");
    if (ts[i].present) printf(" (%.2f)", ts[i].value);
    printf("\n");
  }
}

/* ---- main ------------------------------------------------------------------------------------ */

static void free_backend(tb_backend *b, int i) {
  if (i == g_floor) tb_floor_backend_free(b);
  else if (i > 0) tb_redis_backend_free(b);
  else tb_mserve_backend_free(b);
}

static int run(const tb_backend *b, const workload *wl, double seconds, tb_result *r) {
  switch (wl->kind) {
    case KIND_TICKS: return tb_run_ticks(b, seconds, 0, r);
    case KIND_TICKS_BATCHED: return tb_run_ticks(b, seconds, 1, r);
    case KIND_GROWTH: return tb_run_growth(b, wl->held, seconds, r);
    default: return tb_run_workers(b, wl->procs, wl->threads, seconds, r);
  }
}

static int measure(const tb_backend *b, const workload *wl, double seconds, run_stats *out) {
  tb_result r;
  if (run(b, wl, seconds, &r)) {
    tb_result_free(&r);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->ops = r.ops;
  out->sessions = r.sessions;
  out->seconds = r.seconds;
  out->rate = r.seconds > 0 ? (double)r.ops / r.seconds : 0;
  out->us_per_session = r.sessions ? r.seconds * 1e6 / (double)r.sessions : 0;
  out->mean_us = tb_samples_mean_us(&r.lat);
  out->p50_us = tb_samples_pct_us(&r.lat, 50);
  out->p99_us = tb_samples_pct_us(&r.lat, 99);
  out->max_us = tb_samples_pct_us(&r.lat, 100);
  tb_result_free(&r);
  return 0;
}

/* W3 and W4 of the tracker once more, through the timing VFS. */
static int measure_breakdown(const tb_backend *b, double seconds) {
  if (tb_vfs_install()) {
    fprintf(stderr, "bench: cannot install the timing VFS\n");
    return -1;
  }
  tb_breakdown = 1;
  const int w[2] = {W3, W4};
  for (int i = 0; i < 2; i++) {
    tb_result r;
    if (run(b, &WORKLOADS[w[i]], seconds, &r)) {
      tb_result_free(&r);
      return -1;
    }
    g_bd[i] = (breakdown){1, r.seconds, r.ops, r.workers, r.io, tb_samples_pct_us(&r.lat, 99)};
    tb_result_free(&r);
  }
  tb_breakdown = 0;
  return 0;
}

int main(int argc, char **argv) {
  int quick = 0, repeats = -1, aof = 1, breakdown_run = 0, postgresql = 0;
  double seconds = -1;
  const char *json = "bench-tracker.json", *redis_bin = "redis-server", *only = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--quick"))
      quick = 1;
    else if (!strcmp(a, "--no-aof"))
      aof = 0;
    else if (!strcmp(a, "--json") && i + 1 < argc)
      json = argv[++i];
    else if (!strcmp(a, "--repeats") && i + 1 < argc)
      repeats = atoi(argv[++i]);
    else if (!strcmp(a, "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(a, "--redis-server") && i + 1 < argc)
      redis_bin = argv[++i];
    else if (!strcmp(a, "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(a, "--breakdown"))
      breakdown_run = 1;
    else if (!strcmp(a, "--backend") && i + 1 < argc && !strcmp(argv[i + 1], "postgresql"))
      postgresql = 1, i++;
    else if (!strcmp(a, "--autocheckpoint") && i + 1 < argc)
      tb_mserve_autocheckpoint = atoll(argv[++i]);
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (repeats < 0) repeats = quick ? 1 : 5;
  if (seconds < 0) seconds = quick ? 0.15 : 0.8;
  if (repeats < 1 || repeats > MAX_REPEATS || !(seconds > 0 && seconds <= 60)) {
    fprintf(stderr, "bench: --repeats must be 1..%d and --seconds in (0, 60]\n", MAX_REPEATS);
    return 2;
  }
  if (postgresql) return tb_pg_main(repeats, seconds, json, redis_bin);
  g_main_pid = getpid();
  if (make_tmpdir()) return 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  /* A closed stdout (| head) must not kill the run before it cleans up. */
  signal(SIGPIPE, SIG_IGN);

  tb_backend bs[MAX_BACKENDS];
  int nb = 0;
  char db[4200];
  snprintf(db, sizeof db, "%s/tracker.db", g_tmpdir);
  if (tb_mserve_backend(db, &bs[nb])) return 1;
  nb++;

  char redis_path[4096];
  int redis_present = tb_redis_find(redis_bin, redis_path, sizeof redis_path);
  const char *redis_version = "absent";
  if (!redis_present) {
    printf("NOTE: %s not found: Redis baselines are absent; running the tracker half only.\n"
           "      (Debian: apt install redis-server, or pass --redis-server PATH)\n",
           redis_bin);
  } else {
    if (tb_redis_backend(redis_path, g_tmpdir, 0, &bs[nb])) {
      tb_mserve_backend_free(&bs[0]);
      return 1;
    }
    redis_version = tb_redis_version(&bs[nb]);
    nb++;
    if (aof) {
      if (tb_redis_backend(redis_path, g_tmpdir, 1, &bs[nb])) {
        for (int b = 0; b < nb; b++) (b ? tb_redis_backend_free : tb_mserve_backend_free)(&bs[b]);
        return 1;
      }
      nb++;
    }
  }
  g_redis = nb > 1;
  char floor_db[4200];
  snprintf(floor_db, sizeof floor_db, "%s/floor.db", g_tmpdir);
  if (tb_floor_backend(floor_db, &bs[nb]) == 0) g_floor = nb++;

  printf("libmserve tracker vs Redis: %d run(s) of %.2f s per measurement, medians reported\n", repeats, seconds);
  printf("op = one admit or one release call; every admit names 2 scopes (keypair:AK<n>, user:<n>, %d users;\n"
         "growth: domain:D, user:<n>), limit %d per scope (never binding), lease 60 s (Redis: zset score = expiry)\n",
         TB_USERS, TB_LIMIT);
  g_load_start = load1();
  printf("machine: %ld CPUs, SQLite %s, Redis %s, libmserve %s, load %.2f -- shared machine, expect noise\n",
         sysconf(_SC_NPROCESSORS_ONLN), tb_sqlite_version(), redis_version, ms_version(), g_load_start);
  printf("durability:\n");
  for (int b = 0; b < nb; b++) printf("  %-10s %s\n", bs[b].name, bs[b].durability);
  fflush(stdout);

  int st = 0;
  /* Backends alternate inside each repeat so machine noise hits them alike. */
  for (size_t w = 0; !st && w < N_WORKLOADS; w++) {
    for (int rep = 0; !st && rep < repeats; rep++) {
      for (int b = 0; !st && b < nb; b++) {
        if (!selected(only, WORKLOADS[w].id, bs[b].name)) continue;
        cell *c = &g_cells[w][b];
        if (measure(&bs[b], &WORKLOADS[w], seconds, &c->runs[c->n])) {
          fprintf(stderr, "bench: %s on %s failed\n", WORKLOADS[w].id, bs[b].name);
          st = 1;
          break;
        }
        c->n++;
        c->present = 1;
      }
    }
    for (int b = 0; b < nb; b++)
      if (g_cells[w][b].present) summarize(&g_cells[w][b], WORKLOADS[w].kind);
    if (!st) {
      printf(".");
      fflush(stdout);
    }
  }
  if (!st && breakdown_run && measure_breakdown(&bs[0], seconds)) {
    fprintf(stderr, "bench: the breakdown runs failed\n");
    st = 1;
  }
  g_load_end = load1();
  if (!st) {
    print_table(bs, nb);
    print_breakdown();
    printf("load average (1 min) at start %.2f, at end %.2f\n", g_load_start, g_load_end);
    print_targets(nb);
    if (write_json(json, bs, nb, quick, repeats, seconds, redis_version, redis_present))
      st = 1;
    else
      printf("\nJSON written to %s\n", json);
  }
  for (int b = nb - 1; b >= 0; b--) free_backend(&bs[b], b);
  return st;
}
