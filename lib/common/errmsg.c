/* Thread-local error messages (ms_errmsg) and the internal ms__fail helper. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"

/* Large enough for a path plus a cause; longer messages are cut, never overrun. */
#define MS_ERRMSG_MAX 1024

static _Thread_local char tls_msg[MS_ERRMSG_MAX];

const char *ms_errmsg(void) { return tls_msg; }

int ms__fail(int status, const char *fmt, ...) {
  char buf[MS_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  memcpy(tls_msg, buf, sizeof buf);
  if (ms__log_enabled(MS_LOG_DEBUG)) ms__log(MS_LOG_DEBUG, "%s: %s", ms_status_name(status), tls_msg);
  return status;
}

void ms__errmsg_prefix(const char *fmt, ...) {
  char buf[MS_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t used = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
  /* "<head>: <old message>", cut at the buffer's end. */
  size_t room = sizeof buf - used;
  if (room > 2) {
    memcpy(buf + used, ": ", 2);
    ms__strlcpy(buf + used + 2, tls_msg, room - 2);
  }
  memcpy(tls_msg, buf, sizeof buf);
}
