/* mserve-tracker: shared state of one invocation and the command entry
 * points. Exit statuses as every libmserve tool (examples/common/cli.h):
 * 0 ok, 1 a negative answer (denied by a limit, not found, a conflicting
 * retry), 2 usage error or failure. */
#ifndef MSERVE_TRACKER_CLI_H
#define MSERVE_TRACKER_CLI_H

#include <mserve.h>
#include <mserve/tracker.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/cli.h"

typedef enum tk_cmd_id { TK_LIMIT, TK_ADMIT, TK_RELEASE, TK_RENEW, TK_USED, TK_HELD, TK_RECONCILE } tk_cmd_id;

typedef struct cli {
  cli_ctx ctx;         /* the family's global options and output (examples/common/cli.h) */
  const char *db;      /* --db FILE (ctx.db) */
  int json;            /* --json (ctx.json) */
  int version;         /* --version was given (tk_parse_args sets *help too) */
  const char *cmd;     /* the command as typed (for messages) */
  tk_cmd_id cmd_id;    /* which one, once tk_parse_args accepted it */
  const char *args[4]; /* positional arguments after the command */
  int n_args;
  const char *scopes[MS_TRACKER_MAX_SCOPES];
  size_t n_scopes;
  int has_class;
  ms_session_class cls; /* --class, every command that takes a class (default compute) */
  int has_lease;
  int64_t lease_us;
  /* limit SCOPE [N|unlimited]: the limit, when given */
  int has_limit;
  int64_t limit;
  ms_tracker *t;
} cli;

/* Parse and check the command line: the global options anywhere (the
 * family's scanner; argv is reordered in place), the command, its arguments
 * and the numbers in them (leases are checked conversions: NaN, infinities,
 * negative and out-of-range values are refused, a positive lease below 1 us
 * is 1 us). Fills `c` (argv's strings are borrowed, not copied). Returns 0,
 * with *help set when --help or --version was given (c->version tells which)
 * or there are no arguments (the rest is then not checked), or -1 with the
 * usage error in msg. Prints nothing and never exits, so a fuzzer can drive
 * it (tests/fuzz/fuzz_cli_tracker_args.c). */
int tk_parse_args(cli *c, int argc, char **argv, int *help, char *msg, size_t cap);

/* The reconcile list on stdin: "SESSION CLASS SCOPE[,SCOPE...]" a line, blank
 * lines and '#' comments skipped. What went wrong when reading it fails. */
typedef struct tk_list_error {
  const char *status; /* "usage" for a malformed line, else an ms_status name ("MS_EIO" for a read error) */
  char msg[768];
} tk_list_error;

/* Read the whole list from `in` into `r` (ms_reconcile_add per session) and
 * count the listed sessions into *listed. A read error is an error, never the
 * end of the list. Returns 0, or -1 with `e` filled; r is left to the caller
 * (roll it back on failure). No output, no exit (tests/fuzz/fuzz_cli_tracker_list.c). */
int tk_list_read(FILE *in, ms_reconcile *r, long *listed, tk_list_error *e);

const char *tk_class_name(ms_session_class cls);

int cmd_limit(cli *c);
int cmd_admit(cli *c);
int cmd_release(cli *c);
int cmd_renew(cli *c);
int cmd_used(cli *c);
int cmd_held(cli *c);
int cmd_reconcile(cli *c);

#endif
