/* Internal: the tracker's handle and the pieces its files share. */
#ifndef MS_TRACKER_INTERNAL_H
#define MS_TRACKER_INTERNAL_H

#include <pthread.h>

#include "mserve/tracker.h"
#include "store/store_internal.h"

/* Longest session id or scope name, in bytes (ms_denial.scope holds 255). */
#define MS_TRACKER_NAME_MAX 255

/* Room for "tracker: <verb> '<name>'", the head of every call's messages. */
#define MS_TRACKER_WHAT_LEN (64 + MS_TRACKER_NAME_MAX)

struct ms_tracker {
  ms_store *store;
};

struct ms_tracker_txn {
  ms_tracker *t;
  pthread_t owner; /* the thread that began it: only it may use it */
};

/* Argument checks; each fails through ms__fail with a message that starts
 * with `what` (e.g. "tracker: admit 'sess-1'"). */
int ms__tracker_check_name(const char *what, const char *kind, const char *name);
int ms__tracker_check_class(const char *what, int cls);
int ms__tracker_check_scopes(const char *what, const char *const *scopes, size_t n_scopes);
/* now_us >= 0, lease_us >= 0 and now_us + lease_us representable. */
int ms__tracker_check_time(const char *what, int64_t lease_us, int64_t now_us);

/* Make a failed call's message name the call: a message that does not start
 * with `what` (one from the store: "store 'x.db': ...") gets it in front.
 * Returns st; MS_OK passes through untouched. */
int ms__tracker_failed(const char *what, int st);

/* Live members of (scope, cls) at now_us. Call inside a lock or transaction. */
int ms__tracker_count(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t *used);

/* Run a cached statement that returns no rows; reset it afterwards. */
int ms__tracker_step_done(ms_tracker *t, sqlite3_stmt *st, const char *what);

#endif
