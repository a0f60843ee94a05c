/* The commands of mserve-tracker, each one library call or two, printed as
 * text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static void json_limit(const char *key, int64_t limit) {
  if (limit == MS_UNLIMITED) jo_null(key);
  else jo_int(key, limit);
}

int cmd_limit(cli *c) {
  const char *scope = c->args[0];
  ms_session_class cls = c->limit_cls;
  int64_t limit = c->limit;
  if (c->has_limit) {
    int st = ms_tracker_set_limit(c->t, scope, cls, limit);
    if (st) return cli_fail(c, st);
  } else {
    int st = ms_tracker_get_limit(c->t, scope, cls, &limit);
    if (st) return cli_fail(c, st);
  }
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "limit");
    jo_str("scope", scope);
    jo_str("class", cli_class_name(cls));
    json_limit("limit", limit);
    jo_end();
  } else if (limit == MS_UNLIMITED) {
    printf("%s %s: unlimited\n", scope, cli_class_name(cls));
  } else {
    printf("%s %s: at most %lld\n", scope, cli_class_name(cls), (long long)limit);
  }
  return EXIT_OK;
}

int cmd_admit(cli *c) {
  const char *sid = c->args[0];
  ms_session_class cls = c->has_class ? c->cls : MS_CLASS_COMPUTE;
  int64_t now = ms_clock_realtime_us();
  ms_denial d;
  memset(&d, 0, sizeof d);
  int st = ms_tracker_admit(c->t, sid, cls, c->scopes, c->n_scopes, c->lease_us, now, &d);
  if (st && st != MS_ELIMIT) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", st == MS_OK);
    jo_str("command", "admit");
    jo_str("session", sid);
    jo_bool("admitted", st == MS_OK);
    jo_str("class", cli_class_name(cls));
    jo_key_array("scopes");
    for (size_t i = 0; i < c->n_scopes; i++) jo_str(NULL, c->scopes[i]);
    jo_end_array();
    if (st == MS_OK) {
      /* a retried admit keeps the lease it had: report what is stored */
      int held = 0;
      int64_t exp = 0;
      if (ms_tracker_get_held(c->t, sid, now, &held, NULL, &exp) == MS_OK && held && exp) jo_int("lease_expires_us", exp);
      else jo_null("lease_expires_us");
    } else {
      jo_str("status", ms_status_name(st));
      jo_str("error", ms_errmsg());
      jo_key_object("denial");
      jo_str("scope", d.scope);
      jo_int("limit", d.limit);
      jo_int("used", d.used);
      jo_end_object();
    }
    jo_end();
  } else if (st == MS_OK) {
    printf("admitted %s (%s) into", sid, cli_class_name(cls));
    for (size_t i = 0; i < c->n_scopes; i++) printf("%s %s", i ? "," : "", c->scopes[i]);
    printf("\n");
  } else {
    printf("denied %s: scope %s is full (%lld of %lld)\n", sid, d.scope, (long long)d.used, (long long)d.limit);
  }
  return st == MS_OK ? EXIT_OK : EXIT_DENIED;
}

int cmd_release(cli *c) {
  const char *sid = c->args[0];
  int was = 0;
  int st = ms_tracker_release(c->t, sid, &was);
  if (st) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "release");
    jo_str("session", sid);
    jo_bool("was_held", was);
    jo_end();
  } else {
    printf(was ? "released %s\n" : "%s was not held\n", sid);
  }
  return EXIT_OK;
}

int cmd_renew(cli *c) {
  const char *sid = c->args[0];
  int64_t now = ms_clock_realtime_us();
  int st = ms_tracker_renew(c->t, sid, c->lease_us, now);
  if (st) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "renew");
    jo_str("session", sid);
    if (c->lease_us > 0) jo_int("lease_expires_us", now + c->lease_us);
    else jo_null("lease_expires_us");
    jo_end();
  } else if (c->lease_us > 0) {
    printf("renewed %s for %.3f s\n", sid, (double)c->lease_us / 1e6);
  } else {
    printf("renewed %s without a lease\n", sid);
  }
  return EXIT_OK;
}

int cmd_used(cli *c) {
  const char *scope = c->args[0];
  ms_session_class cls = c->has_class ? c->cls : MS_CLASS_COMPUTE;
  int64_t used = 0, limit = MS_UNLIMITED;
  int st = ms_tracker_get_used(c->t, scope, cls, ms_clock_realtime_us(), &used);
  if (!st) st = ms_tracker_get_limit(c->t, scope, cls, &limit);
  if (st) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "used");
    jo_str("scope", scope);
    jo_str("class", cli_class_name(cls));
    jo_int("used", used);
    json_limit("limit", limit);
    jo_end();
  } else if (limit == MS_UNLIMITED) {
    printf("%s %s: %lld (unlimited)\n", scope, cli_class_name(cls), (long long)used);
  } else {
    printf("%s %s: %lld of %lld\n", scope, cli_class_name(cls), (long long)used, (long long)limit);
  }
  return EXIT_OK;
}

int cmd_held(cli *c) {
  const char *sid = c->args[0];
  int held = 0;
  ms_session_class cls = MS_CLASS_COMPUTE;
  int64_t exp = 0;
  int st = ms_tracker_get_held(c->t, sid, ms_clock_realtime_us(), &held, &cls, &exp);
  if (st) return cli_fail(c, st);
  if (c->json) {
    jo_begin();
    jo_bool("ok", 1);
    jo_str("command", "held");
    jo_str("session", sid);
    jo_bool("held", held);
    if (held) {
      jo_str("class", cli_class_name(cls));
      if (exp) jo_int("lease_expires_us", exp);
      else jo_null("lease_expires_us");
    }
    jo_end();
  } else if (!held) {
    printf("%s: not held\n", sid);
  } else if (exp) {
    printf("%s: held (%s), lease ends in %.3f s\n", sid, cli_class_name(cls),
           (double)(exp - ms_clock_realtime_us()) / 1e6);
  } else {
    printf("%s: held (%s), no lease\n", sid, cli_class_name(cls));
  }
  return EXIT_OK;
}
