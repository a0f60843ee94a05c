/* bench-tracker (tracker_vs_redis.c) — libmserve's concurrency tracker against the Redis design
 * Backend.AI proposed (sorted sets + an idempotent admission Lua script via
 * hiredis), measured in the same run on the same machine.
 *
 *   bench-tracker [--quick] [--json FILE] [--repeats N] [--seconds S]
 *                    [--no-aof] [--redis-server PATH] [--only w1,w3,...] [--autocheckpoint N]
 *
 * Workloads, each for the tracker and for Redis:
 *   W1 one client: admit then release, one call each;
 *   W2 a scheduler tick: 100 admits in one transaction (Redis: one script call),
 *      then 100 releases;
 *   W3 4 threads in one process (one shared ms_store + ms_tracker; Redis: one
 *      connection per thread);
 *   W4 2 processes x 2 threads (each process opens its own store).
 * An op is one admit or one release call (W2: one tick). Each measurement is
 * repeated (5 times, --quick: once) and the medians are reported; ratios are
 * taken between medians. Prints a table and writes every raw run to JSON. */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mserve/common.h"
#include "tracker_bench.h"

enum { KIND_CALLS = 0, KIND_TICKS = 1 };

typedef struct workload {
  const char *id, *title;
  int kind, procs, threads;
} workload;

static const workload WORKLOADS[] = {
    {"w1", "one client: admit then release", KIND_CALLS, 1, 1},
    {"w2", "scheduler tick: 100 admits in one transaction, then 100 releases", KIND_TICKS, 1, 1},
    {"w3", "4 threads in one process", KIND_CALLS, 1, 4},
    {"w4", "2 processes x 2 threads", KIND_CALLS, 2, 2},
};
#define N_WORKLOADS (sizeof WORKLOADS / sizeof WORKLOADS[0])
#define MAX_BACKENDS 3
#define MAX_REPEATS 50

typedef struct run_stats {
  double rate;        /* ops/s (W2: ticks/s) */
  double p50_us, p99_us, max_us;
  double us_per_session;
  double seconds;
  uint64_t ops, sessions;
} run_stats;

typedef struct cell { /* one workload x one backend */
  int present;
  size_t n;
  run_stats runs[MAX_REPEATS];
  double med_rate, med_p50, med_p99, med_us_per_session;
} cell;

static cell g_cells[N_WORKLOADS][MAX_BACKENDS];
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
          "                   (default: the store's own, 1000; 0 = no checkpoints during the runs)\n");
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
  any_b = in_list(only, "tracker") || in_list(only, "redis") || in_list(only, "redis_aof");
  return (!any_w || in_list(only, workload_id)) && (!any_b || in_list(only, backend));
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

/* ---- JSON ------------------------------------------------------------------------------ */

static cJSON *num_or_null(int present, double v) { return present ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *target_json(const char *what, int present, double value, double threshold, const char *cmp) {
  cJSON *t = cJSON_CreateObject();
  cJSON_AddStringToObject(t, "target", what);
  cJSON_AddItemToObject(t, "value", num_or_null(present, value));
  cJSON_AddNumberToObject(t, "threshold", threshold);
  cJSON_AddStringToObject(t, "comparison", cmp);
  if (!present)
    cJSON_AddNullToObject(t, "pass");
  else
    cJSON_AddBoolToObject(t, "pass", strcmp(cmp, ">=") == 0 ? value >= threshold : value < threshold);
  return t;
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
                                      "transaction/script call followed by 100 release calls)");
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
    cJSON_AddStringToObject(jw, "rate_unit", wl->kind == KIND_TICKS ? "ticks/s" : "ops/s");
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
        cJSON_AddNumberToObject(jr, "p50_us", r->p50_us);
        cJSON_AddNumberToObject(jr, "p99_us", r->p99_us);
        cJSON_AddNumberToObject(jr, "max_us", r->max_us);
        cJSON_AddNumberToObject(jr, "us_per_session", r->us_per_session);
        cJSON_AddItemToArray(runs, jr);
      }
      cJSON *med = cJSON_AddObjectToObject(jb, "median");
      cJSON_AddNumberToObject(med, "rate", c->med_rate);
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
    int ok = g_cells[0][b].present;
    cJSON_AddItemToObject(jb, "w3_over_w1", num_or_null(ok && g_cells[2][b].present,
                                                        ratio(g_cells[2][b].med_rate, g_cells[0][b].med_rate)));
    cJSON_AddItemToObject(jb, "w4_over_w1", num_or_null(ok && g_cells[3][b].present,
                                                        ratio(g_cells[3][b].med_rate, g_cells[0][b].med_rate)));
  }

  cJSON *tg = cJSON_AddArrayToObject(root, "targets");
  int have_redis = nb > 1 && g_cells[0][1].present && g_cells[0][0].present;
  cJSON_AddItemToArray(tg, target_json("w1: tracker ops/s >= 2x Redis (no persistence)", have_redis,
                                       ratio(g_cells[0][0].med_rate, have_redis ? g_cells[0][1].med_rate : 0), 2.0,
                                       ">="));
  cJSON_AddItemToArray(tg, target_json("w3: tracker ops/s >= 0.8x tracker w1", g_cells[2][0].present && g_cells[0][0].present,
                                       ratio(g_cells[2][0].med_rate, g_cells[0][0].med_rate), 0.8, ">="));
  cJSON_AddItemToArray(tg, target_json("w4: tracker ops/s >= 0.8x tracker w1", g_cells[3][0].present && g_cells[0][0].present,
                                       ratio(g_cells[3][0].med_rate, g_cells[0][0].med_rate), 0.8, ">="));
  cJSON_AddItemToArray(tg, target_json("w3: tracker p99 < 1000 us", g_cells[2][0].present, g_cells[2][0].med_p99,
                                       1000.0, "<"));
  cJSON_AddItemToArray(tg, target_json("w4: tracker p99 < 1000 us", g_cells[3][0].present, g_cells[3][0].med_p99,
                                       1000.0, "<"));

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
  printf("\n%-4s %-10s %14s %10s %10s %12s %14s\n", "wl", "backend", "rate (median)", "p50 us", "p99 us",
         "us/session", "tracker/this");
  for (size_t w = 0; w < N_WORKLOADS; w++) {
    const workload *wl = &WORKLOADS[w];
    printf("%s: %s%s\n", wl->id, wl->title, wl->kind == KIND_TICKS ? " [rate = ticks/s, latency = tick admit]" : "");
    for (int b = 0; b < nb; b++) {
      const cell *c = &g_cells[w][b];
      if (!c->present) {
        printf("     %-10s %14s\n", bs[b].name, "-");
        continue;
      }
      char rat[32] = "";
      if (b > 0 && g_cells[w][0].present)
        snprintf(rat, sizeof rat, "%.2fx", ratio(g_cells[w][0].med_rate, c->med_rate));
      printf("     %-10s %14.0f %10.1f %10.1f %12.2f %14s\n", bs[b].name, c->med_rate, c->med_p50, c->med_p99,
             c->med_us_per_session, rat);
    }
  }
}

static void print_target(const char *what, int present, int pass, double v, const char *unit) {
  char val[64];
  snprintf(val, sizeof val, "%.2f%s", v, unit);
  printf("  %-32s %s", what, present ? (pass ? "PASS" : "MISS") : "n/a (not measured)");
  if (present) printf(" (%s)", val);
  printf("\n");
}

static void print_targets(int nb) {
  const cell *t1 = &g_cells[0][0], *t3 = &g_cells[2][0], *t4 = &g_cells[3][0];
  const cell *r1 = nb > 1 ? &g_cells[0][1] : NULL;
  int have_r1 = r1 && r1->present && t1->present;
  double rr = have_r1 ? ratio(t1->med_rate, r1->med_rate) : 0;
  double s3 = ratio(t3->med_rate, t1->med_rate), s4 = ratio(t4->med_rate, t1->med_rate);
  printf("\nscaling (tracker): w3/w1 = %.2f, w4/w1 = %.2f", s3, s4);
  if (nb > 1 && g_cells[0][1].present)
    printf("   (redis: w3/w1 = %.2f, w4/w1 = %.2f)", ratio(g_cells[2][1].med_rate, g_cells[0][1].med_rate),
           ratio(g_cells[3][1].med_rate, g_cells[0][1].med_rate));
  printf("\ntargets:\n");
  print_target("w1 tracker >= 2x redis:", have_r1, rr >= 2.0, rr, "x");
  print_target("w3 >= 0.8x w1 (no collapse):", t1->present && t3->present, s3 >= 0.8, s3, "");
  print_target("w4 >= 0.8x w1 (no collapse):", t1->present && t4->present, s4 >= 0.8, s4, "");
  print_target("w3 p99 < 1 ms:", t3->present, t3->med_p99 < 1000, t3->med_p99, " us");
  print_target("w4 p99 < 1 ms:", t4->present, t4->med_p99 < 1000, t4->med_p99, " us");
}

/* ---- main ------------------------------------------------------------------------------------ */

static int measure(const tb_backend *b, const workload *wl, double seconds, run_stats *out) {
  tb_result r;
  int st = wl->kind == KIND_TICKS ? tb_run_ticks(b, seconds, &r) : tb_run_workers(b, wl->procs, wl->threads, seconds, &r);
  if (st) {
    tb_result_free(&r);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->ops = r.ops;
  out->sessions = r.sessions;
  out->seconds = r.seconds;
  out->rate = r.seconds > 0 ? (double)r.ops / r.seconds : 0;
  out->us_per_session = r.sessions ? r.seconds * 1e6 / (double)r.sessions : 0;
  out->p50_us = tb_samples_pct_us(&r.lat, 50);
  out->p99_us = tb_samples_pct_us(&r.lat, 99);
  out->max_us = tb_samples_pct_us(&r.lat, 100);
  tb_result_free(&r);
  return 0;
}

int main(int argc, char **argv) {
  int quick = 0, repeats = -1, aof = 1;
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

  printf("libmserve tracker vs Redis: %d run(s) of %.2f s per measurement, medians reported\n", repeats, seconds);
  printf("op = one admit or one release call; every admit names 2 scopes (keypair:AK<n>, user:<n>, %d users),\n"
         "limit %d per scope (never binding), lease 60 s (Redis: zset score = expiry)\n",
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
  g_load_end = load1();
  if (!st) {
    print_table(bs, nb);
    printf("load average (1 min) at start %.2f, at end %.2f\n", g_load_start, g_load_end);
    print_targets(nb);
    if (write_json(json, bs, nb, quick, repeats, seconds, redis_version, redis_present))
      st = 1;
    else
      printf("\nJSON written to %s\n", json);
  }
  for (int b = nb - 1; b >= 0; b--) (b ? tb_redis_backend_free : tb_mserve_backend_free)(&bs[b]);
  return st;
}
