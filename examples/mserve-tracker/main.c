/* mserve-tracker: a command-line front end to the libmserve concurrency
 * tracker over a database file. Options, dispatch, help and error output;
 * the commands live in commands.c and reconcile.c. */
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
    "Times come from the system clock; leases are in seconds (fractions allowed; a\n"
    "positive lease below 1 us lasts 1 us; NaN, infinities and leases past int64\n"
    "microseconds are refused). reconcile changes nothing unless it read LIST to its end.\n"
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

static int (*const runners[])(cli *) = {
    [TK_LIMIT] = cmd_limit, [TK_ADMIT] = cmd_admit, [TK_RELEASE] = cmd_release,     [TK_RENEW] = cmd_renew,
    [TK_USED] = cmd_used,   [TK_HELD] = cmd_held,   [TK_RECONCILE] = cmd_reconcile,
};

int main(int argc, char **argv) {
  cli c;
  memset(&c, 0, sizeof c);
  int help = 0;
  char msg[512];
  if (tk_parse_args(&c, argc, argv, &help, msg, sizeof msg)) return cli_usage(&c, msg);
  if (help) {
    fputs(usage_text, argc > 1 ? stdout : stderr);
    return argc > 1 ? EXIT_OK : EXIT_ERROR;
  }

  ms_store *store = NULL;
  /* Commands that only read open the store read-only, so a store one may not
   * write can be inspected; one still to be created or migrated is opened as
   * the others do. */
  int reads = c.cmd_id == TK_USED || c.cmd_id == TK_HELD || (c.cmd_id == TK_LIMIT && !c.has_limit);
  int st = reads ? ms_store_open(c.db, MS_STORE_READONLY, &store) : MS_ENOTFOUND;
  if (st == MS_ENOTFOUND || st == MS_EUNSUPPORTED) st = ms_store_open(c.db, 0, &store);
  if (st) return cli_fail(&c, st);
  int rc;
  if ((st = ms_tracker_open(store, &c.t)) != MS_OK) {
    rc = cli_fail(&c, st);
  } else {
    rc = runners[c.cmd_id](&c);
    ms_tracker_close(c.t);
  }
  ms_store_close(store);
  return rc;
}
