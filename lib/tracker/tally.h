/* Internal: a tick's pairs, in memory (tally.c).
 *
 * A tick admits many sessions into few pairs: a domain's count would be
 * rewritten by every admit of the tick. Instead the tick keeps each pair it
 * touches here — its row as read once, and the change to its count so far —
 * and writes each changed count once, when it commits, in the same
 * transaction as the rows it counts. Decisions inside the tick read the row
 * as read plus the change, so they are exact. Nothing else can run in the
 * store while a tick holds it, so the copy cannot go stale; a rollback drops
 * it. Used under the store's lock only. */
#ifndef MS_TRACKER_TALLY_H
#define MS_TRACKER_TALLY_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms__tracker_tally ms__tracker_tally;

/* One pair of the tick. read = 0 until its row was read; then exists, limit
 * and members are the row's (members as read, without delta). */
typedef struct ms__tracker_tally_pair {
  char *scope;
  int cls;
  int read, exists;
  int64_t limit, members, delta;
} ms__tracker_tally_pair;

ms__tracker_tally *ms__tracker_tally_new(void);
void ms__tracker_tally_free(ms__tracker_tally *y);
/* Forget every pair (a rollback). */
void ms__tracker_tally_clear(ms__tracker_tally *y);
/* The pair (scope, cls), added (read = 0, delta 0) when absent; NULL when out
 * of memory. Pointers stay valid until the tally is cleared or freed. */
ms__tracker_tally_pair *ms__tracker_tally_get(ms__tracker_tally *y, const char *scope, int cls);
/* A savepoint of the tally: after mark, every change of a delta is logged,
 * so undo can take them back (with the database's ROLLBACK TO); keep ends
 * the savepoint, keeping them. 0, or -1 out of memory (then the change was
 * not made). */
void ms__tracker_tally_mark(ms__tracker_tally *y);
int ms__tracker_tally_add(ms__tracker_tally *y, ms__tracker_tally_pair *p, int64_t delta);
void ms__tracker_tally_undo(ms__tracker_tally *y);
void ms__tracker_tally_keep(ms__tracker_tally *y);

/* The pairs, in the order they were added: for i in 0..count. */
size_t ms__tracker_tally_count(const ms__tracker_tally *y);
ms__tracker_tally_pair *ms__tracker_tally_at(ms__tracker_tally *y, size_t i);

#endif
