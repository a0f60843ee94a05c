/* mserve-tracker: the command line, parsed and checked without side effects
 * (no output, no exit), so that main() reports and a fuzzer can call it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_num.h"
#include "cli.h"

typedef struct command {
  const char *name;
  tk_cmd_id id;
  int min_args, max_args;
  int scopes, cls, lease; /* options it accepts: 0 no, 1 yes */
  const char *synopsis;   /* quoted in usage errors, so a mistake shows the right form */
} command;

static const command commands[] = {
    {"limit", TK_LIMIT, 1, 2, 0, 1, 0, "limit SCOPE [N|unlimited] [--class C]"},
    {"admit", TK_ADMIT, 1, 1, 1, 1, 1, "admit SESSION --scope S [--scope S ...] [--class C] [--lease SECONDS]"},
    {"release", TK_RELEASE, 1, 1, 0, 0, 0, "release SESSION"},
    {"renew", TK_RENEW, 1, 1, 0, 0, 1, "renew SESSION --lease SECONDS"},
    {"used", TK_USED, 1, 1, 0, 1, 0, "used SCOPE [--class C]"},
    {"held", TK_HELD, 1, 1, 0, 0, 0, "held SESSION"},
    {"reconcile", TK_RECONCILE, 0, 0, 1, 0, 0, "reconcile [--scope S] < LIST"},
};

/* The tracker's options that take a value, for the family's scanner. */
static const char *const value_opts[] = {"--scope", "--class", "--lease", NULL};
static const cli_spec spec = {"mserve-tracker", value_opts, NULL, 1};

static int parse_class(const char *s, ms_session_class *out) {
  if (strcmp(s, "compute") == 0) *out = MS_CLASS_COMPUTE;
  else if (strcmp(s, "system") == 0) *out = MS_CLASS_SYSTEM;
  else return -1;
  return 0;
}

/* Write the usage error into msg; returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int bad(char *msg, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
  return -1;
}

/* --lease SECONDS: a checked conversion to microseconds. Negative leases are
 * refused here, in the user's unit, rather than by the library. */
static int parse_lease(const char *val, int64_t *us, char *msg, size_t cap) {
  cli_num_status st = cli_num_parse_seconds_us(val, us);
  if (st == CLI_NUM_OK) return 0;
  if (st == CLI_NUM_NEGATIVE) return bad(msg, cap, "--lease '%.200s': a lease cannot be negative (0: no lease)", val);
  if (st == CLI_NUM_RANGE)
    return bad(msg, cap, "--lease '%.200s': out of range (a lease is at most 9223372036854 seconds)", val);
  return bad(msg, cap, "--lease '%.200s': %s", val,
             st == CLI_NUM_NAN ? "not a number (expected a number of seconds)" : cli_num_reason(st));
}

static int parse_options(cli *c, int argc, char **argv, char *msg, size_t cap) {
  int ended = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!ended && strcmp(a, "--") == 0) {
      ended = 1;
    } else if (!ended && (!strcmp(a, "--scope") || !strcmp(a, "--class") || !strcmp(a, "--lease"))) {
      if (!val) return bad(msg, cap, "%s needs a value", a);
      i++;
      if (!strcmp(a, "--scope")) {
        if (c->n_scopes == MS_TRACKER_MAX_SCOPES) return bad(msg, cap, "too many --scope options");
        c->scopes[c->n_scopes++] = val;
      } else if (!strcmp(a, "--class")) {
        if (parse_class(val, &c->cls)) return bad(msg, cap, "--class '%.200s': expected compute or system", val);
        c->has_class = 1;
      } else {
        if (parse_lease(val, &c->lease_us, msg, cap)) return -1;
        c->has_lease = 1;
      }
    } else if (!ended && a[0] == '-' && a[1] == '-') {
      return bad(msg, cap, "unknown option '%.200s' (see --help)", a);
    } else if (!c->cmd) {
      c->cmd = a;
    } else if (c->n_args < 4) {
      c->args[c->n_args++] = a;
    } else {
      return bad(msg, cap, "too many arguments (see --help)");
    }
  }
  return 0;
}

/* limit SCOPE [N|unlimited] */
static int parse_limit_args(cli *c, char *msg, size_t cap) {
  if (c->n_args < 2) return 0;
  const char *v = c->args[1];
  if (strcmp(v, "unlimited") == 0) {
    c->limit = MS_UNLIMITED;
  } else {
    char *end = NULL;
    errno = 0;
    long long n = v[0] >= '0' && v[0] <= '9' ? strtoll(v, &end, 10) : -1;
    if (!end || *end || errno || n < 0)
      return bad(msg, cap, "limit '%.200s': expected a count (0 admits nothing) or 'unlimited'", v);
    c->limit = (int64_t)n;
  }
  c->has_limit = 1;
  return 0;
}

int tk_parse_args(cli *c, int argc, char **argv, int *help, char *msg, size_t cap) {
  if (cli_init(&c->ctx, &spec, argc, argv, msg, cap)) return -1;
  c->db = c->ctx.db;
  c->json = c->ctx.json;
  c->version = c->ctx.version;
  if (c->ctx.help || c->ctx.version || argc <= 1) {
    *help = 1;
    return 0;
  }
  if (parse_options(c, c->ctx.argc, c->ctx.argv, msg, cap)) return -1;
  c->ctx.command = c->cmd;
  if (!c->cmd) return bad(msg, cap, "no command given (see --help)");
  const command *cmd = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, c->cmd) == 0) cmd = &commands[i];
  if (!cmd) return bad(msg, cap, "unknown command '%.200s' (see --help)", c->cmd);
  ms_session_class k;
  if (cmd->id == TK_LIMIT && c->n_args >= 2 && parse_class(c->args[1], &k) == 0) /* older releases' form */
    return bad(msg, cap, "limit: the class is an option, as in every command: limit %.200s%s%.100s --class %s",
               c->args[0], c->n_args > 2 ? " " : "", c->n_args > 2 ? c->args[2] : "", c->args[1]);
  if (c->n_args < cmd->min_args || c->n_args > cmd->max_args)
    return bad(msg, cap, "%s: %s arguments; usage: %s", c->cmd, c->n_args < cmd->min_args ? "missing" : "too many",
               cmd->synopsis);
  const char *stray = c->n_scopes && !cmd->scopes ? "--scope"
                      : c->has_class && !cmd->cls ? "--class"
                      : c->has_lease && !cmd->lease ? "--lease"
                                                    : NULL;
  if (stray) return bad(msg, cap, "%s: %s does not apply; usage: %s", c->cmd, stray, cmd->synopsis);
  if (!c->db) return bad(msg, cap, "--db FILE is required");
  c->cmd_id = cmd->id;
  switch (cmd->id) {
  case TK_LIMIT: return parse_limit_args(c, msg, cap);
  case TK_ADMIT:
    if (!c->n_scopes) return bad(msg, cap, "admit: at least one --scope S is required");
    break;
  case TK_RENEW:
    if (!c->has_lease) return bad(msg, cap, "renew: --lease SECONDS is required");
    break;
  case TK_RECONCILE:
    if (c->n_scopes > 1) return bad(msg, cap, "reconcile: at most one --scope");
    break;
  case TK_RELEASE:
  case TK_USED:
  case TK_HELD: break;
  }
  return 0;
}
