/* mserve-autoscale: replay autoscaling rules against recorded metrics.
 *
 *   mserve-autoscale replay --rules RULES.json --observations OBS.csv
 *                    [--db FILE] [--step SECONDS | --eval-at-each-row]
 *                    [--ttl SECONDS] [--plot OUT.svg] [--json] [--all]
 *
 * Exit statuses as every libmserve tool (examples/common/cli.h): 0 success,
 * 2 bad usage, bad input (the message names the file and the place) or a
 * failure; a replay has no negative answer (1). */
#include <math.h>
#include <mserve.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../common/cli_num.h"
#include "plot.h"
#include "replay.h"

static cli_ctx *g_cli; /* the run's context: usage errors as JSON too */

static const char usage_text[] =
      "usage: mserve-autoscale replay --rules RULES.json --observations OBS.csv [options]\n"
      "       mserve-autoscale --help | --version\n"
      "\n"
      "Replays recorded metrics through libmserve's autoscaling rule engine and\n"
      "prints every replica-count decision with the outcome of each rule.\n"
      "\n"
      "options:\n"
      "  --rules FILE          rules (JSON, see below)\n"
      "  --observations FILE   observations (CSV, see below); --obs is short for it\n"
      "  --step SECONDS        evaluate every SECONDS of replay time (default 10),\n"
      "                        from the first observation's time to the last one's\n"
      "  --eval-at-each-row    evaluate after each distinct observation time instead\n"
      "  --ttl SECONDS         metric TTL; overrides the rules file's metric_ttl_s\n"
      "  --db FILE             keep the replay's store (endpoints, rules, cooldowns,\n"
      "                        history) in a new SQLite file; default: in memory\n"
      "  --plot FILE.svg       draw the replay: per endpoint, the replica count (its bounds\n"
      "                        shaded, each change labelled with the rule that made it)\n"
      "                        and one panel per metric, on its own axis, with its rules'\n"
      "                        thresholds and cooldown windows; Unix-epoch inputs get\n"
      "                        clock times on the time axis\n"
      "  --json                the decisions in the JSON document (see below)\n"
      "  --all                 list every evaluation, not only the changes\n"
      "\n"
      "RULES.json:\n"
      "  {\"metric_ttl_s\": 60,\n"
      "   \"endpoints\": [{\"name\": \"gpu-ep\", \"replicas\": 1, \"rules\": [\n"
      "     {\"source\": \"kernel\", \"metric\": \"cuda.util\", \"cmp\": \">\", \"threshold\": 80,\n"
      "      \"step\": 1, \"cooldown_s\": 120, \"min\": 1, \"max\": 8,\n"
      "      \"aggregation\": \"mean\", \"enabled\": true}]}]}\n"
      "  cmp is one of > >= < <=; aggregation mean (default), max or min; step is\n"
      "  signed and not 0; min/max are optional (null: no bound); source defaults to\n"
      "  \"kernel\"; cooldown_s to 0; replicas to 1. Unknown keys are errors.\n"
      "  Rules are numbered rule#1, rule#2, ... per endpoint in file order.\n"
      "\n"
      "OBS.csv:\n"
      "  time_s,endpoint,source,metric,replica,value\n"
      "  0,gpu-ep,kernel,cuda.util,r1,35.5\n"
      "  0,queue-ep,proxy,queue.len,,12\n"
      "  One observation a line, in time order (an earlier time than the line before\n"
      "  is an error). An empty replica is an endpoint-wide value, which the engine\n"
      "  divides by the replica count. Times below 1e9 are seconds relative to the\n"
      "  start of the replay; times at or above 1e9 are Unix-epoch seconds and t=0 is\n"
      "  the first row's time. The first row decides for the whole file. A replay\n"
      "  time must fit in int64 microseconds (at most 9223372036854 s). Blank lines\n"
      "  and lines starting with # are ignored; fields cannot be quoted.\n"
      "  Durations (--step, --ttl, metric_ttl_s, cooldown_s) below 1 us count as 1 us.\n"
      "\n"
      "A replay sees, at each evaluation time, every observation at or before it.\n"
      "\n"
      "example:\n"
      "  mserve-autoscale replay --rules examples/mserve-autoscale/samples/gpu-util.json \\\n"
      "                          --observations examples/mserve-autoscale/samples/gpu-util.csv \\\n"
      "                          --plot timeline.svg\n";

static const char negative[] = "never (a replay has no negative answer)";

/* The message is what, arg and rest concatenated (arg and rest may be ""). */
static int bad_usage(const char *what, const char *arg, const char *rest) {
  return cli_usage(g_cli, "%s%s%s", what, arg, rest);
}

/* --step / --ttl SECONDS: a positive number of seconds, at most 1e9; one
 * below 1 us counts as 1 us. Returns 0, or reports and returns AS_EXIT_INPUT. */
static int parse_seconds(const char *flag, const char *s, double *out) {
  double d = 0;
  cli_num_status st = s ? cli_num_parse(s, &d) : CLI_NUM_SYNTAX;
  const char *why = NULL;
  if (!s) why = "needs a value";
  else if (st == CLI_NUM_NAN) why = "not a number (expected a positive number of seconds)";
  else if (st == CLI_NUM_SYNTAX) why = "expected a number of seconds";
  else if (st == CLI_NUM_RANGE || !isfinite(d) || d <= 0 || d > 1e9) why = "out of range (0, 1e9] seconds";
  if (why) {
    char what[300];
    snprintf(what, sizeof what, "%s '%.200s': ", flag, s ? s : "");
    return bad_usage(what, why, "");
  }
  *out = d < 1e-6 ? 1e-6 : d;
  return 0;
}

/* "--name value" or "--name=value"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *matched) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  *matched = 0;
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') {
    *matched = 1;
    return a + n + 1;
  }
  if (a[n] != '\0') return NULL;
  *matched = 1;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

/* Parse `replay`'s options into o: AS_EXIT_OK, or AS_EXIT_INPUT after
 * reporting a usage error. */
static int parse_replay(int argc, char **argv, as_opts *o) {
  int step_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int m = 0;
#define VALUE(name, field)                                                  \
  if ((v = opt_value(argc, argv, &i, name, &m)) != NULL || m) {             \
    if (!v) return bad_usage(name, " needs a value", "");                      \
    field = v;                                                              \
    continue;                                                               \
  }
    VALUE("--rules", o->rules_path)
    VALUE("--observations", o->obs_path)
    VALUE("--obs", o->obs_path)
    VALUE("--plot", o->plot_path)
#undef VALUE
    if ((v = opt_value(argc, argv, &i, "--step", &m)) != NULL || m) {
      if (parse_seconds("--step", v, &o->step_s)) return AS_EXIT_INPUT;
      step_given = 1;
      continue;
    }
    if ((v = opt_value(argc, argv, &i, "--ttl", &m)) != NULL || m) {
      if (parse_seconds("--ttl", v, &o->ttl_s)) return AS_EXIT_INPUT;
      continue;
    }
    if (strcmp(a, "--eval-at-each-row") == 0) o->each_row = 1;
    else if (strcmp(a, "--all") == 0) o->all = 1;
    else return bad_usage("unknown option '", a, "'");
  }
  if (!o->rules_path) return bad_usage("replay needs --rules RULES.json", "", "");
  if (!o->obs_path) return bad_usage("replay needs --observations OBS.csv", "", "");
  if (step_given && o->each_row) return bad_usage("--step and --eval-at-each-row exclude each other", "", "");
  return AS_EXIT_OK;
}

/* The tool's options that take a value, for the family's scanner. */
static const char *const value_opts[] = {"--rules", "--observations", "--obs", "--plot", "--step", "--ttl", NULL};
static const cli_spec spec = {"mserve-autoscale", value_opts, NULL, 1};

/* A message the replay wrote, without the tool's prefix and the last newline. */
static const char *trim_message(char *m) {
  size_t n = strlen(m);
  while (n && m[n - 1] == '\n') m[--n] = '\0';
  for (char *nl = strchr(m, '\n'); nl; nl = strchr(nl, '\n')) *nl = ' ';
  const char *p = m;
  if (strncmp(p, "mserve-autoscale: ", 18) == 0) p += 18;
  return *p ? p : "the replay failed";
}

int main(int argc, char **argv) {
  static cli_ctx x;
  g_cli = &x;
  char err[512];
  if (cli_init(&x, &spec, argc, argv, err, sizeof err)) return cli_finish(&x, cli_usage(&x, "%s", err));
  if (x.help) return cli_finish(&x, cli_help(&x, usage_text, negative));
  if (x.version) return cli_finish(&x, cli_version(&x));
  if (argc <= 1) { /* nothing at all */
    fputs(usage_text, stderr);
    fprintf(stderr, "try 'mserve-autoscale --help'\n");
    return AS_EXIT_INPUT;
  }
  if (x.argc < 1) return cli_finish(&x, bad_usage("missing command (replay)", "", ""));
  x.command = x.argv[0];
  if (strcmp(x.argv[0], "help") == 0) return cli_finish(&x, cli_help(&x, usage_text, negative));
  if (strcmp(x.argv[0], "replay") != 0)
    return cli_finish(&x, bad_usage(x.argv[0][0] == '-' ? "unknown option '" : "unknown command '", x.argv[0],
                                    x.argv[0][0] == '-' ? "'" : "' (expected: replay)"));

  as_opts o;
  memset(&o, 0, sizeof o);
  o.step_s = 10;
  o.db_path = x.db;
  o.json = x.json;
  int rc = parse_replay(x.argc, x.argv, &o);
  if (rc) return cli_finish(&x, rc);

  /* With --json the replay's messages are collected for the one document. */
  char *msgs = NULL;
  size_t msgs_len = 0;
  FILE *errs = x.json ? open_memstream(&msgs, &msgs_len) : stderr;
  if (!errs) errs = stderr;
  cJSON *doc = x.json ? cli_doc(&x) : NULL;
  as_replay r;
  memset(&r, 0, sizeof r);
  rc = x.json && !doc ? AS_EXIT_FAIL : as_replay_run(&o, &r, x.out, errs, doc);
  if (rc == AS_EXIT_OK && o.plot_path) {
    char perr[512];
    if (as_plot_svg(&o, &r, o.plot_path, perr, sizeof perr)) {
      fprintf(errs, "mserve-autoscale: %s\n", perr);
      r.status = MS_EIO;
      rc = AS_EXIT_FAIL;
    } else {
      fprintf(x.json ? stderr : x.out, "plot: wrote %s\n", o.plot_path);
      if (doc) cJSON_AddStringToObject(doc, "plot", o.plot_path);
    }
  }
  int status = rc ? r.status : MS_OK;
  static char none[] = "";
  as_replay_free(&r);
  if (errs != stderr) fclose(errs);
  if (x.json) {
    if (rc == AS_EXIT_OK) {
      rc = cli_emit(&x, doc, AS_EXIT_OK);
    } else {
      cJSON_Delete(doc);
      rc = cli_fail(&x, rc, status ? ms_status_name(status) : "MS_EINVAL", "%s", trim_message(msgs ? msgs : none));
    }
  }
  free(msgs);
  return cli_finish(&x, rc);
}
