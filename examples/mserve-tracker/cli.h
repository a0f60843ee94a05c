/* mserve-tracker: shared state of one invocation and the command entry
 * points. Exit codes: 0 ok, 1 denied by a limit, 2 error (usage included). */
#ifndef MSERVE_TRACKER_CLI_H
#define MSERVE_TRACKER_CLI_H

#include <mserve.h>
#include <mserve/tracker.h>

enum { EXIT_OK = 0, EXIT_DENIED = 1, EXIT_ERROR = 2 };

typedef struct cli {
  const char *db;
  int json;
  const char *cmd;
  const char *args[4]; /* positional arguments after the command */
  int n_args;
  const char *scopes[MS_TRACKER_MAX_SCOPES];
  size_t n_scopes;
  int has_class;
  ms_session_class cls;
  int has_lease;
  int64_t lease_us;
  ms_tracker *t;
} cli;

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
