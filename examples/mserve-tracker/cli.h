/* mserve-tracker: shared state of one invocation and the command entry
 * points. Exit codes: 0 ok, 1 denied by a limit, 2 error (usage included). */
#ifndef MSERVE_TRACKER_CLI_H
#define MSERVE_TRACKER_CLI_H

#include <mserve.h>
#include <mserve/tracker.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_DENIED = 1, EXIT_ERROR = 2 };

typedef enum tk_cmd_id { TK_LIMIT, TK_ADMIT, TK_RELEASE, TK_RENEW, TK_USED, TK_HELD, TK_RECONCILE } tk_cmd_id;

typedef struct cli {
  const char *db;
  int json;
  const char *cmd;     /* the command as typed (for messages) */
  tk_cmd_id cmd_id;    /* which one, once tk_parse_args accepted it */
  const char *args[4]; /* positional arguments after the command */
  int n_args;
  const char *scopes[MS_TRACKER_MAX_SCOPES];
  size_t n_scopes;
  int has_class;
  ms_session_class cls;
  int has_lease;
  int64_t lease_us;
  /* limit SCOPE CLASS [N]: the class and, when given, the limit */
  ms_session_class limit_cls;
  int has_limit;
  int64_t limit;
  ms_tracker *t;
} cli;

/* Parse and check the command line: options, the command, its arguments and
 * the numbers in them (leases are checked conversions: NaN, infinities,
 * negative and out-of-range values are refused, a positive lease below 1 us
 * is 1 us). Fills `c` (argv's strings are borrowed, not copied). Returns 0,
 * with *help set when --help was given or there are no arguments (the rest
 * is then not checked), or -1 with the usage error in msg. Prints nothing and
 * never exits, so a fuzzer can drive it (tests/fuzz/fuzz_cli_tracker_args.c). */
int tk_parse_args(cli *c, int argc, char *const *argv, int *help, char *msg, size_t cap);

/* The reconcile list on stdin: "SESSION CLASS SCOPE[,SCOPE...]" a line, blank
 * lines and '#' comments skipped. What went wrong when reading it fails. */
typedef struct tk_list_error {
  const char *status; /* "usage" for a malformed line, else an ms_status name ("MS_EIO" for a read error) */
  char msg[768];
} tk_list_error;

/* Read the whole list from `in` into `r` (ms_reconcile_add per session) and
 * count the listed sessions into *listed. A read error is an error, never the
 * end of the list. Returns 0, or -1 with `e` filled; r is left to the caller
 * (abort it on failure). No output, no exit (tests/fuzz/fuzz_cli_tracker_list.c). */
int tk_list_read(FILE *in, ms_reconcile *r, long *listed, tk_list_error *e);

/* Report a failed library call (status + ms_errmsg) and return EXIT_ERROR. */
int cli_fail(const cli *c, int status);
/* Report a usage or input problem and return EXIT_ERROR. */
int cli_usage(const cli *c, const char *message);
const char *cli_class_name(ms_session_class cls);

int cmd_limit(cli *c);
int cmd_admit(cli *c);
int cmd_release(cli *c);
int cmd_renew(cli *c);
int cmd_used(cli *c);
int cmd_held(cli *c);
int cmd_reconcile(cli *c);

#endif
