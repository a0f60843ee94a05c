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

/* Append src to dst at *at (the caller sized dst). */
static void put(char *dst, size_t *at, const char *src, size_t n) {
  memcpy(dst + *at, src, n);
  *at += n;
}

int ms__tracker_what(char *what, const char *call, const char *kind, const char *name) {
  size_t n = name ? strnlen(name, MS_TRACKER_NAME_MAX + 1) : 0;
  size_t lc = strlen(call), lk = strlen(kind);
  if (!name || n == 0 || n > MS_TRACKER_NAME_MAX) {
    /* "session id" / "scope" name the argument */
    char head[96], arg[32];
    snprintf(head, sizeof head, "tracker: %s", call);
    snprintf(arg, sizeof arg, "%s%s", kind, strcmp(kind, "session") == 0 ? " id" : "");
    return ms__tracker_check_name(head, arg, name);
  }
  /* the hot path: "tracker: <call>: <kind> '<name>'" without printf */
  size_t at = 0;
  put(what, &at, "tracker: ", 9);
  put(what, &at, call, lc);
  put(what, &at, ": ", 2);
  put(what, &at, kind, lk);
  put(what, &at, " '", 2);
  put(what, &at, name, n);
  put(what, &at, "'", 2); /* and the NUL */
  return MS_OK;
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
    const char *s = scopes[i];
    if (s && *s && strnlen(s, MS_TRACKER_NAME_MAX + 1) <= MS_TRACKER_NAME_MAX) continue;
    char kind[32];
    snprintf(kind, sizeof kind, "scope #%zu", i);
    return ms__tracker_check_name(what, kind, s);
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
