/* mserve-tracker reconcile: read the authoritative list of live sessions from
 * stdin (list.c) and apply it, all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static int list_failed(const cli *c, const tk_list_error *e) {
  if (strcmp(e->status, "usage") == 0) return cli_usage(c, e->msg);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 0);
    jo_str("command", "reconcile");
    jo_str("status", e->status);
    jo_str("error", e->msg);
    jo_end();
  } else {
    fprintf(stderr, "mserve-tracker: %s: %s\n", e->status, e->msg);
  }
  return EXIT_ERROR;
}

int cmd_reconcile(cli *c) {
  const char *scope = c->n_scopes ? c->scopes[0] : NULL;
  ms_reconcile *r = NULL;
  int st = ms_tracker_reconcile_begin(c->t, scope, &r);
  if (st) return cli_fail(c, st);
  long listed = 0;
  tk_list_error e;
  if (tk_list_read(stdin, r, &listed, &e)) {
    ms_reconcile_rollback(r);
    return list_failed(c, &e);
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
