/* Internal: setting the thread-local error message, and logging.
 * Every part reports failures through ms__fail so messages are uniform.
 *
 * The form of a message. A failure of a public call reads
 *
 *     <part>: <call>: <object>: <cause>
 *
 *   registry: ms_registry_materialize: archive 'x.mar': entry 'weights.bin' fails its CRC-32 check
 *   tracker: ms_tracker_admit: session 's1': scope 'user:alice' is full (2 of 2 compute sessions)
 *   store: ms_store_open: 'x.db': the file is not an SQLite database
 *
 *  - <part> is the folder of lib/ the call belongs to; <call> the public
 *    function's full name; <object> the kind and quoted name of what the
 *    call is about ("session 's1'", "archive 'x.mar'", "endpoint 'ep'"). The
 *    store's calls are about a store, so their object is its path alone.
 *    A call with no such object (a NULL argument found first, a list) goes
 *    straight to the cause: "store: ms_store_open: path is NULL".
 *  - <cause> says what is wrong and, where it helps, what to do; it never
 *    repeats the head.
 *  - A cause from a lower layer keeps its own wording and is wrapped, not
 *    rewritten: the store's internal failures, met inside a part's call,
 *    read "store '<path>': <what>: <detail>" (SQLite's own message last),
 *    and the part puts its head in front of them:
 *        tracker: ms_tracker_admit: session 's1': store 'x.db': commit: disk I/O error
 *    ms__errmsg_prefix (or a part's own helper built on it) adds the head.
 *  - Messages of the log hook (ms__log) follow the same form where they
 *    concern a call; otherwise they start with the part and the object.
 */
#ifndef MS_COMMON_ERROR_H
#define MS_COMMON_ERROR_H

#include "mserve/common.h"

#if defined(__GNUC__)
#define MS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MS_PRINTF(a, b)
#endif

/* Set this thread's message and return `status`, so callers can write
 * `return ms__fail(MS_EINVAL, "tracker: ms_tracker_admit: scope '%s' ...", s);`. */
int ms__fail(int status, const char *fmt, ...) MS_PRINTF(2, 3);

/* Put "<head>: " in front of the current message (e.g. a part's head in
 * front of the store's cause). */
void ms__errmsg_prefix(const char *fmt, ...) MS_PRINTF(1, 2);

/* Log through the host's callback when one is installed for `level`. */
void ms__log(int level, const char *fmt, ...) MS_PRINTF(2, 3);
int ms__log_enabled(int level);

#endif
