/* mserve-batch: replay request arrivals through libmserve's batching queue
 * with a model's batch settings, and show the batches it would cut and what
 * each request waited — to choose batch_size and max_batch_delay before
 * deploying. Options, settings, text and JSON output; the replay is in
 * replay.c, the plot in plot.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cli.h"
#include "../common/cli_num.h"
#include "batch_cli.h"

static const char usage_text[] =
    "usage: mserve-batch [options] ARRIVALS.csv\n"
    "\n"
    "Replays request arrivals through libmserve's batching queue (Triton's dynamic\n"
    "batcher rules) with a model's batch settings, and prints every batch it would cut\n"
    "and what each request waited, so batch_size / max_batch_delay can be chosen before\n"
    "deploying. No model runs: a batch is handed out the moment it is due.\n"
    "\n"
    "settings (flags override the registered model; without --db, TorchServe's defaults):\n"
    "  --db FILE              a registry database (mserve-registry); needs --model\n"
    "  --model NAME           the registered model whose resolved settings to use\n"
    "  --model-version V      its version (default: the default version)\n"
    "  --global-config FILE   the registry's global config file, as the server reads it\n"
    "  --batch-size N         the most items one batch holds (TorchServe batchSize)\n"
    "  --max-batch-delay MS   how long the oldest request may wait for a fuller batch, in\n"
    "                         milliseconds, fractions allowed (TorchServe maxBatchDelay)\n"
    "  --preferred N[,N...]   preferred batch sizes, sent at once (Triton preferred_batch_size)\n"
    "  --max-queue-size N     the most pending requests per priority level; 0: unbounded\n"
    "                         (TorchServe jobQueueSize; --max-queue is the same)\n"
    "  --timeout MS           the default request timeout in milliseconds; 0: none\n"
    "  --response-timeout S   the same in seconds (TorchServe responseTimeout)\n"
    "  --timeout-action A     reject (default: answer \"timed out\") or delay (run it last)\n"
    "  --priority-levels N    priority levels (default: the highest priority in the CSV);\n"
    "                         priority 0 in the CSV is the lowest level\n"
    "\n"
    "output:\n"
    "  --json                 the JSON document also holds \"settings\", \"batches\", \"refused\",\n"
    "                         \"summary\"\n"
    "  --plot FILE.svg        draw the batch sizes and the waits over time\n"
    "  --summary              the settings and the summary only, not every batch\n"
    "\n"
    "ARRIVALS.csv (\"-\": standard input): one request a line, in time order:\n"
    "  time_us,items[,priority[,timeout_us]]\n"
    "  time_us from the start; items the request's own batch dimension (1 .. batch size);\n"
    "  priority 1 is served first, 0 (default) the default level; timeout_us a timeout of\n"
    "  its own, used when shorter than the default. A header line, blank lines and lines\n"
    "  starting with # are skipped.\n"
    "\n"
    "example:\n"
    "  mserve-batch --batch-size 8 --max-batch-delay 5 --plot batches.svg arrivals.csv\n"
    "  mserve-batch --db models.db --model echo --max-batch-delay 10 --json arrivals.csv\n";

typedef struct opts {
  const char *db, *model, *version, *global_config, *csv, *plot;
  int json, quiet;
  /* flags given (value set), overriding the registry */
  int has_batch, has_delay, has_queue, has_timeout;
  int64_t batch, delay_us, queue, timeout_us;
  int64_t pref[MS_BATCHER_MAX_PREFERRED];
  size_t n_pref;
  int action, levels;
} opts;

static cli_ctx g_cli; /* the family's global options and output (examples/common/cli.h) */

static const char negative_help[] = "a negative answer: a request was refused (queue full) or timed out,\n"
                               "or the --model is not registered in --db";

/* Report a failure (MS_EINVAL with exit 2 is a usage error). */
static int fail(int code, const char *ms_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(int code, const char *ms_code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (code == EXIT_ERROR && !strcmp(ms_code, "MS_EINVAL")) return cli_usage(&g_cli, "%s", msg);
  return cli_fail(&g_cli, code, ms_code, "%s", msg);
}

/* Milliseconds (fractions allowed) to microseconds, >= 0: 0, or -1. */
static int parse_ms(const char *s, double unit_us, int64_t *us) {
  return cli_num_parse_unit_us(s, unit_us, us) == CLI_NUM_OK ? 0 : -1;
}

static int parse_count(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_list(const char *s, opts *o) {
  o->n_pref = 0;
  while (*s) {
    char item[32];
    size_t len = strcspn(s, ",");
    if (!len || len >= sizeof item || o->n_pref == MS_BATCHER_MAX_PREFERRED) return -1;
    memcpy(item, s, len);
    item[len] = '\0';
    if (parse_count(item, 1, MS_BATCHER_MAX_ITEMS, &o->pref[o->n_pref++])) return -1;
    s += len;
    if (*s == ',') s++;
  }
  return o->n_pref ? 0 : -1;
}

/* --name value or --name=value: the value, NULL when this is not --name. */
static const char *value_of(int argc, char **argv, int *i, const char *name, int *missing) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n]) return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

static int parse(int argc, char **argv, opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
#define OPT(name) ((v = value_of(argc, argv, &i, name, &missing)) != NULL || missing)
#define NEED(name)                                                                 \
  if (missing) return fail(EXIT_ERROR, "MS_EINVAL", "%s needs a value", name);
    if (!strcmp(a, "--summary")) {
      o->quiet = 1;
    } else if (OPT("--model-version")) {
      NEED("--model-version");
      o->version = v;
    } else if (OPT("--model")) {
      NEED("--model");
      o->model = v;
    } else if (OPT("--global-config")) {
      NEED("--global-config");
      o->global_config = v;
    } else if (OPT("--plot")) {
      NEED("--plot");
      o->plot = v;
    } else if (OPT("--batch-size")) {
      NEED("--batch-size");
      if (parse_count(v, 1, MS_BATCHER_MAX_ITEMS, &o->batch))
        return fail(EXIT_ERROR, "MS_EINVAL", "--batch-size '%.100s': expected an integer of at least 1", v);
      o->has_batch = 1;
    } else if (OPT("--max-batch-delay")) {
      NEED("--max-batch-delay");
      if (parse_ms(v, 1000, &o->delay_us))
        return fail(EXIT_ERROR, "MS_EINVAL", "--max-batch-delay '%.100s': expected milliseconds, 0 or more", v);
      o->has_delay = 1;
    } else if (OPT("--max-queue-size") || OPT("--max-queue")) {
      NEED("--max-queue-size");
      if (parse_count(v, 0, INT64_MAX, &o->queue))
        return fail(EXIT_ERROR, "MS_EINVAL", "--max-queue-size '%.100s': expected an integer, 0 (unbounded) or more",
                    v);
      o->has_queue = 1;
    } else if (OPT("--timeout")) {
      NEED("--timeout");
      if (parse_ms(v, 1000, &o->timeout_us))
        return fail(EXIT_ERROR, "MS_EINVAL", "--timeout '%.100s': expected milliseconds, 0 (none) or more", v);
      o->has_timeout = 1;
    } else if (OPT("--response-timeout")) {
      NEED("--response-timeout");
      if (parse_ms(v, 1e6, &o->timeout_us))
        return fail(EXIT_ERROR, "MS_EINVAL", "--response-timeout '%.100s': expected seconds, 0 (none) or more", v);
      o->has_timeout = 1;
    } else if (OPT("--preferred")) {
      NEED("--preferred");
      if (parse_list(v, o))
        return fail(EXIT_ERROR, "MS_EINVAL", "--preferred '%.100s': expected sizes like 4,8 (at most %d)", v,
                    MS_BATCHER_MAX_PREFERRED);
    } else if (OPT("--timeout-action")) {
      NEED("--timeout-action");
      if (!strcmp(v, "reject")) o->action = MS_TIMEOUT_REJECT;
      else if (!strcmp(v, "delay")) o->action = MS_TIMEOUT_DELAY;
      else return fail(EXIT_ERROR, "MS_EINVAL", "--timeout-action '%.100s': expected reject or delay", v);
    } else if (OPT("--priority-levels")) {
      NEED("--priority-levels");
      int64_t n = 0;
      if (parse_count(v, 1, MS_BATCHER_MAX_LEVELS, &n))
        return fail(EXIT_ERROR, "MS_EINVAL", "--priority-levels '%.100s': expected 1..%d", v, MS_BATCHER_MAX_LEVELS);
      o->levels = (int)n;
    } else if (a[0] == '-' && a[1]) {
      return fail(EXIT_ERROR, "MS_EINVAL", "unknown option '%.100s'", a);
    } else if (!o->csv) {
      o->csv = a;
    } else {
      return fail(EXIT_ERROR, "MS_EINVAL", "one ARRIVALS.csv only (got '%.100s' too)", a);
    }
#undef OPT
#undef NEED
  }
  if (!o->csv) return fail(EXIT_ERROR, "MS_EINVAL", "no ARRIVALS.csv given");
  if (o->db && !o->model) return fail(EXIT_ERROR, "MS_EINVAL", "--db needs --model NAME");
  if (!o->db && (o->model || o->version)) return fail(EXIT_ERROR, "MS_EINVAL", "--model needs --db FILE");
  return EXIT_OK;
}

static const char *source_name(ms_config_source s) {
  switch (s) {
  case MS_SRC_API: return "api";
  case MS_SRC_ARCHIVE: return "archive";
  case MS_SRC_GLOBAL: return "global";
  default: return "default";
  }
}

/* The settings: the registered model's (or TorchServe's defaults), then the flags. */
static int resolve(const opts *o, settings *s) {
  static const char *const keys[4] = {"batch_size", "max_batch_delay_us", "max_queue_size", "request_timeout_us"};
  setting *slot[4] = {&s->batch_size, &s->delay_us, &s->max_queue, &s->timeout_us};
  static const int64_t defaults[4] = {1, 100000, 100, 120000000};
  for (int k = 0; k < 4; k++) {
    slot[k]->value = defaults[k];
    slot[k]->source = "default";
  }
  if (o->db) {
    struct stat st;
    if (stat(o->db, &st) != 0) return fail(EXIT_ERROR, "MS_ENOTFOUND", "--db %s: %s", o->db, strerror(errno));
    ms_store *store = NULL;
    ms_registry *reg = NULL;
    ms_model *m = NULL;
    int setup = 1;
    int rc = ms_store_open(o->db, MS_STORE_READONLY, &store);
    if (rc == MS_EUNSUPPORTED) rc = ms_store_open(o->db, 0, &store); /* an older store still to migrate */
    if (!rc) rc = ms_registry_open(store, o->global_config, &reg);
    if (!rc) setup = 0, rc = ms_registry_get(reg, o->model, o->version, &m);
    for (int k = 0; !rc && k < 4; k++) {
      ms_config_source src = MS_SRC_DEFAULT;
      rc = ms_model_get_int(m, keys[k], &slot[k]->value, &src);
      slot[k]->source = source_name(src);
    }
    int code = setup ? EXIT_ERROR : cli_exit_for(rc);
    if (rc) code = cli_fail(&g_cli, code, ms_status_name(rc), "%s", ms_errmsg());
    ms_model_free(m);
    ms_registry_close(reg);
    ms_store_close(store);
    if (rc) return code;
  }
  if (o->has_batch) s->batch_size = (setting){o->batch, "flag"};
  if (o->has_delay) s->delay_us = (setting){o->delay_us, "flag"};
  if (o->has_queue) s->max_queue = (setting){o->queue, "flag"};
  if (o->has_timeout) s->timeout_us = (setting){o->timeout_us, "flag"};
  memcpy(s->pref, o->pref, o->n_pref * sizeof o->pref[0]);
  s->n_pref = o->n_pref;
  s->action = (ms_timeout_action)o->action;
  s->levels = o->levels;
  return EXIT_OK;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

typedef struct summary {
  double p50, p99, max, mean_items, fill;
  long runs;
} summary;

static summary summarize(const settings *s, const result *r) {
  summary m = {0, 0, 0, 0, 0, 0};
  int64_t *w = malloc((r->nm ? r->nm : 1) * sizeof *w);
  size_t n = 0;
  int64_t items = 0;
  for (size_t i = 0; i < r->nb; i++) {
    if (r->b[i].status != MS_OK) continue;
    m.runs++;
    items += r->b[i].items;
    for (size_t j = r->b[i].first; j < r->b[i].first + r->b[i].n; j++) w[n++] = r->wait[j];
  }
  if (n && w) {
    qsort(w, n, sizeof *w, cmp_i64);
    m.p50 = (double)w[(n - 1) / 2] / 1000.0;
    m.p99 = (double)w[(size_t)ceil(0.99 * (double)n) - 1] / 1000.0;
    m.max = (double)w[n - 1] / 1000.0;
  }
  if (m.runs) {
    m.mean_items = (double)items / (double)m.runs;
    m.fill = m.mean_items / (double)s->batch_size.value;
  }
  free(w);
  return m;
}

static const char *status_word(int st) { return st == MS_OK ? "ran" : st == MS_ETIMEDOUT ? "timed out" : "canceled"; }

static void print_text(const opts *o, const settings *s, const arrivals *a, const result *r, const summary *m) {
  FILE *out = g_cli.out;
  fprintf(out, "settings: batch_size %lld (%s), max_batch_delay %.3f ms (%s), max_queue_size %lld (%s), "
         "request_timeout %.3f ms (%s)",
         (long long)s->batch_size.value, s->batch_size.source, (double)s->delay_us.value / 1000.0, s->delay_us.source,
         (long long)s->max_queue.value, s->max_queue.source, (double)s->timeout_us.value / 1000.0, s->timeout_us.source);
  if (s->n_pref) {
    fprintf(out, ", preferred");
    for (size_t i = 0; i < s->n_pref; i++) fprintf(out, "%s%lld", i ? "," : " ", (long long)s->pref[i]);
  }
  fprintf(out, ", %d priority level%s\n", r->levels, r->levels == 1 ? "" : "s");
  if (!o->quiet) {
    fprintf(out, "\n%6s %12s  %-9s %6s %7s  %s\n", "batch", "at (ms)", "status", "reqs", "items", "wait min / mean / max (ms)");
    for (size_t i = 0; i < r->nb; i++) {
      const rbatch *b = &r->b[i];
      fprintf(out, "%6zu %12.3f  %-9s %6zu %7lld  %.3f / %.3f / %.3f\n", i + 1, (double)b->at_us / 1000.0,
             status_word(b->status), b->n, (long long)b->items, (double)b->wait_min / 1000.0, b->wait_mean / 1000.0,
             (double)b->wait_max / 1000.0);
    }
    for (size_t i = 0; i < r->nrefused; i++)
      fprintf(out, "%6s %12.3f  %-9s %6s %7lld  line %ld: the queue was full\n", "-", (double)a->v[r->refused[i]].t_us / 1000.0,
             "refused", "1", (long long)a->v[r->refused[i]].items, a->v[r->refused[i]].line);
    fprintf(out, "\n");
  }
  fprintf(out, "summary: %zu requests: %ld ran in %ld batches (mean %.1f items, %.0f%% of the batch size), %ld timed out, "
         "%zu refused\n",
         a->n, r->run, m->runs, m->mean_items, m->fill * 100, r->timed_out, r->nrefused);
  if (m->runs) fprintf(out, "waits of the requests that ran: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", m->p50, m->p99, m->max);
}

static cJSON *setting_json(const setting *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "value", (double)v->value);
  cJSON_AddStringToObject(o, "source", v->source);
  return o;
}

static int print_json(const settings *s, const arrivals *a, const result *r, const summary *m, int negative) {
  cJSON *o;
  if (negative) {
    char msg[160];
    snprintf(msg, sizeof msg, "%zu request%s refused (queue full), %ld timed out", r->nrefused,
             r->nrefused == 1 ? "" : "s", r->timed_out);
    o = cli_doc_fail(&g_cli, EXIT_NEGATIVE, r->nrefused ? "MS_EFULL" : "MS_ETIMEDOUT", msg);
  } else {
    o = cli_doc(&g_cli);
  }
  if (!o) return -1;
  cJSON *st = cJSON_AddObjectToObject(o, "settings");
  cJSON_AddItemToObject(st, "batch_size", setting_json(&s->batch_size));
  cJSON_AddItemToObject(st, "max_batch_delay_us", setting_json(&s->delay_us));
  cJSON_AddItemToObject(st, "max_queue_size", setting_json(&s->max_queue));
  cJSON_AddItemToObject(st, "request_timeout_us", setting_json(&s->timeout_us));
  cJSON *pref = cJSON_AddArrayToObject(st, "preferred");
  for (size_t i = 0; i < s->n_pref; i++) cJSON_AddItemToArray(pref, cJSON_CreateNumber((double)s->pref[i]));
  cJSON_AddStringToObject(st, "timeout_action", s->action == MS_TIMEOUT_DELAY ? "delay" : "reject");
  cJSON_AddNumberToObject(st, "priority_levels", r->levels);
  cJSON *bs = cJSON_AddArrayToObject(o, "batches");
  for (size_t i = 0; i < r->nb; i++) {
    const rbatch *b = &r->b[i];
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "at_us", (double)b->at_us);
    cJSON_AddStringToObject(x, "status", ms_status_name(b->status));
    cJSON_AddNumberToObject(x, "items", (double)b->items);
    cJSON *lines = cJSON_AddArrayToObject(x, "lines");
    cJSON *waits = cJSON_AddArrayToObject(x, "wait_us");
    for (size_t j = b->first; j < b->first + b->n; j++) {
      cJSON_AddItemToArray(lines, cJSON_CreateNumber((double)a->v[r->member[j]].line));
      cJSON_AddItemToArray(waits, cJSON_CreateNumber((double)r->wait[j]));
    }
    cJSON_AddItemToArray(bs, x);
  }
  cJSON *ref = cJSON_AddArrayToObject(o, "refused");
  for (size_t i = 0; i < r->nrefused; i++)
    cJSON_AddItemToArray(ref, cJSON_CreateNumber((double)a->v[r->refused[i]].line));
  cJSON *sm = cJSON_AddObjectToObject(o, "summary");
  cJSON_AddNumberToObject(sm, "requests", (double)a->n);
  cJSON_AddNumberToObject(sm, "ran", (double)r->run);
  cJSON_AddNumberToObject(sm, "run_batches", (double)m->runs);
  cJSON_AddNumberToObject(sm, "timed_out", (double)r->timed_out);
  cJSON_AddNumberToObject(sm, "refused", (double)r->nrefused);
  cJSON_AddNumberToObject(sm, "mean_batch_items", m->mean_items);
  cJSON_AddNumberToObject(sm, "wait_p50_us", m->p50 * 1000);
  cJSON_AddNumberToObject(sm, "wait_p99_us", m->p99 * 1000);
  cJSON_AddNumberToObject(sm, "wait_max_us", m->max * 1000);
  return cli_emit(&g_cli, o, negative ? EXIT_NEGATIVE : EXIT_OK) == EXIT_ERROR ? -1 : 0;
}

/* The tool's options that take a value, for the family's scanner. */
static const char *const value_opts[] = {"--model",       "--model-version",  "--global-config", "--plot",
                                         "--batch-size",  "--max-batch-delay", "--max-queue-size", "--max-queue",
                                         "--timeout",     "--response-timeout", "--preferred",     "--timeout-action",
                                         "--priority-levels", NULL};
static const cli_spec spec = {"mserve-batch", value_opts, NULL, 1};

int main(int argc, char **argv) {
  char err[1024] = "";
  if (cli_init(&g_cli, &spec, argc, argv, err, sizeof err)) return cli_finish(&g_cli, cli_usage(&g_cli, "%s", err));
  if (g_cli.help) return cli_finish(&g_cli, cli_help(&g_cli, usage_text, negative_help));
  if (g_cli.version) return cli_finish(&g_cli, cli_version(&g_cli));
  if (argc == 1) {
    fputs(usage_text, stderr);
    fprintf(stderr, "try 'mserve-batch --help'\n");
    return EXIT_ERROR;
  }
  opts o;
  memset(&o, 0, sizeof o);
  o.db = g_cli.db;
  o.json = g_cli.json;
  /* parse() reads argv[1..]: the arguments left once the globals are out */
  int rc = parse(g_cli.argc + 1, g_cli.argv - 1, &o);
  if (rc) return cli_finish(&g_cli, rc);
  settings s;
  memset(&s, 0, sizeof s);
  if ((rc = resolve(&o, &s)) != EXIT_OK) return cli_finish(&g_cli, rc);
  arrivals a;
  if (arrivals_read(o.csv, &a, err, sizeof err))
    return cli_finish(&g_cli, cli_fail(&g_cli, EXIT_ERROR, "MS_EINVAL", "%s", err));
  result r;
  int st = replay_run(&s, &a, &r, err, sizeof err);
  if (st) {
    rc = cli_fail(&g_cli, EXIT_ERROR, ms_status_name(st), "%s", err);
    result_free(&r);
    arrivals_free(&a);
    return cli_finish(&g_cli, rc);
  }
  summary m = summarize(&s, &r);
  int negative = r.nrefused || r.timed_out;
  if (o.plot && plot_svg(o.plot, &s, &a, &r, err, sizeof err)) {
    rc = cli_fail(&g_cli, EXIT_ERROR, "MS_EIO", "--plot %s", err);
  } else if (o.json) {
    rc = print_json(&s, &a, &r, &m, negative) ? EXIT_ERROR : EXIT_OK;
  } else {
    print_text(&o, &s, &a, &r, &m);
    if (o.plot) fprintf(g_cli.out, "plot: wrote %s\n", o.plot);
  }
  if (!rc && negative) rc = EXIT_NEGATIVE;
  result_free(&r);
  arrivals_free(&a);
  return cli_finish(&g_cli, rc);
}
