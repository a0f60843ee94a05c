/* mserve-tracker: a command-line front end to the libmserve concurrency
 * tracker over a database file. Options, dispatch, help and error output;
 * the commands live in commands.c and reconcile.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static const char usage_text[] =
    "usage: mserve-tracker --db FILE [--json] COMMAND [ARGS]\n"
    "\n"
    "Session concurrency limits counted as sets of session ids (libmserve tracker).\n"
    "\n"
    "commands:\n"
    "  limit SCOPE CLASS [N|unlimited]   set (or, without a value, show) the limit of (SCOPE, CLASS)\n"
    "  admit SESSION --scope S [--scope S ...] [--class compute|system] [--lease SECONDS]\n"
    "                                    admit SESSION into every scope, all or nothing;\n"
    "                                    a retried identical admit succeeds and changes nothing\n"
    "  release SESSION                   release SESSION (idempotent)\n"
    "  renew SESSION --lease SECONDS     extend SESSION's lease from now (0: no lease)\n"
    "  used SCOPE [--class C]            live sessions of class C (default compute) in SCOPE\n"
    "  held SESSION                      whether SESSION is held, its class and lease\n"
    "  reconcile [--scope S] < LIST      make the tracker hold exactly LIST (one scope, or every\n"
    "                                    scope when --scope is absent); LIST has one line per\n"
    "                                    session: \"SESSION CLASS SCOPE[,SCOPE...]\" ('#' comments)\n"
    "\n"
    "options:\n"
    "  --db FILE     the tracker database (created when missing)\n"
    "  --json        print one JSON object on stdout instead of text: always \"ok\" (bool) and\n"
    "                \"command\"; on failure \"status\" (e.g. \"MS_ELIMIT\") and \"error\"; a denial adds\n"
    "                \"denial\": {\"scope\", \"limit\", \"used\"}; a limit of null means unlimited\n"
    "  --class C     compute (default) or system (sftp/private sessions)\n"
    "  --help        this text\n"
    "\n"
    "Times come from the system clock; leases are in seconds (fractions allowed).\n"
    "exit status: 0 ok, 1 denied by a limit, 2 error\n"
    "\n"
    "example:\n"
    "  mserve-tracker --db t.db limit keypair:AK1 compute 2\n"
    "  mserve-tracker --db t.db admit sess-1 --scope keypair:AK1 --scope user:alice --lease 3600\n"
    "  mserve-tracker --db t.db --json used keypair:AK1\n";

const char *cli_class_name(ms_session_class cls) { return cls == MS_CLASS_SYSTEM ? "system" : "compute"; }

static int report(const cli *c, const char *status, const char *message) {
  if (c->json) {
    jo_begin();
    jo_bool("ok", 0);
    jo_str("command", c->cmd);
    jo_str("status", status);
    jo_str("error", message);
    jo_end();
  } else {
    fprintf(stderr, "mserve-tracker: %s%s%s\n", strcmp(status, "usage") ? status : "",
            strcmp(status, "usage") ? ": " : "", message);
  }
  return EXIT_ERROR;
}

int cli_fail(const cli *c, int status) { return report(c, ms_status_name(status), ms_errmsg()); }

int cli_usage(const cli *c, const char *message) { return report(c, "usage", message); }

static int parse_class(const char *s, ms_session_class *out) {
  if (strcmp(s, "compute") == 0) *out = MS_CLASS_COMPUTE;
  else if (strcmp(s, "system") == 0) *out = MS_CLASS_SYSTEM;
  else return -1;
  return 0;
}

/* Seconds (fractions allowed) to microseconds: 0 ok, -1 not a number (or
 * absurdly large), -2 negative. Negative leases are refused here, in the
 * user's unit, rather than by the library in microseconds. */
static int parse_seconds(const char *s, int64_t *us) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v) || fabs(v) > 9.0e12) return -1;
  if (v < 0) return -2;
  *us = (int64_t)llround(v * 1e6);
  return 0;
}

typedef struct command {
  const char *name;
  int (*run)(cli *c);
  int min_args, max_args;
  int scopes, cls, lease; /* options it accepts: 0 no, 1 yes */
  const char *synopsis;   /* quoted in usage errors, so a mistake shows the right form */
} command;

static const command commands[] = {
    {"limit", cmd_limit, 2, 3, 0, 0, 0, "limit SCOPE compute|system [N|unlimited]"},
    {"admit", cmd_admit, 1, 1, 1, 1, 1, "admit SESSION --scope S [--scope S ...] [--class C] [--lease SECONDS]"},
    {"release", cmd_release, 1, 1, 0, 0, 0, "release SESSION"},
    {"renew", cmd_renew, 1, 1, 0, 0, 1, "renew SESSION --lease SECONDS"},
    {"used", cmd_used, 1, 1, 0, 1, 0, "used SCOPE [--class C]"},
    {"held", cmd_held, 1, 1, 0, 0, 0, "held SESSION"},
    {"reconcile", cmd_reconcile, 0, 0, 1, 0, 0, "reconcile [--scope S] < LIST"},
};

static int parse(cli *c, int argc, char **argv, int *help) {
  char msg[512];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = 1;
    } else if (strcmp(a, "--json") == 0) {
      c->json = 1;
    } else if (!strcmp(a, "--db") || !strcmp(a, "--scope") || !strcmp(a, "--class") || !strcmp(a, "--lease")) {
      if (!val) {
        snprintf(msg, sizeof msg, "%s needs a value", a);
        return cli_usage(c, msg);
      }
      i++;
      if (!strcmp(a, "--db")) {
        c->db = val;
      } else if (!strcmp(a, "--scope")) {
        if (c->n_scopes == MS_TRACKER_MAX_SCOPES) return cli_usage(c, "too many --scope options");
        c->scopes[c->n_scopes++] = val;
      } else if (!strcmp(a, "--class")) {
        if (parse_class(val, &c->cls)) {
          snprintf(msg, sizeof msg, "--class '%.200s': expected compute or system", val);
          return cli_usage(c, msg);
        }
        c->has_class = 1;
      } else {
        int bad = parse_seconds(val, &c->lease_us);
        if (bad) {
          snprintf(msg, sizeof msg, "--lease '%.200s': %s", val,
                   bad == -2 ? "a lease cannot be negative (0: no lease)" : "expected a number of seconds");
          return cli_usage(c, msg);
        }
        c->has_lease = 1;
      }
    } else if (a[0] == '-' && a[1] == '-') {
      snprintf(msg, sizeof msg, "unknown option '%.200s' (see --help)", a);
      return cli_usage(c, msg);
    } else if (!c->cmd) {
      c->cmd = a;
    } else if (c->n_args < 4) {
      c->args[c->n_args++] = a;
    } else {
      return cli_usage(c, "too many arguments (see --help)");
    }
  }
  return EXIT_OK;
}

int main(int argc, char **argv) {
  cli c;
  memset(&c, 0, sizeof c);
  int help = 0;
  int rc = parse(&c, argc, argv, &help);
  if (rc) return rc;
  if (help || argc == 1) {
    fputs(usage_text, help ? stdout : stderr);
    return help ? EXIT_OK : EXIT_ERROR;
  }
  if (!c.cmd) return cli_usage(&c, "no command given (see --help)");
  const command *cmd = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, c.cmd) == 0) cmd = &commands[i];
  char msg[512];
  if (!cmd) {
    snprintf(msg, sizeof msg, "unknown command '%.200s' (see --help)", c.cmd);
    return cli_usage(&c, msg);
  }
  if (c.n_args < cmd->min_args || c.n_args > cmd->max_args) {
    snprintf(msg, sizeof msg, "%s: %s arguments; usage: %s", c.cmd, c.n_args < cmd->min_args ? "missing" : "too many",
             cmd->synopsis);
    return cli_usage(&c, msg);
  }
  const char *stray = c.n_scopes && !cmd->scopes ? "--scope"
                      : c.has_class && !cmd->cls ? "--class"
                      : c.has_lease && !cmd->lease ? "--lease"
                                                   : NULL;
  if (stray) {
    snprintf(msg, sizeof msg, "%s: %s does not apply; usage: %s", c.cmd, stray, cmd->synopsis);
    return cli_usage(&c, msg);
  }
  if (!c.db) return cli_usage(&c, "--db FILE is required");

  ms_store *store = NULL;
  int st = ms_store_open(c.db, 0, &store);
  if (st) return cli_fail(&c, st);
  if ((st = ms_tracker_open(store, &c.t)) != MS_OK) {
    rc = cli_fail(&c, st);
  } else {
    rc = cmd->run(&c);
    ms_tracker_close(c.t);
  }
  ms_store_close(store);
  return rc;
}
