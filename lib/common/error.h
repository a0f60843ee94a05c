/* Internal: setting the thread-local error message and logging.
 * Every part reports failures through ms__fail so messages are uniform. */
#ifndef MS_COMMON_ERROR_H
#define MS_COMMON_ERROR_H

#include "mserve/common.h"

#if defined(__GNUC__)
#define MS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MS_PRINTF(a, b)
#endif

/* Set this thread's message and return `status`, so callers can write
 * `return ms__fail(MS_EINVAL, "tracker: scope '%s' ...", s);`. */
int ms__fail(int status, const char *fmt, ...) MS_PRINTF(2, 3);

/* Append ": <text>" context to the current message (e.g. a file name). */
void ms__errmsg_prefix(const char *fmt, ...) MS_PRINTF(1, 2);

/* Log through the host's callback when one is installed for `level`. */
void ms__log(int level, const char *fmt, ...) MS_PRINTF(2, 3);
int ms__log_enabled(int level);

#endif
