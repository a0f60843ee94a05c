/* mserve-tracker: a command-line front end to the libmserve concurrency
 * tracker over a database file. Options, dispatch and help; the commands
 * live in commands.c and reconcile.c, the family's shared behaviour (global
 * options, JSON envelope, exit statuses) in examples/common/cli.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: mserve-tracker --db FILE [--json] COMMAND [ARGS]\n"
    "\n"
    "Session concurrency limits counted as sets of session ids (libmserve tracker).\n"
    "\n"
    "commands:\n"
    "  limit SCOPE [N|unlimited] [--class C]\n"
    "                                    set (or, without a value, show) the limit of SCOPE\n"
    "                                    for sessions of class C\n"
    "  admit SESSION --scope S [--scope S ...] [--class C] [--lease SECONDS]\n"
    "                                    admit SESSION into every scope, all or nothing;\n"
    "                                    a retried identical admit succeeds and changes nothing\n"
    "  release SESSION                   release SESSION (idempotent)\n"
    "  renew SESSION --lease SECONDS     extend SESSION's lease from now (0: no lease)\n"
    "  used SCOPE [--class C]            live sessions of class C in SCOPE\n"
    "  held SESSION                      whether SESSION is held, its class and lease\n"
    "  reconcile [--scope S] < LIST      make the tracker hold exactly LIST (one scope, or every\n"
    "                                    scope when --scope is absent); LIST has one line per\n"
    "                                    session: \"SESSION CLASS SCOPE[,SCOPE...]\" ('#' comments)\n"
    "\n"
    "options of the commands:\n"
    "  --class C       compute (the default) or system (sftp/private sessions)\n"
    "  --scope S       a scope such as keypair:AK1, user:alice, project:p\n"
    "  --lease SECONDS how long the session is held without a renew (fractions allowed;\n"
    "                  a positive lease below 1 us lasts 1 us; 0 or absent: no lease)\n"
    "\n"
    "--db FILE is the tracker database (created when missing). With --json, an admit\n"
    "that is denied adds \"denial\": {\"scope\", \"limit\", \"used\"}; a limit of null means\n"
    "unlimited. Times come from the system clock. reconcile changes nothing unless it\n"
    "read LIST to its end.\n"
    "\n"
    "example:\n"
    "  mserve-tracker --db t.db limit keypair:AK1 2 --class compute\n"
    "  mserve-tracker --db t.db admit sess-1 --scope keypair:AK1 --scope user:alice --lease 3600\n"
    "  mserve-tracker --db t.db used keypair:AK1 --json\n";

static const char negative[] = "a negative answer: admission denied by a limit, a session not found,\n"
                               "a retried admit with other scopes (MS_ECONFLICT)";

const char *tk_class_name(ms_session_class cls) { return cls == MS_CLASS_SYSTEM ? "system" : "compute"; }

static int (*const runners[])(cli *) = {
    [TK_LIMIT] = cmd_limit, [TK_ADMIT] = cmd_admit, [TK_RELEASE] = cmd_release,     [TK_RENEW] = cmd_renew,
    [TK_USED] = cmd_used,   [TK_HELD] = cmd_held,   [TK_RECONCILE] = cmd_reconcile,
};

int main(int argc, char **argv) {
  cli c;
  memset(&c, 0, sizeof c);
  int help = 0;
  char msg[512];
  cli_ctx *x = &c.ctx;
  if (tk_parse_args(&c, argc, argv, &help, msg, sizeof msg)) return cli_finish(x, cli_usage(x, "%s", msg));
  if (help) {
    if (argc <= 1) { /* nothing at all: a usage error */
      fputs(usage_text, stderr);
      fprintf(stderr, "try 'mserve-tracker --help'\n");
      return CLI_EXIT_FAIL;
    }
    return cli_finish(x, x->help ? cli_help(x, usage_text, negative) : cli_version(x));
  }

  ms_store *store = NULL;
  /* Commands that only read open the store read-only, so a store one may not
   * write can be inspected; one still to be created or migrated is opened as
   * the others do. */
  int reads = c.cmd_id == TK_USED || c.cmd_id == TK_HELD || (c.cmd_id == TK_LIMIT && !c.has_limit);
  int st = reads ? ms_store_open(c.db, MS_STORE_READONLY, &store) : MS_ENOTFOUND;
  if (st == MS_ENOTFOUND || st == MS_EUNSUPPORTED) st = ms_store_open(c.db, 0, &store);
  if (st) return cli_finish(x, cli_fail_setup(x, st));
  int rc;
  if ((st = ms_tracker_open(store, &c.t)) != MS_OK) {
    rc = cli_fail_setup(x, st);
  } else {
    rc = runners[c.cmd_id](&c);
    ms_tracker_close(c.t);
  }
  ms_store_close(store);
  return cli_finish(x, rc);
}
