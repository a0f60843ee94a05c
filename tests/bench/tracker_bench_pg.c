/* bench-tracker --backend postgresql: the tracker on PostgreSQL against
 * Backend.AI's current approach (the database as the source of truth,
 * tracker_bench_bai.c) on the same server in the same run, and the Redis +
 * Lua baseline of the SQLite benchmark. One PostgreSQL 15 server is started
 * for the run (tests/support/pg_cluster.h) with fsync on; every measurement
 * gets a fresh database. Workloads: W1 one client (admit then release), W2 a
 * tick of 100 admits in one transaction then 100 release calls, W12 3
 * processes x 4 threads. Backends alternate inside each repeat; medians of
 * the repeats are reported, and ratios are taken between medians. */
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mserve/common.h"
#include "pg_cluster.h"
#include "testutil.h"
#include "tracker_bench.h"

int tb_pg_recreate(const char *uri) {
  const char *slash = strrchr(uri, '/');
  if (!slash) return -1;
  char admin[600], sql[300], name[200];
  snprintf(name, sizeof name, "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
  snprintf(admin, sizeof admin, "%.*spostgres", (int)(slash + 1 - uri), uri);
  PGconn *c = PQconnectdb(admin);
  int ok = PQstatus(c) == CONNECTION_OK;
  for (int i = 0; ok && i < 2; i++) {
    snprintf(sql, sizeof sql, i ? "CREATE DATABASE %s" : "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    PGresult *r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "bench: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
  }
  if (PQstatus(c) != CONNECTION_OK) fprintf(stderr, "bench: %s", PQerrorMessage(c));
  PQfinish(c);
  return ok ? 0 : -1;
}

typedef struct pg_workload {
  const char *id, *title;
  int kind; /* 0 calls, 1 ticks */
  int procs, threads;
} pg_workload;

static const pg_workload PW[] = {
    {"w1", "one client: admit then release", 0, 1, 1},
    {"w2", "scheduler tick: 100 admits in one transaction, then 100 release calls", 1, 1, 1},
    {"w12", "3 processes x 4 threads", 0, 3, 4},
};
#define N_PW (sizeof PW / sizeof PW[0])
#define N_B 4
#define MAXR 50

typedef struct pcell {
  int n;
  double rate[MAXR], p50[MAXR], p99[MAXR], mean[MAXR];
  double m_rate, m_p50, m_p99, m_mean;
} pcell;

static int run_one(const tb_backend *b, const pg_workload *w, double seconds, pcell *c) {
  tb_result r;
  memset(&r, 0, sizeof r);
  int st = b->reset(b->ctx);
  if (!st) st = w->kind ? tb_run_ticks(b, seconds, 0, &r) : w->procs == 1 && w->threads == 1
                                                                  ? tb_run_single(b, seconds, &r)
                                                                  : tb_run_workers(b, w->procs, w->threads, seconds, &r);
  if (!st && c->n < MAXR) {
    c->rate[c->n] = r.seconds > 0 ? (double)r.ops / r.seconds : 0;
    c->mean[c->n] = tb_samples_mean_us(&r.lat);
    c->p50[c->n] = tb_samples_pct_us(&r.lat, 50);
    c->p99[c->n] = tb_samples_pct_us(&r.lat, 99);
    c->n++;
  }
  tb_result_free(&r);
  return st;
}

static double med(double *v, int n) { return tb_median(v, (size_t)n); }

int tb_pg_main(int repeats, double seconds, const char *json, const char *redis_bin) {
  char why[512];
  ms_test_pg_durable = 1;
  ms_test_pg *server = ms_test_pg_start(why, sizeof why);
  if (!server) {
    printf("bench-tracker --backend postgresql: %s\n", why);
    return 1;
  }
  tb_backend bs[N_B];
  int nb = 0, st = 0;
  char *t_uri = ms_test_pg_new_db(server, "bench_tracker"), *b_uri = ms_test_pg_new_db(server, "bench_bai");
  if (!t_uri || !b_uri || tb_mserve_backend(t_uri, &bs[nb])) st = 1;
  else nb++;
  if (!st && tb_bai_backend(b_uri, &bs[nb]) == 0) nb++;
  int redis_at = -1;
  char redis_path[4096];
  char *rdir = ms_test_tmpdir("bench-pg-redis"); /* under $TMPDIR */
  const char *redis_version = "absent";
  if (!st && rdir && tb_redis_find(redis_bin, redis_path, sizeof redis_path) &&
      tb_redis_backend(redis_path, rdir, 0, &bs[nb]) == 0) {
    redis_version = tb_redis_version(&bs[nb]);
    redis_at = nb++;
  }
  pcell cells[N_PW][N_B];
  memset(cells, 0, sizeof cells);
  if (!st) {
    printf("libmserve tracker on PostgreSQL vs Backend.AI's approach vs Redis: %d run(s) of %.2f s, medians\n",
           repeats, seconds);
    printf("machine: %ld CPUs, PostgreSQL 15 on loopback (fsync on), Redis %s, libmserve %s -- shared machine\n",
           sysconf(_SC_NPROCESSORS_ONLN), redis_version, ms_version());
    for (int b = 0; b < nb; b++) printf("  %-10s %s\n", bs[b].name, bs[b].durability);
    fflush(stdout);
  }
  for (size_t w = 0; !st && w < N_PW; w++)
    for (int rep = 0; !st && rep < repeats; rep++)
      for (int b = 0; !st && b < nb; b++)
        if (run_one(&bs[b], &PW[w], seconds, &cells[w][b])) {
          fprintf(stderr, "bench: %s on %s failed\n", PW[w].id, bs[b].name);
          st = 1;
        }
  if (!st) {
    printf("\n%-5s %-10s %12s %10s %10s %10s\n", "", "backend", "ops/s", "mean us", "p50 us", "p99 us");
    for (size_t w = 0; w < N_PW; w++) {
      printf("%s: %s (W2: ticks/s, latency of the tick's admit transaction)\n", PW[w].id, PW[w].title);
      for (int b = 0; b < nb; b++) {
        pcell *c = &cells[w][b];
        c->m_rate = med(c->rate, c->n);
        c->m_mean = med(c->mean, c->n);
        c->m_p50 = med(c->p50, c->n);
        c->m_p99 = med(c->p99, c->n);
        printf("%-5s %-10s %12.0f %10.1f %10.1f %10.1f\n", "", bs[b].name, c->m_rate, c->m_mean, c->m_p50, c->m_p99);
      }
    }
    const pcell *t1 = &cells[0][0], *b1 = &cells[0][1], *t12 = &cells[2][0], *b12 = &cells[2][1];
    double r1 = b1->m_rate > 0 ? t1->m_rate / b1->m_rate : 0, r12 = b12->m_rate > 0 ? t12->m_rate / b12->m_rate : 0;
    printf("\ntargets (ratios of medians):\n");
    printf("  tracker / backendai at 1 client:   %.2fx (target >= 2x)  %s\n", r1, r1 >= 2 ? "met" : "NOT met");
    printf("  tracker / backendai at 12 clients: %.2fx (target >= 2x)  %s\n", r12, r12 >= 2 ? "met" : "NOT met");
    printf("  tracker 12 clients / 1 client:     %.2fx (target >= 1x)  %s\n", t1->m_rate > 0 ? t12->m_rate / t1->m_rate : 0,
           t12->m_rate >= t1->m_rate ? "met" : "NOT met");
    printf("  tracker p99 at 12 clients:         %.2f ms (target < 5 ms)  %s\n", t12->m_p99 / 1000,
           t12->m_p99 < 5000 ? "met" : "NOT met");
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "benchmark", "bench-tracker --backend postgresql");
    cJSON_AddNumberToObject(root, "repeats", repeats);
    cJSON_AddNumberToObject(root, "seconds", seconds);
    cJSON_AddStringToObject(root, "redis", redis_version);
    cJSON *ws = cJSON_AddArrayToObject(root, "workloads");
    for (size_t w = 0; w < N_PW; w++) {
      cJSON *jw = cJSON_CreateObject();
      cJSON_AddStringToObject(jw, "id", PW[w].id);
      cJSON_AddStringToObject(jw, "title", PW[w].title);
      for (int b = 0; b < nb; b++) {
        const pcell *c = &cells[w][b];
        cJSON *jb = cJSON_AddObjectToObject(jw, bs[b].name);
        cJSON_AddNumberToObject(jb, "median_rate", c->m_rate);
        cJSON_AddNumberToObject(jb, "median_mean_us", c->m_mean);
        cJSON_AddNumberToObject(jb, "median_p50_us", c->m_p50);
        cJSON_AddNumberToObject(jb, "median_p99_us", c->m_p99);
        cJSON_AddItemToObject(jb, "rates", cJSON_CreateDoubleArray(c->rate, c->n));
        cJSON_AddItemToObject(jb, "p99_us", cJSON_CreateDoubleArray(c->p99, c->n));
      }
      cJSON_AddItemToArray(ws, jw);
    }
    cJSON_AddNumberToObject(root, "ratio_w1_tracker_over_backendai", r1);
    cJSON_AddNumberToObject(root, "ratio_w12_tracker_over_backendai", r12);
    char *text = cJSON_Print(root);
    FILE *f = fopen(json, "w");
    if (!f || fputs(text, f) < 0) st = 1;
    if (f) fclose(f);
    if (!st) printf("\nJSON written to %s\n", json);
    free(text);
    cJSON_Delete(root);
  }
  for (int b = nb - 1; b >= 0; b--) {
    if (b == redis_at) tb_redis_backend_free(&bs[b]);
    else if (b == 1) tb_bai_backend_free(&bs[b]);
    else tb_mserve_backend_free(&bs[b]);
  }
  free(t_uri);
  free(b_uri);
  if (rdir) ms_test_rmtree(rdir);
  free(rdir);
  ms_test_pg_stop(server);
  return st;
}
