/* mserve-tracker reconcile: read the authoritative list of live sessions from
 * stdin (list.c) and apply it, all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_text.h"
#include "cli.h"

int cmd_reconcile(cli *c) {
  const char *scope = c->n_scopes ? c->scopes[0] : NULL;
  ms_reconcile *r = NULL;
  int st = ms_tracker_reconcile_begin(c->t, scope, &r);
  if (st) return cli_fail_status(&c->ctx, st);
  long listed = 0;
  tk_list_error e;
  if (tk_list_read(stdin, r, &listed, &e)) {
    ms_reconcile_rollback(r);
    /* a list that cannot be read or used: the work cannot be done (2) */
    return cli_fail(&c->ctx, CLI_EXIT_FAIL, strcmp(e.status, "usage") == 0 ? "MS_EINVAL" : e.status, "%s", e.msg);
  }
  int64_t added = 0, removed = 0;
  st = ms_reconcile_commit(r, ms_clock_realtime_us(), &added, &removed);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      if (scope) json_add_str(o, "scope", scope);
      else cJSON_AddNullToObject(o, "scope");
      cJSON_AddNumberToObject(o, "listed", (double)listed);
      cli_json_int(o, "added", added);
      cli_json_int(o, "removed", removed);
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  fprintf(c->ctx.out, "reconciled %s%s: %ld sessions listed, %lld memberships added, %lld removed\n",
          scope ? "scope " : "every scope", scope ? tx(scope) : "", listed, (long long)added, (long long)removed);
  return CLI_EXIT_OK;
}
