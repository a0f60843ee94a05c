/* mserve-tracker reconcile: read the authoritative list of live sessions from
 * stdin ("SESSION CLASS SCOPE[,SCOPE...]" per line) and apply it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

/* Parse one line into the reconcile. Returns EXIT_OK, or EXIT_ERROR after
 * reporting (the line number is in the message). */
static int add_line(cli *c, ms_reconcile *r, char *line, long lineno) {
  char msg[700];
  char *save = NULL;
  const char *sid = strtok_r(line, " \t\r\n", &save);
  if (!sid || sid[0] == '#') return EXIT_OK; /* blank or comment */
  const char *cls_s = strtok_r(NULL, " \t\r\n", &save);
  char *scopes_s = strtok_r(NULL, " \t\r\n", &save);
  const char *extra = strtok_r(NULL, " \t\r\n", &save);
  if (!cls_s || !scopes_s || (extra && extra[0] != '#')) {
    snprintf(msg, sizeof msg, "stdin line %ld: expected \"SESSION CLASS SCOPE[,SCOPE...]\"", lineno);
    return cli_usage(c, msg);
  }
  ms_session_class cls;
  if (strcmp(cls_s, "compute") == 0) cls = MS_CLASS_COMPUTE;
  else if (strcmp(cls_s, "system") == 0) cls = MS_CLASS_SYSTEM;
  else {
    snprintf(msg, sizeof msg, "stdin line %ld: class '%.100s': expected compute or system", lineno, cls_s);
    return cli_usage(c, msg);
  }
  const char *scopes[MS_TRACKER_MAX_SCOPES];
  size_t n = 0;
  /* split on ',' keeping empty items, so the library reports them */
  for (char *p = scopes_s;; p++) {
    char *comma = strchr(p, ',');
    if (n == MS_TRACKER_MAX_SCOPES) {
      snprintf(msg, sizeof msg, "stdin line %ld: more than %d scopes", lineno, MS_TRACKER_MAX_SCOPES);
      return cli_usage(c, msg);
    }
    scopes[n++] = p;
    if (!comma) break;
    *comma = '\0';
    p = comma;
  }
  int st = ms_reconcile_add(r, sid, cls, scopes, n);
  if (st) {
    snprintf(msg, sizeof msg, "stdin line %ld: %s", lineno, ms_errmsg());
    if (c->json) {
      jo_begin();
      jo_bool("ok", 0);
      jo_str("command", "reconcile");
      jo_str("status", ms_status_name(st));
      jo_str("error", msg);
      jo_end();
    } else {
      fprintf(stderr, "mserve-tracker: %s: %s\n", ms_status_name(st), msg);
    }
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

int cmd_reconcile(cli *c) {
  if (c->n_scopes > 1) return cli_usage(c, "reconcile: at most one --scope");
  const char *scope = c->n_scopes ? c->scopes[0] : NULL;
  ms_reconcile *r = NULL;
  int st = ms_tracker_reconcile_begin(c->t, scope, &r);
  if (st) return cli_fail(c, st);
  char *line = NULL;
  size_t cap = 0;
  long lineno = 0, listed = 0;
  int rc = EXIT_OK;
  while (getline(&line, &cap, stdin) >= 0) {
    lineno++;
    char *p = line + strspn(line, " \t\r\n");
    int counts = *p && *p != '#';
    if ((rc = add_line(c, r, line, lineno)) != EXIT_OK) break;
    listed += counts;
  }
  free(line);
  if (rc) {
    ms_reconcile_abort(r);
    return rc;
  }
  int64_t added = 0, removed = 0;
  st = ms_reconcile_commit(r, ms_clock_realtime_us(), &added, &removed);
  if (st) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "reconcile");
    jo_str("scope", scope);
    jo_int("listed", listed);
    jo_int("added", added);
    jo_int("removed", removed);
    jo_end();
  } else {
    printf("reconciled %s%s: %ld sessions listed, %lld memberships added, %lld removed\n",
           scope ? "scope " : "every scope", scope ? scope : "", listed, (long long)added, (long long)removed);
  }
  return EXIT_OK;
}
