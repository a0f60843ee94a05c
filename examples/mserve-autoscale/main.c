/* mserve-autoscale: replay autoscaling rules against recorded metrics.
 *
 *   mserve-autoscale replay --rules RULES.json --observations OBS.csv
 *                    [--db FILE] [--step SECONDS | --eval-at-each-row]
 *                    [--ttl SECONDS] [--plot OUT.svg] [--json] [--all]
 *
 * Exit status: 0 success, 1 a failure of the library or the system,
 * 2 bad usage or bad input (the message names the file and the place). */
#include <math.h>
#include <mserve.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_num.h"
#include "plot.h"
#include "replay.h"

static void usage(FILE *f) {
  fputs(
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
      "  --plot FILE.svg       draw metrics, thresholds and replicas over time\n"
      "  --json                print the decisions as one JSON document\n"
      "  --all                 list every evaluation, not only the changes\n"
      "  -h, --help            this text\n"
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
      "exit status: 0 ok, 1 library or system failure, 2 bad usage or input.\n",
      f);
}

/* The message is what, arg and rest concatenated (arg and rest may be ""). */
static int bad_usage(const char *what, const char *arg, const char *rest) {
  fprintf(stderr, "mserve-autoscale: %s%s%s\n(see mserve-autoscale --help)\n", what, arg, rest);
  return AS_EXIT_INPUT;
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

/* Parse `replay`'s options into o: AS_EXIT_OK, PARSED_HELP for --help, or
 * AS_EXIT_INPUT after reporting a usage error. */
enum { PARSED_HELP = -1 };
static int parse_replay(int argc, char **argv, as_opts *o) {
  int step_given = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v;
    int m = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return PARSED_HELP;
#define VALUE(name, field)                                                  \
  if ((v = opt_value(argc, argv, &i, name, &m)) != NULL || m) {             \
    if (!v) return bad_usage(name, " needs a value", "");                      \
    field = v;                                                              \
    continue;                                                               \
  }
    VALUE("--rules", o->rules_path)
    VALUE("--observations", o->obs_path)
    VALUE("--obs", o->obs_path)
    VALUE("--db", o->db_path)
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
    else if (strcmp(a, "--json") == 0) o->json = 1;
    else if (strcmp(a, "--all") == 0) o->all = 1;
    else return bad_usage("unknown option '", a, "'");
  }
  if (!o->rules_path) return bad_usage("replay needs --rules RULES.json", "", "");
  if (!o->obs_path) return bad_usage("replay needs --observations OBS.csv", "", "");
  if (step_given && o->each_row) return bad_usage("--step and --eval-at-each-row exclude each other", "", "");
  return AS_EXIT_OK;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return AS_EXIT_INPUT;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return AS_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("mserve-autoscale (libmserve %s)\n", ms_version());
    return AS_EXIT_OK;
  }
  if (strcmp(argv[1], "replay") != 0) return bad_usage("unknown command '", argv[1], "' (expected: replay)");

  as_opts o;
  memset(&o, 0, sizeof o);
  o.step_s = 10;
  int rc = parse_replay(argc, argv, &o);
  if (rc == PARSED_HELP) {
    usage(stdout);
    return AS_EXIT_OK;
  }
  if (rc) return rc;

  as_replay r;
  rc = as_replay_run(&o, &r, stdout, stderr);
  if (rc == AS_EXIT_OK && o.plot_path) {
    char err[512];
    if (as_plot_svg(&o, &r, o.plot_path, err, sizeof err)) {
      fprintf(stderr, "mserve-autoscale: %s\n", err);
      rc = AS_EXIT_FAIL;
    } else {
      fprintf(o.json ? stderr : stdout, "plot: wrote %s\n", o.plot_path);
    }
  }
  as_replay_free(&r);
  if (fflush(stdout) != 0) {
    perror("mserve-autoscale: stdout");
    rc = AS_EXIT_FAIL;
  }
  return rc;
}
