/* Argument checks and the head of every tracker message:
 * "tracker: <call>: <object>: <cause>", e.g.
 * "tracker: ms_tracker_admit: session 's1': scope 'user:u' is full (...)". */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "tracker/tracker_internal.h"

int ms__tracker_check_name(const char *what, const char *kind, const char *name) {
  if (!name) return ms__fail(MS_EINVAL, "%s: %s is NULL", what, kind);
  if (!*name) return ms__fail(MS_EINVAL, "%s: %s is empty", what, kind);
  size_t n = strnlen(name, MS_TRACKER_NAME_MAX + 1);
  if (n > MS_TRACKER_NAME_MAX)
    return ms__fail(MS_EINVAL, "%s: %s '%.40s...' is longer than %d bytes", what, kind, name, MS_TRACKER_NAME_MAX);
  return MS_OK;
}

int ms__tracker_what(char *what, const char *call, const char *kind, const char *name) {
  char head[64];
  snprintf(head, sizeof head, "tracker: %s", call);
  /* "session id" / "scope" name the argument; the object is named by kind */
  char arg[32];
  snprintf(arg, sizeof arg, "%s%s", kind, strcmp(kind, "session") == 0 ? " id" : "");
  int st = ms__tracker_check_name(head, arg, name);
  if (!st) snprintf(what, MS_TRACKER_WHAT_LEN, "%s: %s '%s'", head, kind, name);
  return st;
}

int ms__tracker_check_class(const char *what, int cls) {
  if (cls != MS_CLASS_COMPUTE && cls != MS_CLASS_SYSTEM)
    return ms__fail(MS_EINVAL, "%s: session class %d is neither MS_CLASS_COMPUTE (0) nor MS_CLASS_SYSTEM (1)", what,
                    cls);
  return MS_OK;
}

int ms__tracker_check_scopes(const char *what, const char *const *scopes, size_t n_scopes) {
  if (!scopes) return ms__fail(MS_EINVAL, "%s: scopes is NULL", what);
  if (n_scopes == 0) return ms__fail(MS_EINVAL, "%s: no scope named (n_scopes is 0)", what);
  if (n_scopes > MS_TRACKER_MAX_SCOPES)
    return ms__fail(MS_EINVAL, "%s: %zu scopes named, more than MS_TRACKER_MAX_SCOPES (%d)", what, n_scopes,
                    MS_TRACKER_MAX_SCOPES);
  for (size_t i = 0; i < n_scopes; i++) {
    char kind[32];
    snprintf(kind, sizeof kind, "scope #%zu", i);
    int st = ms__tracker_check_name(what, kind, scopes[i]);
    if (st) return st;
  }
  return MS_OK;
}

int ms__tracker_check_time(const char *what, int64_t lease_us, int64_t now_us) {
  if (now_us < 0) return ms__fail(MS_EINVAL, "%s: now_us %lld is before the Unix epoch", what, (long long)now_us);
  if (lease_us < 0) return ms__fail(MS_EINVAL, "%s: lease %lld us is negative", what, (long long)lease_us);
  if (lease_us > INT64_MAX - now_us)
    return ms__fail(MS_EINVAL, "%s: lease %lld us from now_us %lld overflows", what, (long long)lease_us,
                    (long long)now_us);
  return MS_OK;
}

int ms__tracker_failed(const char *what, int st) {
  if (st && strncmp(ms_errmsg(), what, strlen(what)) != 0) ms__errmsg_prefix("%s", what);
  return st;
}
