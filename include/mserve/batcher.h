/*
 * libmserve — the batching queue: dynamic batches by max batch size and max
 * delay, per model version, with the semantics of Triton's dynamic batcher
 * and the clock passed in.
 *
 * One ms_batcher is one queue for one model version. Requests go in from any
 * thread (ms_batcher_submit); batches come out either to the host's own loop
 * (ms_batcher_fd + ms_batcher_next_deadline + ms_batcher_poll) or to worker
 * threads (ms_batcher_wait). The batcher owns no thread and never runs a
 * model: a batch is a list of request ids for the host to run or answer.
 *
 * Requests. A request carries a host-chosen request_id, unique among the
 * requests the batcher holds (pending, or canceled / timed out and not yet
 * handed back), and a number of items (its own batch dimension, 1..max
 * batch). A batch never splits a request. Each request goes to one priority
 * level: 1 is served first, then 2, ...; priority 0 means the default level.
 * Queue order is level, then submit order within the level; a request that
 * timed out under MS_TIMEOUT_DELAY moves behind every unexpired request of
 * its level (timed-out requests among themselves: in the order they expired,
 * that is by deadline, then submit time, then level).
 *
 * Cut rules. At every poll the pending requests are taken in queue order,
 * whole, while their running total of items fits; then, in this order:
 *   1. if the running total hits a preferred size exactly, the largest such
 *      total is sent, unless the delay has expired;
 *   2. if the next request would take the total past the largest preferred
 *      size (or, once the delay has expired, past the max batch), what is
 *      pending ahead of it is sent now; when nothing is ahead of it, that
 *      request alone (it can never reach a preferred size by waiting);
 *   3. if the delay has expired, or max_delay == 0, everything that fits the
 *      max batch is sent;
 *   4. otherwise nothing is due: ms_batcher_next_deadline says when to come
 *      back (the earlier of the oldest request's delay end and the nearest
 *      moment a request timeout changes what is due).
 * The delay has expired when max_delay > 0 and the oldest pending request
 * (of any level) has waited at least max_delay, measured per request from
 * its own submit (never from a first dequeue, as TorchServe does). So once
 * a host has polled at time t until it got no batch, no pending request has
 * waited its delay as of t: none waits past its delay by more than the
 * host's poll interval. With max_delay == 0 the preferred sizes still come
 * first (rules 1 and 2), then everything is sent at once.
 *
 * Timeouts. A request's deadline is its submit time plus its timeout: the
 * level policy's default timeout, or the request's own timeout when the
 * policy allows overrides and it is shorter (a default of 0 means no
 * timeout, so any override is shorter). A request is expired when now >=
 * its deadline. Under MS_TIMEOUT_REJECT an expired request never goes into
 * a run batch: the next poll hands back every expired request together in
 * one batch whose ms_batch_status is MS_ETIMEDOUT, before any run batch,
 * whether or not a worker is free. Under MS_TIMEOUT_DELAY it moves behind
 * the unexpired requests of its level and still runs.
 *
 * Time. Every time is monotonic microseconds (ms_clock_monotonic_us(), or
 * any clock of the host's that never goes backwards). The batcher's "now"
 * is the now_us of the latest submit or poll (or the monotonic clock read by
 * ms_batcher_wait): a now_us earlier than that is taken as that (time never
 * goes backwards for one batcher). Nothing happens between calls: a batch
 * that becomes due only because time passed is found by the next poll, and
 * ms_batcher_next_deadline says exactly when that is.
 *
 * Hand-back. Every request submitted is handed back exactly once, in one of
 * three kinds of batch (ms_batch_status): MS_OK (run it), MS_ETIMEDOUT
 * (expired under MS_TIMEOUT_REJECT), MS_ECANCELED (ms_batcher_cancel, or
 * pending at ms_batcher_shutdown). Each poll or wait returns at most one
 * batch, in this order of preference: the timed-out batch, the canceled
 * batch, then a run batch. A timed-out or canceled batch holds every such
 * request waiting at that moment.
 *
 * Thread safety: every call on one batcher may be made from any thread,
 * concurrently (one mutex, held briefly). ms_batcher_free must not run
 * concurrently with any other call on the batcher. Batches are plain values,
 * independent of the batcher once handed out (they may outlive it); free
 * each with ms_batch_free from any thread.
 *
 * Cost: submit and cancel are O(1) (amortized; a request whose timeout
 * differs from every other pending request of its level costs O(log k) more,
 * k being the number of distinct timeouts pending); a poll costs O(max
 * batch), never O(queue), plus O(1) per request that expired since the last
 * call. Memory: about 55 bytes per queued request (a 48-byte node and its
 * share of the index), allocated in chunks of 4096 requests; none per submit.
 *
 * Errors: every fallible call returns an ms_status and sets ms_errmsg() to a
 * message starting "batcher: <call>: ...". Invalid arguments change nothing.
 * Output parameters are written only on success, except where a function
 * says otherwise (*out of ms_batcher_wait and ms_batcher_poll).
 *
 * Stability: Experimental — every function of this header may still change
 * in a minor release before 1.0.
 */
#ifndef MSERVE_BATCHER_H
#define MSERVE_BATCHER_H

#include "common.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_batcher ms_batcher;
typedef struct ms_batch ms_batch; /* requests handed out together; free with ms_batch_free */

/* What happens to a request whose timeout expired. */
typedef enum ms_timeout_action {
  MS_TIMEOUT_REJECT = 0, /* handed back in an MS_ETIMEDOUT batch at the next poll */
  MS_TIMEOUT_DELAY = 1   /* moved behind the unexpired requests of its level; still runs */
} ms_timeout_action;

/* Limits of one batcher. */
#define MS_BATCHER_MAX_LEVELS 256           /* priority levels */
#define MS_BATCHER_MAX_PREFERRED 64         /* preferred batch sizes */
#define MS_BATCHER_MAX_ITEMS 2147483647     /* max batch, in items */
#define MS_BATCHER_MAX_REQUESTS 16777215    /* requests one batcher holds at once */

/* ---- lifecycle ----------------------------------------------------------- */

/*
 * ms_batcher_new - a new, empty batcher: max batch 1, max delay 0, preferred
 * sizes {max batch}, one priority level, no queue limit, no timeout
 * (MS_TIMEOUT_REJECT, overrides not allowed). *out is owned by the caller:
 * free with ms_batcher_free. Thread safe.
 * Errors: MS_EINVAL (NULL out), MS_ENOMEM. Experimental.
 */
MS_API int ms_batcher_new(ms_batcher **out);

/*
 * ms_batcher_free - free the batcher, its requests (dropped without being
 * handed back: call ms_batcher_shutdown and drain first to answer them) and
 * its eventfd. NULL is a no-op. No other call on b may be in flight or made
 * later; batches already handed out stay valid. Experimental.
 */
MS_API void ms_batcher_free(ms_batcher *b);

/* ---- settings (thread safe; they apply at once, also to pending requests) */

/*
 * ms_batcher_configure - take the registry's resolved settings of model m:
 * batch_size -> max batch, max_batch_delay_us -> max delay, max_queue_size
 * -> max queue (per level), request_timeout_us -> the default timeout of
 * every level (0: none; each level keeps its timeout action and override
 * flag). Preferred sizes set with ms_batcher_set_preferred_sizes are kept
 * (they must fit the new max batch); the default {max batch} follows it.
 * All or nothing. m is only read during the call.
 * Errors: MS_EINVAL (NULL argument, a value out of range), MS_ECONFLICT (as
 * ms_batcher_set_max_batch), and the errors of ms_model_get_int; nothing
 * changes on failure. Experimental.
 */
MS_API int ms_batcher_configure(ms_batcher *b, const ms_model *m);

/*
 * ms_batcher_set_max_batch - the most items one batch holds, 1 ..
 * MS_BATCHER_MAX_ITEMS; default 1. When the preferred sizes were never set
 * they become {items}.
 * Errors: MS_EINVAL (out of range), MS_ECONFLICT (a preferred size set
 * earlier, or a pending request, is larger than items: the message names
 * it). Nothing changes on failure. Experimental.
 */
MS_API int ms_batcher_set_max_batch(ms_batcher *b, int64_t items);

/*
 * ms_batcher_set_max_delay - how long the oldest pending request may wait
 * for a fuller batch, >= 0 microseconds; 0 (the default) sends at once.
 * Errors: MS_EINVAL. Experimental.
 */
MS_API int ms_batcher_set_max_delay(ms_batcher *b, int64_t delay_us);

/*
 * ms_batcher_set_preferred_sizes - the batch sizes (in items) worth sending
 * before the delay ends; sizes[0..n) in any order, each 1..max batch, no
 * duplicates, n <= MS_BATCHER_MAX_PREFERRED. n == 0 (sizes may then be
 * NULL) restores the default {max batch}, which follows later changes of
 * the max batch. The array is copied.
 * Errors: MS_EINVAL (NULL sizes with n > 0, a size out of range, a
 * duplicate, too many). Nothing changes on failure. Experimental.
 */
MS_API int ms_batcher_set_preferred_sizes(ms_batcher *b, const int64_t *sizes, size_t n);

/*
 * ms_batcher_set_max_queue - the most pending requests per priority level
 * (timed-out requests waiting to be handed back do not count); 0 (the
 * default) = unbounded. A submit over it is MS_EFULL at once. Lowering it
 * below the current depth drops nothing.
 * Errors: MS_EINVAL (negative). Experimental.
 */
MS_API int ms_batcher_set_max_queue(ms_batcher *b, int64_t requests);

/*
 * ms_batcher_set_priority_levels - levels 1..MS_BATCHER_MAX_LEVELS priority
 * levels (default 1) and the level of priority-0 requests, default_level
 * 1..levels. New levels get the policy last set for level 0 ("all").
 * Errors: MS_EINVAL (out of range), MS_ECONFLICT (a level that would go away
 * holds requests). Nothing changes on failure. Experimental.
 */
MS_API int ms_batcher_set_priority_levels(ms_batcher *b, int levels, int default_level);

/*
 * ms_batcher_set_queue_policy - the timeout policy of one level (1..levels)
 * or, with level 0, of every level (and of levels added later): the action
 * on expiry, the default timeout (>= 0 microseconds; 0: none) and whether a
 * request's own timeout may override it (only ever to shorten it). The
 * default timeout applies to requests submitted from now on (pending
 * requests keep their deadline); the action applies to every request that
 * expires from now on.
 * Errors: MS_EINVAL (level or action out of range, negative timeout).
 * Experimental.
 */
MS_API int ms_batcher_set_queue_policy(ms_batcher *b, int level, ms_timeout_action action,
                                       int64_t default_timeout_us, int allow_override);

/* ---- requests ------------------------------------------------------------ */

/*
 * ms_batcher_submit - queue request_id with `items` items at `priority`
 * (0: the default level; 1..levels) at time now_us. timeout_us: 0 = the
 * policy's default; > 0 = this request's own timeout, used only when the
 * level's policy allows overrides and it is shorter than the default.
 * Requests expired as of now_us are processed first (so they do not count
 * against max_queue). May make the fd readable and wake one waiter.
 * Errors: MS_EINVAL (NULL b, items < 1 or > max batch, priority out of
 * range, negative timeout), MS_EEXIST (request_id is held already),
 * MS_EFULL (the level holds max_queue pending requests — the message says
 * the limit —, or the batcher holds MS_BATCHER_MAX_REQUESTS), MS_ECLOSED
 * (after ms_batcher_shutdown), MS_ENOMEM. The request is not taken on
 * failure. Experimental.
 */
MS_API int ms_batcher_submit(ms_batcher *b, uint64_t request_id, int64_t items, int priority, int64_t timeout_us,
                             int64_t now_us);

/*
 * ms_batcher_cancel - withdraw a pending request: it is handed back in the
 * next MS_ECANCELED batch. Canceling a request that is already canceled or
 * timed out but not handed back yet is MS_OK and changes nothing. O(1).
 * Errors: MS_EINVAL (NULL b), MS_ENOTFOUND (not held: never submitted, or
 * already handed out). Experimental.
 */
MS_API int ms_batcher_cancel(ms_batcher *b, uint64_t request_id);

/*
 * ms_batcher_shutdown - refuse every later submit (MS_ECLOSED) and cancel
 * every pending request: they are handed back in MS_ECANCELED batches (and
 * timed-out ones in MS_ETIMEDOUT batches) by the next polls and waits; then
 * poll and wait return MS_ECLOSED. Wakes every waiter and makes the fd
 * readable. Idempotent.
 * Errors: MS_EINVAL (NULL b). Experimental.
 */
MS_API int ms_batcher_shutdown(ms_batcher *b);

/* ---- batches out --------------------------------------------------------- */

/*
 * ms_batcher_poll - at time now_us, hand out what is due: the timed-out
 * batch, else the canceled batch, else a run batch cut by the rules above;
 * *out = NULL when nothing is due. Call it until *out is NULL to take every
 * due batch. *out is owned by the caller (ms_batch_free). Drains the fd when
 * nothing is left due. O(max batch).
 * Errors: MS_EINVAL (NULL argument), MS_ENOMEM (nothing taken), MS_ECLOSED
 * (after shutdown, once everything was handed back: *out is set to NULL).
 * Experimental.
 */
MS_API int ms_batcher_poll(ms_batcher *b, int64_t now_us, ms_batch **out);

/*
 * ms_batcher_next_deadline - when a poll is next due: the batcher's now (the
 * latest submit's or poll's now_us) or earlier when something is due
 * already; INT64_MAX when nothing is pending; otherwise the exact instant at
 * which the first batch becomes due — a poll at it returns a batch and any
 * earlier poll returns none (unless requests arrive or are canceled in
 * between). That includes a timeout under MS_TIMEOUT_DELAY whose reordering
 * makes a preferred size due, found by replaying those timeouts on a copy of
 * the (then short) queue; past about 16 million steps of that replay it
 * answers the first such timeout instead: early, never late. A host sleeps
 * until it, e.g. with a timerfd. Reads only. O(1) while something is due.
 * Errors: MS_EINVAL (NULL argument). Experimental.
 */
MS_API int ms_batcher_next_deadline(ms_batcher *b, int64_t *deadline_us);

/*
 * ms_batcher_fd - an eventfd (non-blocking, close-on-exec) owned by the
 * batcher, created at the first call and closed by ms_batcher_free: it is
 * readable exactly while, as of the batcher's now, a poll would return a
 * batch (due by size or by an expired delay, timed-out or canceled requests
 * waiting — after a shutdown, every request it canceled) or, once a
 * shut-down batcher handed everything back, MS_ECLOSED: it stays readable
 * then, and the host takes it out of its loop. Before a shutdown it never
 * stays readable with nothing to take, so a level-triggered epoll host does
 * not spin. Do not read or
 * write it: polls drain it. A batch that becomes due only because time
 * passed does not make it readable: watch ms_batcher_next_deadline too.
 * Errors: MS_EINVAL (NULL argument), MS_EIO (eventfd failed). Experimental.
 */
MS_API int ms_batcher_fd(ms_batcher *b, int *fd);

/*
 * ms_batcher_wait - for worker threads: wait up to timeout_us microseconds
 * of the monotonic clock (0: do not sleep; -1: no limit) for a batch and
 * take it, as ms_batcher_poll at the monotonic time. Several threads may
 * wait at once: each batch goes to exactly one of them, a submit that makes
 * a batch due wakes one waiter (not all), and one waiter at a time sleeps
 * until the next deadline. *out is owned by the caller (ms_batch_free).
 * Errors: MS_EINVAL (NULL argument, timeout_us < -1), MS_ETIMEDOUT (nothing
 * became due in time: *out is set to NULL), MS_ECLOSED (shut down and
 * everything handed back: *out is set to NULL), MS_ENOMEM. Experimental.
 */
MS_API int ms_batcher_wait(ms_batcher *b, int64_t timeout_us, ms_batch **out);

/*
 * ms_batcher_stats - as of now_us (only read, the batcher's now does not
 * move): the pending requests and their items (canceled or timed-out
 * requests waiting to be handed back not included), and how long the oldest
 * pending one has waited (0 when none) — the queue metric an autoscaler
 * watches. Each output may be NULL.
 * Errors: MS_EINVAL (NULL b). Experimental.
 */
MS_API int ms_batcher_stats(ms_batcher *b, int64_t now_us, int64_t *queued_requests, int64_t *queued_items,
                            int64_t *oldest_wait_us);

/* ---- batches ------------------------------------------------------------- */

/* ms_batch_status - MS_OK: run it; MS_ETIMEDOUT / MS_ECANCELED: answer each
 * request so. MS_EINVAL for NULL. Experimental. */
MS_API int ms_batch_status(const ms_batch *x);

/* ms_batch_count - the number of requests; 0 for NULL. Experimental. */
MS_API size_t ms_batch_count(const ms_batch *x);

/* ms_batch_items - the sum of their items; 0 for NULL. Experimental. */
MS_API int64_t ms_batch_items(const ms_batch *x);

/*
 * ms_batch_get - request i (0..count-1, in queue order): its id, its items
 * and its submit time (the batcher's now at submit). Each output may be
 * NULL. Errors: MS_EINVAL (NULL x, i out of range). Experimental.
 */
MS_API int ms_batch_get(const ms_batch *x, size_t i, uint64_t *request_id, int64_t *items, int64_t *submitted_us);

/* ms_batch_formed_us - the batcher's now when the batch was handed out
 * (the poll's now_us, or the clock read by ms_batcher_wait); 0 for NULL.
 * Experimental. */
MS_API int64_t ms_batch_formed_us(const ms_batch *x);

/* ms_batch_free - NULL is a no-op. Any thread. Experimental. */
MS_API void ms_batch_free(ms_batch *x);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_BATCHER_H */
