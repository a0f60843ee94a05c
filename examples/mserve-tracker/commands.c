/* The commands of mserve-tracker, each one library call or two, printed as
 * text or as the family's JSON envelope (examples/common/cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_text.h"
#include "cli.h"

static void json_limit(cJSON *o, const char *key, int64_t limit) {
  if (limit == MS_UNLIMITED) cJSON_AddNullToObject(o, key);
  else cli_json_int(o, key, limit);
}

static ms_session_class class_of(const cli *c) { return c->has_class ? c->cls : MS_CLASS_COMPUTE; }

int cmd_limit(cli *c) {
  const char *scope = c->args[0];
  ms_session_class cls = class_of(c);
  int64_t limit = c->limit;
  int st = c->has_limit ? ms_tracker_set_limit(c->t, scope, cls, limit) : ms_tracker_get_limit(c->t, scope, cls, &limit);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      json_add_str(o, "scope", scope);
      cJSON_AddStringToObject(o, "class", tk_class_name(cls));
      json_limit(o, "limit", limit);
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  if (limit == MS_UNLIMITED) fprintf(c->ctx.out, "%s %s: unlimited\n", tx(scope), tk_class_name(cls));
  else fprintf(c->ctx.out, "%s %s: at most %lld\n", tx(scope), tk_class_name(cls), (long long)limit);
  return CLI_EXIT_OK;
}

int cmd_admit(cli *c) {
  const char *sid = c->args[0];
  ms_session_class cls = class_of(c);
  int64_t now = ms_clock_realtime_us();
  ms_denial d;
  memset(&d, 0, sizeof d);
  int st = ms_tracker_admit(c->t, sid, cls, c->scopes, c->n_scopes, c->lease_us, now, &d);
  if (st && st != MS_ELIMIT) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = st == MS_OK ? cli_doc(&c->ctx) : cli_doc_fail(&c->ctx, CLI_EXIT_NO, ms_status_name(st), ms_errmsg());
    cJSON *arr = NULL;
    if (o) {
      json_add_str(o, "session", sid);
      cJSON_AddBoolToObject(o, "admitted", st == MS_OK);
      cJSON_AddStringToObject(o, "class", tk_class_name(cls));
      if ((arr = cJSON_AddArrayToObject(o, "scopes")) != NULL)
        for (size_t i = 0; i < c->n_scopes; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(c->scopes[i]));
    }
    if (o && st == MS_OK) {
      /* a retried admit keeps the lease it had: report what is stored */
      int held = 0;
      int64_t exp = 0;
      if (ms_tracker_get_held(c->t, sid, now, &held, NULL, &exp) == MS_OK && held && exp)
        cli_json_int(o, "lease_expires_us", exp);
      else cJSON_AddNullToObject(o, "lease_expires_us");
    } else if (o) {
      cJSON *den = cJSON_AddObjectToObject(o, "denial");
      if (den) {
        json_add_str(den, "scope", d.scope);
        cli_json_int(den, "limit", d.limit);
        cli_json_int(den, "used", d.used);
      }
    }
    return cli_emit(&c->ctx, o, st == MS_OK ? CLI_EXIT_OK : CLI_EXIT_NO);
  }
  if (st == MS_OK) {
    fprintf(c->ctx.out, "admitted %s (%s) into", tx(sid), tk_class_name(cls));
    for (size_t i = 0; i < c->n_scopes; i++) fprintf(c->ctx.out, "%s %s", i ? "," : "", tx(c->scopes[i]));
    fprintf(c->ctx.out, "\n");
    return CLI_EXIT_OK;
  }
  fprintf(c->ctx.out, "denied %s: scope %s is full (%lld of %lld)\n", tx(sid), tx(d.scope), (long long)d.used,
          (long long)d.limit);
  return CLI_EXIT_NO;
}

int cmd_release(cli *c) {
  const char *sid = c->args[0];
  int was = 0;
  int st = ms_tracker_release(c->t, sid, ms_clock_realtime_us(), &was);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      json_add_str(o, "session", sid);
      cJSON_AddBoolToObject(o, "was_held", was);
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  fprintf(c->ctx.out, was ? "released %s\n" : "%s was not held\n", tx(sid));
  return CLI_EXIT_OK;
}

int cmd_renew(cli *c) {
  const char *sid = c->args[0];
  int64_t now = ms_clock_realtime_us();
  int st = ms_tracker_renew(c->t, sid, c->lease_us, now);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      json_add_str(o, "session", sid);
      if (c->lease_us > 0) cli_json_int(o, "lease_expires_us", now + c->lease_us);
      else cJSON_AddNullToObject(o, "lease_expires_us");
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  if (c->lease_us > 0) fprintf(c->ctx.out, "renewed %s for %.3f s\n", tx(sid), (double)c->lease_us / 1e6);
  else fprintf(c->ctx.out, "renewed %s without a lease\n", tx(sid));
  return CLI_EXIT_OK;
}

int cmd_used(cli *c) {
  const char *scope = c->args[0];
  ms_session_class cls = class_of(c);
  int64_t used = 0, limit = MS_UNLIMITED;
  int st = ms_tracker_get_used(c->t, scope, cls, ms_clock_realtime_us(), &used);
  if (!st) st = ms_tracker_get_limit(c->t, scope, cls, &limit);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      json_add_str(o, "scope", scope);
      cJSON_AddStringToObject(o, "class", tk_class_name(cls));
      cli_json_int(o, "used", used);
      json_limit(o, "limit", limit);
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  if (limit == MS_UNLIMITED)
    fprintf(c->ctx.out, "%s %s: %lld (unlimited)\n", tx(scope), tk_class_name(cls), (long long)used);
  else
    fprintf(c->ctx.out, "%s %s: %lld of %lld\n", tx(scope), tk_class_name(cls), (long long)used, (long long)limit);
  return CLI_EXIT_OK;
}

int cmd_held(cli *c) {
  const char *sid = c->args[0];
  int held = 0;
  ms_session_class cls = MS_CLASS_COMPUTE;
  int64_t exp = 0;
  int st = ms_tracker_get_held(c->t, sid, ms_clock_realtime_us(), &held, &cls, &exp);
  if (st) return cli_fail_status(&c->ctx, st);
  if (c->json) {
    cJSON *o = cli_doc(&c->ctx);
    if (o) {
      json_add_str(o, "session", sid);
      cJSON_AddBoolToObject(o, "held", held);
      if (held) {
        cJSON_AddStringToObject(o, "class", tk_class_name(cls));
        if (exp) cli_json_int(o, "lease_expires_us", exp);
        else cJSON_AddNullToObject(o, "lease_expires_us");
      }
    }
    return cli_emit(&c->ctx, o, CLI_EXIT_OK);
  }
  if (!held) fprintf(c->ctx.out, "%s: not held\n", tx(sid));
  else if (exp)
    fprintf(c->ctx.out, "%s: held (%s), lease ends in %.3f s\n", tx(sid), tk_class_name(cls),
            (double)(exp - ms_clock_realtime_us()) / 1e6);
  else fprintf(c->ctx.out, "%s: held (%s), no lease\n", tx(sid), tk_class_name(cls));
  return CLI_EXIT_OK;
}
