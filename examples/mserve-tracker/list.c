/* mserve-tracker reconcile: reading the authoritative list of live sessions
 * ("SESSION CLASS SCOPE[,SCOPE...]" a line). Nothing here prints or exits:
 * cmd_reconcile reports, and tests/fuzz/fuzz_cli_tracker_list.c drives it.
 *
 * The list replaces what the tracker holds, so a list cut short removes every
 * session after the cut: a read error (EIO, EISDIR, a reset socket, ENOMEM)
 * fails the whole reconcile instead of ending the list, and so do lines that
 * could only be read in part (a NUL byte, a line past TK_LIST_MAX_LINE). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A line holds one session id, a class and at most MS_TRACKER_MAX_SCOPES
 * scopes; anything this long is not a list line. */
#define TK_LIST_MAX_LINE 65536

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(tk_list_error *e, const char *status, const char *fmt, ...) {
  e->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* One line into the reconcile; blank and comment lines add nothing. Returns
 * 1 when the line listed a session, 0 when it was blank, -1 on error. */
static int add_line(ms_reconcile *r, char *line, long lineno, tk_list_error *e) {
  char *save = NULL;
  const char *sid = strtok_r(line, " \t\r\n", &save);
  if (!sid || sid[0] == '#') return 0; /* blank or comment */
  const char *cls_s = strtok_r(NULL, " \t\r\n", &save);
  char *scopes_s = strtok_r(NULL, " \t\r\n", &save);
  const char *extra = strtok_r(NULL, " \t\r\n", &save);
  if (!cls_s || !scopes_s || (extra && extra[0] != '#'))
    return fail(e, "usage", "stdin line %ld: expected \"SESSION CLASS SCOPE[,SCOPE...]\"", lineno);
  ms_session_class cls;
  if (strcmp(cls_s, "compute") == 0) cls = MS_CLASS_COMPUTE;
  else if (strcmp(cls_s, "system") == 0) cls = MS_CLASS_SYSTEM;
  else return fail(e, "usage", "stdin line %ld: class '%.100s': expected compute or system", lineno, cls_s);
  const char *scopes[MS_TRACKER_MAX_SCOPES];
  size_t n = 0;
  /* split on ',' keeping empty items, so the library reports them */
  for (char *p = scopes_s;; p++) {
    char *comma = strchr(p, ',');
    if (n == MS_TRACKER_MAX_SCOPES)
      return fail(e, "usage", "stdin line %ld: more than %d scopes", lineno, MS_TRACKER_MAX_SCOPES);
    scopes[n++] = p;
    if (!comma) break;
    *comma = '\0';
    p = comma;
  }
  int st = ms_reconcile_add(r, sid, cls, scopes, n);
  if (st) return fail(e, ms_status_name(st), "stdin line %ld: %s", lineno, ms_errmsg());
  return 1;
}

/* Read one line (its '\n' dropped) into buf, at most TK_LIST_MAX_LINE bytes.
 * Returns its length, -1 at the end of the input, -2 on a read error (errno
 * set), -3 for a line too long (the rest of it is not read). */
static long read_line(FILE *in, char *buf) {
  size_t n = 0;
  for (;;) {
    int ch = getc(in);
    if (ch == EOF) {
      if (ferror(in)) return -2;
      if (n == 0) return -1;
      break; /* a last line without '\n' */
    }
    if (ch == '\n') break;
    if (n == TK_LIST_MAX_LINE) return -3;
    buf[n++] = (char)ch;
  }
  buf[n] = '\0';
  return (long)n;
}

int tk_list_read(FILE *in, ms_reconcile *r, long *listed, tk_list_error *e) {
  char *buf = malloc(TK_LIST_MAX_LINE + 1);
  if (!buf) return fail(e, "MS_ENOMEM", "reconcile: out of memory for the list; nothing changed");
  long lineno = 0, count = 0;
  int rc = 0;
  for (;;) {
    errno = 0;
    long len = read_line(in, buf);
    if (len == -1) break;
    if (len == -2) {
      int err = errno ? errno : EIO;
      char where[64];
      if (lineno) snprintf(where, sizeof where, "after line %ld", lineno);
      else snprintf(where, sizeof where, "before the first line");
      rc = fail(e, "MS_EIO", "reconcile: reading the list from stdin failed %s: %s; nothing changed", where,
                strerror(err));
      break;
    }
    lineno++;
    if (len == -3) {
      rc = fail(e, "usage", "stdin line %ld: longer than %d bytes; nothing changed", lineno, TK_LIST_MAX_LINE);
      break;
    }
    if ((size_t)len != strlen(buf)) {
      rc = fail(e, "usage", "stdin line %ld: contains a NUL byte at byte %zu; nothing changed", lineno,
                strlen(buf) + 1);
      break;
    }
    int added = add_line(r, buf, lineno, e);
    if (added < 0) {
      rc = -1;
      break;
    }
    count += added;
  }
  free(buf);
  if (rc == 0) *listed = count;
  return rc;
}
