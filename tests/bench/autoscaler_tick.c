/* Benchmark: the autoscaler at 100,000 endpoints x 4 rules x 4 replicas.
 *
 *   bench-autoscaler [--quick] [--endpoints N] [--repeat K] [--db PATH] [--json FILE]
 *
 * Measures, on one store:
 *   setup    creating the endpoints and rules through the public API (one
 *            transaction per call, as a host adding them one by one would);
 *   observe  values/s over full rounds of observe calls (every metric of every
 *            replica of every endpoint), median of K rounds;
 *   tick     one ms_autoscaler_evaluate in which 10% of the endpoints change
 *            (persisted in one transaction), median of K ticks; ticks
 *            alternate up (+1) and down (-1) so each one changes the same 10%.
 *            The first tick after the setup is in the median and also shown
 *            on its own: no tick may pay for compacting the engine's memory
 *            (lib/autoscaler/arena.c) at once. Right after each tick (so it
 *            warms nothing for it), a dry run of the same evaluation shows
 *            the in-memory share;
 *   rules    adding many rules to one endpoint (1,000, then 8,000 on another):
 *            half scale up above 60, half scale down below 40 on the same
 *            metric, so none conflict but every add has to be checked against
 *            the other direction; the time per add should not grow with the
 *            rules already there;
 *   reopen   closing the engine and the store, then opening both again (the
 *            engine loads every endpoint and rule), one untimed observe round
 *            (observations are not persisted), and the first tick after that,
 *            which must not pay for the compaction either (with --db :memory:
 *            only the engine is reopened);
 *   deadline ms_autoscaler_next_deadline after the ticks and one untimed
 *            observe round: its first call (it builds the index over every
 *            metric), a call when nothing changed, then a full observe round
 *            with the index on (its throughput next to the plain one) and the
 *            call after it, which moves every metric's entry (each observe
 *            left it behind); the answer is checked. A host without it would poll with
 *            a dry-run evaluation: that is the baseline column;
 *   baseline the per-rule query approach (autoscaler_baseline.c) on the same
 *            store and data: its observe round and its tick, same semantics.
 * Both sides must agree on every endpoint's final count, else the run fails.
 * Prints a table and writes JSON (default bench-autoscaler.json). Timings come
 * from a shared, noisy machine: compare within one run, not across runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autoscaler_baseline.h"
#include "mserve.h"
#include "mserve/autoscaler.h"

enum { N_RULES = 4, N_REPLICAS = 4, N_METRICS = 4, MAX_REPEAT = 15, MANY_SMALL = 1000, MANY_LARGE = 8000 };

static const char *const SOURCE = "kernel";
static const char *const METRICS[N_METRICS] = {"cuda.util", "cuda.mem", "queue.wait", "cpu.util"};
static const char *const REPLICAS[N_REPLICAS] = {"r0", "r1", "r2", "r3"};
static const int64_t START_REPLICAS = 4;
static const double CALM = 50.0, HOT = 90.0, COLD = 5.0;

/* Two up rules and two down rules on distinct metrics, so none conflict:
 * cuda.util > 80 -> +1, cuda.mem > 85 -> +1, queue.wait < 10 -> -1,
 * cpu.util < 10 -> -1; bounds [1, 8]; no cooldown, so consecutive ticks can
 * move the same endpoints back and forth. */
static const bl_rule_spec RULES[N_RULES] = {
    {"kernel", "cuda.util", MS_CMP_GT, 80, +1, 0, 1, 8, MS_AGG_MEAN},
    {"kernel", "cuda.mem", MS_CMP_GT, 85, +1, 0, 1, 8, MS_AGG_MAX},
    {"kernel", "queue.wait", MS_CMP_LT, 10, -1, 0, 1, 8, MS_AGG_MEAN},
    {"kernel", "cpu.util", MS_CMP_LT, 10, -1, 0, 1, 8, MS_AGG_MIN},
};

typedef struct cfg {
  size_t n;
  int repeat;
  const char *db, *json;
  int quick;
} cfg;

static double now_s(void) { return (double)ms_clock_monotonic_us() / 1e6; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double s[MAX_REPEAT];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int check(int st, const char *what) {
  if (st) fprintf(stderr, "bench-autoscaler: %s: %s: %s\n", what, ms_status_name(st), ms_errmsg());
  return st;
}

static void usage(void) {
  fputs("usage: bench-autoscaler [--quick] [--endpoints N] [--repeat K] [--db PATH|:memory:] [--json FILE]\n"
        "  --quick       10,000 endpoints, 3 repeats (smoke run)\n"
        "  --endpoints   endpoints (default 100000); each has 4 rules and 4 replicas\n"
        "  --repeat      observe rounds and ticks to take the median of (default 5)\n"
        "  --db          store file (default: a new file in a temporary folder)\n"
        "  --json        where to write the results (default bench-autoscaler.json)\n",
        stderr);
}

static int parse(int argc, char **argv, cfg *c) {
  c->n = 100000;
  c->repeat = 5;
  c->json = "bench-autoscaler.json";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      c->quick = 1;
      c->n = 10000;
      c->repeat = 3;
    } else if (strcmp(a, "--endpoints") == 0 && v) {
      c->n = (size_t)strtoull(v, NULL, 10);
      i++;
    } else if (strcmp(a, "--repeat") == 0 && v) {
      c->repeat = atoi(v);
      i++;
    } else if (strcmp(a, "--db") == 0 && v) {
      c->db = v;
      i++;
    } else if (strcmp(a, "--json") == 0 && v) {
      c->json = v;
      i++;
    } else {
      usage();
      return -1;
    }
  }
  if (c->n < 10 || c->n > 10000000 || c->repeat < 1 || c->repeat > MAX_REPEAT) {
    fprintf(stderr, "bench-autoscaler: need 10 <= endpoints <= 1e7 and 1 <= repeat <= %d\n", MAX_REPEAT);
    return -1;
  }
  return 0;
}

typedef struct results {
  double setup_s, bl_setup_s;
  double reopen_s, reopen_tick_s; /* store + engine open; the first tick after it */
  double many_small_s, many_large_s; /* adding MANY_SMALL / MANY_LARGE rules to one endpoint */
  size_t reopen_changed;
  double observe_vps[MAX_REPEAT], bl_observe_vps;
  double tick_s[MAX_REPEAT], bl_tick_s[MAX_REPEAT], dry_s[MAX_REPEAT];
  size_t changed[MAX_REPEAT], bl_changed[MAX_REPEAT];
  int ticks;
  double dl_build_s, dl_idle_s, dl_after_round_s, dl_observe_vps; /* the deadline section */
} results;

static int setup_engine(ms_autoscaler *a, char **names, size_t n, double *secs) {
  ms_rule *r[N_RULES];
  for (int j = 0; j < N_RULES; j++) {
    const bl_rule_spec *s = &RULES[j];
    int st = ms_rule_new(&r[j]);
    if (!st) st = ms_rule_set_metric(r[j], s->source, s->metric);
    if (!st) st = ms_rule_set_trigger(r[j], (ms_comparator)s->cmp, s->threshold);
    if (!st) st = ms_rule_set_step(r[j], s->step);
    if (!st) st = ms_rule_set_bounds(r[j], s->min_r, s->max_r);
    if (!st) st = ms_rule_set_aggregation(r[j], (ms_aggregation)s->agg);
    if (check(st, "rule builder")) return st;
  }
  double t0 = now_s();
  int st = MS_OK;
  for (size_t i = 0; i < n && !st; i++) {
    st = check(ms_autoscaler_set_replicas(a, names[i], START_REPLICAS), "set_replicas");
    for (int j = 0; j < N_RULES && !st; j++) st = check(ms_autoscaler_add_rule(a, names[i], r[j], NULL), "add_rule");
  }
  *secs = now_s() - t0;
  for (int j = 0; j < N_RULES; j++) ms_rule_free(r[j]);
  return st;
}

/* One full round: every metric of every replica of every endpoint. */
static int observe_round(ms_autoscaler *a, char **names, size_t n, int64_t now_us, double *secs) {
  double t0 = now_s();
  for (size_t i = 0; i < n; i++)
    for (int m = 0; m < N_METRICS; m++)
      for (int r = 0; r < N_REPLICAS; r++) {
        int st = ms_autoscaler_observe(a, names[i], SOURCE, METRICS[m], REPLICAS[r], CALM, now_us);
        if (st) return check(st, "observe");
      }
  *secs = now_s() - t0;
  return MS_OK;
}

static int bl_observe_round(ms_store *s, size_t n, int64_t now_us, double *secs) {
  double t0 = now_s();
  int st = check(bl_observe_begin(s), "baseline observe");
  for (size_t i = 0; i < n && !st; i++)
    for (int m = 0; m < N_METRICS && !st; m++)
      for (int r = 0; r < N_REPLICAS && !st; r++)
        st = check(bl_observe(s, i, SOURCE, METRICS[m], REPLICAS[r], CALM, now_us), "baseline observe");
  if (!st) st = check(bl_observe_commit(s), "baseline observe commit");
  *secs = now_s() - t0;
  return st;
}

/* Before tick k (untimed): every 10th endpoint gets values that fire its
 * cuda.util up rule (even k) or its queue.wait down rule (odd k); the other
 * metric goes back to calm. Both sides receive the same values. */
static int prepare_tick(ms_autoscaler *a, ms_store *s, char **names, size_t n, int k, int64_t now_us) {
  double util = k % 2 == 0 ? HOT : CALM, wait = k % 2 == 0 ? CALM : COLD;
  int st = s ? check(bl_observe_begin(s), "baseline observe") : MS_OK;
  for (size_t i = 0; i < n && !st; i += 10)
    for (int r = 0; r < N_REPLICAS && !st; r++) {
      st = check(ms_autoscaler_observe(a, names[i], SOURCE, METRICS[0], REPLICAS[r], util, now_us), "observe");
      if (!st) st = check(ms_autoscaler_observe(a, names[i], SOURCE, METRICS[2], REPLICAS[r], wait, now_us), "observe");
      if (!st && s) st = check(bl_observe(s, i, SOURCE, METRICS[0], REPLICAS[r], util, now_us), "baseline observe");
      if (!st && s) st = check(bl_observe(s, i, SOURCE, METRICS[2], REPLICAS[r], wait, now_us), "baseline observe");
    }
  if (!st && s) st = check(bl_observe_commit(s), "baseline observe commit");
  return st;
}

/* Count the endpoints an evaluation changed. */
static size_t changed_in(const ms_decisions *d) {
  size_t changed = 0, nd = ms_decisions_count(d);
  for (size_t i = 0; i < nd; i++) {
    int64_t from = 0, to = 0;
    if (!ms_decisions_get(d, i, NULL, NULL, &from, &to, NULL)) changed += from != to;
  }
  return changed;
}

/* Close the engine and the store, open both again (only the engine for an
 * in-memory store), observe one full round untimed, and time the first tick,
 * which changes every 10th endpoint like tick number `k` would. The baseline
 * does not take part. */
static int reopen_and_tick(const cfg *c, ms_store **s, const char *db, ms_autoscaler **a, char **names, int k,
                           int64_t at, results *res) {
  size_t n = c->n;
  int in_memory = strcmp(db, ":memory:") == 0;
  printf("reopen: %s and the engine, then one tick ...\n", in_memory ? "(in-memory store kept)" : "the store");
  fflush(stdout);
  ms_autoscaler_close(*a);
  *a = NULL;
  double o0 = now_s();
  int st = MS_OK;
  if (!in_memory) {
    ms_store_close(*s);
    *s = NULL;
    if ((st = check(ms_store_open(db, 0, s), "store reopen"))) return st;
  }
  if ((st = check(ms_autoscaler_open(*s, a), "autoscaler reopen"))) return st;
  res->reopen_s = now_s() - o0;
  double secs = 0;
  if ((st = observe_round(*a, names, n, at - MS_SEC(1), &secs))) return st;
  if ((st = prepare_tick(*a, NULL, names, n, k, at))) return st;
  ms_decisions *d = NULL;
  double e0 = now_s();
  st = check(ms_autoscaler_evaluate(*a, at, 0, &d), "evaluate after reopen");
  res->reopen_tick_s = now_s() - e0;
  if (!st) res->reopen_changed = changed_in(d);
  ms_decisions_free(d);
  if (!st && res->reopen_changed != (n + 9) / 10) {
    fprintf(stderr, "bench-autoscaler: the tick after reopening changed %zu endpoints, expected %zu\n",
            res->reopen_changed, (n + 9) / 10);
    st = MS_EINTERNAL;
  }
  return st;
}

/* The deadline section (see the file comment), at `at`, after the ticks. */
enum { DL_IDLE_CALLS = 10000 };
static int deadline_section(ms_autoscaler *a, char **names, size_t n, int64_t at, int64_t ttl, results *res) {
  printf("deadline: first call, %d idle calls, an observe round and the call after it ...\n", DL_IDLE_CALLS);
  fflush(stdout);
  int64_t due = 0;
  double secs = 0;
  int st = observe_round(a, names, n, at, &secs); /* untimed: every metric has a fresh value */
  if (st) return st;
  double t0 = now_s();
  st = check(ms_autoscaler_next_deadline(a, at, &due), "next_deadline (first)");
  res->dl_build_s = now_s() - t0;
  t0 = now_s();
  for (int i = 0; i < DL_IDLE_CALLS && !st; i++) st = check(ms_autoscaler_next_deadline(a, at, &due), "next_deadline");
  res->dl_idle_s = (now_s() - t0) / DL_IDLE_CALLS;
  if (!st) st = observe_round(a, names, n, at + MS_SEC(1), &secs);
  if (st) return st;
  res->dl_observe_vps = (double)(n * N_METRICS * N_REPLICAS) / secs;
  t0 = now_s();
  st = check(ms_autoscaler_next_deadline(a, at + MS_SEC(1), &due), "next_deadline (after a round)");
  res->dl_after_round_s = now_s() - t0;
  /* every observation was made at `at` + 1 s; the ticks' stamps are older */
  if (!st && due != at + MS_SEC(1) + ttl + 1) {
    fprintf(stderr, "bench-autoscaler: next deadline %lld, expected %lld\n", (long long)due,
            (long long)(at + MS_SEC(1) + ttl + 1));
    st = MS_EINTERNAL;
  }
  return st;
}

/* Add `n` rules to a new endpoint `name`, alternating up rules (> 60..99) and
 * down rules (< 0..39) on one metric: no two conflict. */
static int many_rules(ms_autoscaler *a, const char *name, int n, double *secs) {
  ms_rule *r = NULL;
  int st = check(ms_rule_new(&r), "rule builder");
  if (!st) st = check(ms_rule_set_metric(r, SOURCE, "many"), "rule builder");
  if (!st) st = check(ms_autoscaler_set_replicas(a, name, 1), "set_replicas");
  double t0 = now_s();
  for (int i = 0; i < n && !st; i++) {
    int up = i % 2 == 0;
    st = ms_rule_set_trigger(r, up ? MS_CMP_GT : MS_CMP_LT, up ? 60 + (i / 2) % 40 : (i / 2) % 40);
    if (!st) st = ms_rule_set_step(r, up ? 1 : -1);
    if (!st) st = check(ms_autoscaler_add_rule(a, name, r, NULL), "add_rule (many rules)");
  }
  *secs = now_s() - t0;
  ms_rule_free(r);
  return st;
}

static int run(const cfg *c, ms_store **sp, const char *db, char **names, results *res) {
  ms_store *s = *sp;
  ms_autoscaler *a = NULL;
  int st = check(ms_autoscaler_open(s, &a), "autoscaler open");
  if (st) return st;
  const int64_t t0 = MS_SEC(1700000000);
  const int64_t ttl = MS_SEC(60);
  size_t n = c->n;

  printf("setup: %zu endpoints, %zu rules through the API ...\n", n, n * N_RULES);
  fflush(stdout);
  if ((st = setup_engine(a, names, n, &res->setup_s))) goto out;
  if ((st = check(bl_create(s), "baseline schema"))) goto out;
  double b0 = now_s();
  if ((st = check(bl_setup(s, (const char *const *)names, n, START_REPLICAS, RULES, N_RULES), "baseline setup")))
    goto out;
  res->bl_setup_s = now_s() - b0;

  printf("observe: %d rounds of %zu values ...\n", c->repeat, n * N_METRICS * N_REPLICAS);
  fflush(stdout);
  for (int k = 0; k < c->repeat; k++) {
    double secs = 0;
    if ((st = observe_round(a, names, n, t0 + MS_SEC(k), &secs))) goto out;
    res->observe_vps[k] = (double)(n * N_METRICS * N_REPLICAS) / secs;
  }
  double bsecs = 0;
  if ((st = bl_observe_round(s, n, t0 + MS_SEC(c->repeat - 1), &bsecs))) goto out;
  res->bl_observe_vps = (double)(n * N_METRICS * N_REPLICAS) / bsecs;

  printf("ticks: %d engine + %d baseline, each changing every 10th endpoint ...\n", c->repeat, c->repeat);
  fflush(stdout);
  for (int k = 0; k < c->repeat; k++) {
    int64_t at = t0 + MS_SEC(10 + k);
    if ((st = prepare_tick(a, s, names, n, k, at))) goto out;
    ms_decisions *d = NULL;
    double e0 = now_s();
    st = check(ms_autoscaler_evaluate(a, at, 0, &d), "evaluate");
    res->tick_s[k] = now_s() - e0;
    if (st) goto out;
    res->changed[k] = changed_in(d);
    ms_decisions_free(d);
    d = NULL;
    double y0 = now_s();
    st = check(ms_autoscaler_evaluate(a, at, MS_EVAL_DRY_RUN, &d), "evaluate (dry run)");
    res->dry_s[k] = now_s() - y0;
    ms_decisions_free(d);
    if (st) goto out;

    double x0 = now_s();
    if ((st = check(bl_tick(s, at, ttl, &res->bl_changed[k]), "baseline tick"))) goto out;
    res->bl_tick_s[k] = now_s() - x0;
    res->ticks = k + 1;
  }

  /* the two implementations must have made the same decisions */
  size_t expect = (n + 9) / 10, mismatch = 0;
  for (int k = 0; k < res->ticks; k++)
    if (res->changed[k] != expect || res->bl_changed[k] != expect) mismatch++;
  for (size_t i = 0; i < n; i++) {
    int64_t e = -1, b = -2;
    if ((st = check(ms_autoscaler_get_replicas(a, names[i], &e), "replicas"))) goto out;
    if ((st = check(bl_desired(s, i, &b), "baseline desired"))) goto out;
    if (e != b) mismatch++;
  }
  if (mismatch) {
    fprintf(stderr, "bench-autoscaler: engine and baseline disagree (%zu mismatches; expected %zu changes a tick)\n",
            mismatch, expect);
    st = MS_EINTERNAL;
    goto out;
  }
  if ((st = deadline_section(a, names, n, t0 + MS_SEC(10 + c->repeat + 60), ttl, res))) goto out;
  st = reopen_and_tick(c, sp, db, &a, names, c->repeat, t0 + MS_SEC(10 + c->repeat + 120), res);
  if (st) goto out;
  printf("rules: %d, then %d on one endpoint ...\n", MANY_SMALL, MANY_LARGE);
  fflush(stdout);
  if ((st = many_rules(a, "many-small", MANY_SMALL, &res->many_small_s))) goto out;
  st = many_rules(a, "many-large", MANY_LARGE, &res->many_large_s);
out:
  ms_autoscaler_close(a);
  return st;
}

static void report(const cfg *c, const results *r, const char *db) {
  int k = r->ticks;
  double obs = median(r->observe_vps, c->repeat);
  double tick = median(r->tick_s, k), bl_tick = median(r->bl_tick_s, k);
  double ratio = bl_tick / tick;
  double slowest = r->reopen_tick_s;
  for (int i = 0; i < k; i++) slowest = r->tick_s[i] > slowest ? r->tick_s[i] : slowest;
  size_t n = c->n;
  printf("\nautoscaler benchmark: %zu endpoints x %d rules x %d replicas, store %s\n", n, N_RULES, N_REPLICAS, db);
  printf("(medians of %d; shared machine, expect noise of 10-30%% between runs)\n\n", c->repeat);
  printf("%-34s %16s %16s %10s\n", "measure", "engine", "baseline", "ratio");
  printf("%-34s %13.2f s  %13.2f s  %9s\n", "setup (API / one SQL txn)", r->setup_s, r->bl_setup_s, "-");
  printf("%-34s %12.2f M/s  %12.2f M/s  %9.1fx\n", "observe throughput (values/s)", obs / 1e6,
         r->bl_observe_vps / 1e6, obs / r->bl_observe_vps);
  printf("%-34s %13.2f ms %13.2f ms %9.1fx\n", "tick, 10% of endpoints change", tick * 1e3, bl_tick * 1e3, ratio);
  printf("%-34s %13.2f ms %16s\n", "  of which in memory (dry run)", median(r->dry_s, k) * 1e3, "-");
  printf("%-34s %13.2f ms %13.2f ms\n", "  first tick after the setup", r->tick_s[0] * 1e3, r->bl_tick_s[0] * 1e3);
  printf("%-34s %13.2f ms %16s\n", "  first tick after reopening", r->reopen_tick_s * 1e3, "-");
  printf("%-34s %13.2f ms %16s\n", "  slowest tick", slowest * 1e3, "-");
  printf("%-34s %13.2f s  %16s\n", "reopen (store + engine load)", r->reopen_s, "-");
  printf("%-34s %13.2f us %16s\n", "add_rule, 1,000 on one endpoint", r->many_small_s / MANY_SMALL * 1e6, "-");
  printf("%-34s %13.2f us %16s\n", "add_rule, 8,000 on one endpoint", r->many_large_s / MANY_LARGE * 1e6, "-");
  printf("%-34s %13.2f s  %16s\n", "  all 8,000", r->many_large_s, "-");
  printf("%-34s %13.2f ms %16s\n", "next_deadline, first (builds)", r->dl_build_s * 1e3, "-");
  printf("%-34s %13.2f us %13.2f ms %9.0fx\n", "  nothing changed / dry-run poll", r->dl_idle_s * 1e6,
         median(r->dry_s, k) * 1e3, median(r->dry_s, k) / r->dl_idle_s);
  printf("%-34s %13.2f ms %16s\n", "  after a full observe round", r->dl_after_round_s * 1e3, "-");
  printf("%-34s %12.2f M/s %16s\n", "  observe with its index on", r->dl_observe_vps / 1e6, "-");
  printf("%-34s %16zu %16zu\n", "endpoints changed per tick", r->changed[0], r->bl_changed[0]);
  printf("\ntargets: observe >= 2 M/s: %s; every tick <= 100 ms: %s; >= 20x baseline: %s\n",
         obs >= 2e6 ? "met" : "MISSED", slowest <= 0.1 ? "met" : "MISSED", ratio >= 20 ? "met" : "MISSED");

  FILE *f = fopen(c->json, "w");
  if (!f) {
    perror(c->json);
    return;
  }
  fprintf(f, "{\n  \"benchmark\": \"autoscaler\",\n  \"endpoints\": %zu,\n  \"rules_per_endpoint\": %d,\n", n, N_RULES);
  fprintf(f, "  \"replicas_per_endpoint\": %d,\n  \"repeat\": %d,\n  \"quick\": %s,\n", N_REPLICAS, c->repeat,
          c->quick ? "true" : "false");
  fprintf(f, "  \"store\": \"%s\",\n", strcmp(db, ":memory:") == 0 ? ":memory:" : "file");
  fprintf(f, "  \"setup_s\": %.4f,\n  \"baseline_setup_s\": %.4f,\n", r->setup_s, r->bl_setup_s);
  fprintf(f, "  \"observe_values_per_s\": {\"median\": %.0f, \"runs\": [", obs);
  for (int i = 0; i < c->repeat; i++) fprintf(f, "%s%.0f", i ? ", " : "", r->observe_vps[i]);
  fprintf(f, "]},\n  \"baseline_observe_values_per_s\": %.0f,\n", r->bl_observe_vps);
  fprintf(f, "  \"tick_ms\": {\"median\": %.3f, \"runs\": [", tick * 1e3);
  for (int i = 0; i < k; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->tick_s[i] * 1e3);
  fprintf(f, "]},\n  \"baseline_tick_ms\": {\"median\": %.3f, \"runs\": [", bl_tick * 1e3);
  for (int i = 0; i < k; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->bl_tick_s[i] * 1e3);
  fprintf(f, "]},\n  \"dry_run_tick_ms\": {\"median\": %.3f, \"runs\": [", median(r->dry_s, k) * 1e3);
  for (int i = 0; i < k; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->dry_s[i] * 1e3);
  fprintf(f, "]},\n  \"first_tick_after_setup_ms\": %.3f,\n", r->tick_s[0] * 1e3);
  fprintf(f, "  \"first_tick_after_reopen_ms\": %.3f,\n  \"slowest_tick_ms\": %.3f,\n", r->reopen_tick_s * 1e3,
          slowest * 1e3);
  fprintf(f, "  \"reopen_s\": %.4f,\n", r->reopen_s);
  fprintf(f, "  \"add_rule_us_at_%d_rules\": %.3f,\n  \"add_rule_us_at_%d_rules\": %.3f,\n", MANY_SMALL,
          r->many_small_s / MANY_SMALL * 1e6, MANY_LARGE, r->many_large_s / MANY_LARGE * 1e6);
  fprintf(f, "  \"add_%d_rules_s\": %.4f,\n", MANY_LARGE, r->many_large_s);
  fprintf(f,
          "  \"next_deadline\": {\"first_call_ms\": %.3f, \"idle_call_us\": %.3f, \"after_observe_round_ms\": %.3f, "
          "\"observe_values_per_s_with_index\": %.0f},\n",
          r->dl_build_s * 1e3, r->dl_idle_s * 1e6, r->dl_after_round_s * 1e3, r->dl_observe_vps);
  fprintf(f, "  \"changed_per_tick\": %zu,\n  \"tick_speedup_vs_baseline\": %.2f,\n", r->changed[0], ratio);
  fprintf(f,
          "  \"targets\": {\"observe_2M_per_s\": %s, \"tick_100ms\": %s, \"every_tick_100ms\": %s, "
          "\"speedup_20x\": %s}\n}\n",
          obs >= 2e6 ? "true" : "false", tick <= 0.1 ? "true" : "false", slowest <= 0.1 ? "true" : "false",
          ratio >= 20 ? "true" : "false");
  if (fclose(f) == 0) printf("wrote %s\n", c->json);
}

int main(int argc, char **argv) {
  cfg c;
  memset(&c, 0, sizeof c);
  if (parse(argc, argv, &c)) return 2;

  char dir[512] = "", db[600];
  if (c.db) {
    snprintf(db, sizeof db, "%s", c.db);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bench-autoscaler-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
      perror("bench-autoscaler: mkdtemp");
      return 1;
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
  }
  char **names = calloc(c.n, sizeof *names);
  for (size_t i = 0; names && i < c.n; i++) {
    names[i] = malloc(24);
    if (!names[i]) return 1;
    snprintf(names[i], 24, "ep-%07zu", i);
  }
  if (!names) return 1;
  ms_store *s = NULL;
  int st = check(ms_store_open(db, 0, &s), "store open");
  results res;
  memset(&res, 0, sizeof res);
  if (!st) st = run(&c, &s, db, names, &res);
  ms_store_close(s);
  if (!st) report(&c, &res, c.db ? db : "file (temporary)");
  if (*dir) {
    char p[700];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s%s", db, suffix[i]);
      unlink(p);
    }
    rmdir(dir);
  }
  for (size_t i = 0; i < c.n; i++) free(names[i]);
  free(names);
  return st ? 1 : 0;
}
