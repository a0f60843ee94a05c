/*
 * libmserve — the autoscaling rule engine: metric-based replica rules per
 * endpoint, with cooldowns, bounds and an explanation of every decision.
 *
 * Model. An endpoint has a desired replica count (set by hand with
 * ms_autoscaler_set_replicas or by its rules) and any number of rules. A rule
 * watches one metric (source + name, e.g. "kernel" / "cuda.util"), aggregates
 * the latest fresh observation of every replica (mean, max or min), compares
 * the result with a threshold and, when it fires, proposes `desired + step`
 * clamped to its bounds and to >= 0. All durations and times are
 * microseconds; cooldown stamps are persisted, so pass Unix-epoch times
 * (ms_clock_realtime_us) when several processes or restarts are involved.
 *
 * Metric values. ms_autoscaler_observe keeps, in memory only, the latest value
 * per (endpoint, source, metric, replica). A rule's value is the aggregation
 * over every replica's observation that is not older than the metric TTL
 * (fresh: now - observed_at <= ttl). An endpoint-wide observation (replica
 * NULL, e.g. an inference proxy's queue length) is divided by
 * max(1, desired replicas) at evaluation, so an endpoint at zero replicas can
 * scale up; when a fresh endpoint-wide value exists it is the metric's value
 * and per-replica values of that metric are ignored. No fresh value means the
 * metric is missing: the rule reports MS_RULE_NO_METRIC and never scales,
 * neither up nor down. Every finite observation gives a finite value: the mean
 * of replicas reporting values near +-DBL_MAX is computed without overflow
 * (bit for bit the plain sum / count whenever that sum stays finite).
 * Observations are never persisted: after a restart every metric is missing
 * until observed again.
 *
 * Evaluation (ms_autoscaler_evaluate). Endpoints are evaluated in creation
 * order (their store id), the rules of an endpoint in rule-id order. For each
 * rule, in this order of checks:
 *   disabled                                   -> MS_RULE_DISABLED
 *   no fresh value                             -> MS_RULE_NO_METRIC
 *   !(value <cmp> threshold)                   -> MS_RULE_NOT_TRIGGERED
 *   now < last_applied + cooldown              -> MS_RULE_COOLDOWN
 *   proposal == desired                        -> MS_RULE_AT_BOUND
 *   otherwise the rule fires.
 * proposal = desired + step, clamped to [min, max] (each when set) and to
 * >= 0; a rule never moves the count against the sign of its step (a +step
 * rule whose max is below the current count proposes the current count, i.e.
 * MS_RULE_AT_BOUND, rather than scaling down). Of the firing rules the largest
 * proposal wins (ties: lowest rule id) and is MS_RULE_APPLIED; the others are
 * MS_RULE_OUTVOTED. Rules never compound within one evaluation. Only the
 * applied rule's cooldown stamp is set (to now). A rule that was never applied
 * has no cooldown. Times may be any int64 value and the cooldown test is
 * exact: a cooldown that ends past INT64_MAX still holds at INT64_MAX.
 *
 * Conflicts. Two enabled rules of one endpoint on the same (source, metric,
 * aggregation) whose steps have opposite signs conflict when some value
 * satisfies both triggers (touching closed ends count: ">= 50" and "<= 50"
 * conflict, "> 50" and "< 50" do not). Rules in the same direction never
 * conflict. ms_autoscaler_add_rule and ms_autoscaler_set_rule_enabled refuse
 * a conflict with MS_ECONFLICT and a message naming both rules and the range
 * of values where both fire. The check takes time logarithmic in the rules of
 * the endpoint (an index per metric and aggregation keeps, per direction, the
 * rules whose trigger reaches farthest), so adding many rules stays linear.
 *
 * Limits. An endpoint holds at most 16,384 rules (enabled or not) and 256
 * metrics (those its rules watch and those observed, together); past them
 * ms_autoscaler_add_rule and ms_autoscaler_observe refuse with MS_EFULL.
 *
 * Persistence. Endpoints, rules (ids are store rowids, stable across
 * reopen and never reused), enabled flags, cooldown stamps, desired counts
 * and the history are written through to the store in one transaction per
 * call; the in-memory state changes only after the commit succeeded, so a
 * failed call leaves both unchanged. Every real evaluation that changes an
 * endpoint's count appends one history entry for that endpoint (with every
 * rule's outcome and value); the last MS_AUTOSCALER_HISTORY_MAX (1000) entries
 * per endpoint are kept. Older entries are deleted by a bounded sweep that runs
 * inside later evaluations (a tick's cost stays proportional to what it
 * changes), so the store may hold some older entries for a while, never more
 * than about as many again; ms_autoscaler_history reports exactly the last
 * 1000 regardless. Manual changes (ms_autoscaler_set_replicas) and dry runs
 * create no history.
 *
 * Cost. An evaluation reads every rule once from memory and, when it changes
 * counts, writes two small rows per changed endpoint in one transaction.
 * The endpoints' in-memory data is kept compacted for it as configuration
 * calls go (each call copies at most a few hundred endpoints, amortised over
 * the calls that changed them; opening an engine compacts what it loaded), so
 * no evaluation pays for compacting many endpoints at once, neither the first
 * after a bulk setup nor the first after a reopen; a real evaluation copies at
 * most a few hundred endpoints. Adding or enabling a rule takes time
 * logarithmic in the rules of its endpoint; removing one moves the endpoint's
 * later rules in memory (linear, but small next to its commit). Observations
 * never touch the store.
 *
 * Several processes. The engine loads the store's state at open and caches
 * it; one process should own a store's autoscaler (mutations and evaluation).
 * An autoscaler opened later, in this or another process, sees everything
 * persisted until then; it does not see later changes made by another open
 * autoscaler.
 *
 * Host-owned loops. ms_autoscaler_next_deadline says when time alone next
 * changes what an evaluation would decide (a cooldown ends, an observation
 * goes stale), so a host that evaluates when something changed can sleep
 * until then instead of polling.
 *
 * Thread safety. An ms_autoscaler is safe to use from several threads: every
 * call takes the autoscaler's own mutex (observe from many threads while one
 * thread evaluates is the intended use; an evaluation holds the mutex for its
 * whole duration, including its store transaction). Nothing is bound to the
 * thread that opened it. An ms_rule builder is not thread safe. An
 * ms_decisions, ms_endpoint_list or ms_rule_list is immutable and may be read
 * from several threads at once.
 *
 * Errors: every fallible call returns an ms_status and sets ms_errmsg() to a
 * message that starts with the part, the call and the object, then the
 * cause: "autoscaler: ms_autoscaler_add_rule: endpoint 'chat': the new rule
 * (kernel/util mean > 50, step +1) conflicts with rule 7 (< 70, step -1): both
 * fire for values in (50, 70)". Bad arguments are MS_EINVAL and change
 * nothing. Output parameters are written only on success (the caller buffer
 * of ms_decisions_explain follows the caller-buffer rule of common.h: it is
 * NUL-terminated and *needed set even when too small).
 *
 * Stability: each function is marked Stable or Experimental. Stable
 * functions are the 1.0 API: while libmserve is 0.x they change only with a
 * CHANGELOG entry that names them, and from 1.0 on never within major
 * version 1. Experimental functions may still change in any minor release.
 */
#ifndef MSERVE_AUTOSCALER_H
#define MSERVE_AUTOSCALER_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_autoscaler ms_autoscaler;
typedef struct ms_rule ms_rule;           /* rule builder / rule snapshot; free with ms_rule_free */
typedef struct ms_decisions ms_decisions; /* result of one evaluation, or a history listing */
typedef struct ms_endpoint_list ms_endpoint_list; /* endpoint names; free with ms_endpoint_list_free */
typedef struct ms_rule_list ms_rule_list;         /* rule snapshots; free with ms_rule_list_free */

typedef enum ms_comparator { MS_CMP_LT = 0, MS_CMP_LE = 1, MS_CMP_GT = 2, MS_CMP_GE = 3 } ms_comparator;
typedef enum ms_aggregation { MS_AGG_MEAN = 0, MS_AGG_MAX = 1, MS_AGG_MIN = 2 } ms_aggregation;
typedef enum ms_rule_outcome {
  MS_RULE_APPLIED = 0,       /* fired and its proposal became the desired count */
  MS_RULE_NOT_TRIGGERED = 1, /* value <cmp> threshold is false */
  MS_RULE_NO_METRIC = 2,     /* no fresh observation: never scales */
  MS_RULE_COOLDOWN = 3,      /* triggered, but now < last_applied + cooldown */
  MS_RULE_AT_BOUND = 4,      /* triggered, but the clamped proposal equals the desired count */
  MS_RULE_OUTVOTED = 5,      /* fired, but another rule proposed a larger count (or the same, with a lower id) */
  MS_RULE_DISABLED = 6       /* the rule is disabled */
} ms_rule_outcome;

/* ms_autoscaler_evaluate flag: compute and return the decisions, change nothing. */
#define MS_EVAL_DRY_RUN 1u

/* Kept history entries per endpoint; older ones are trimmed. */
#define MS_AUTOSCALER_HISTORY_MAX 1000

/* ------------------------------------------------------------------------ */
/* Engine                                                                    */

/*
 * ms_autoscaler_open - open the autoscaler over `store`, loading every
 * endpoint, rule, cooldown stamp and desired count persisted there.
 * On success *out owns the engine; close it with ms_autoscaler_close before
 * closing the store. The metric TTL starts at 60 s.
 * Errors: MS_EINVAL (NULL argument), MS_ENOMEM, MS_EBUSY, MS_ECORRUPT
 * (persisted rows that break the engine's invariants), or a store error.
 * *out is untouched on failure. Stable.
 */
MS_API int ms_autoscaler_open(ms_store *store, ms_autoscaler **out);

/*
 * ms_autoscaler_close - free the engine and its in-memory observations.
 * Persisted state stays in the store. NULL is a no-op. Not to be called while
 * another thread uses the engine. Stable.
 */
MS_API void ms_autoscaler_close(ms_autoscaler *a);

/*
 * ms_autoscaler_set_metric_ttl - observations older than ttl_us are missing
 * (default 60 s). In memory only; applies from the next evaluation.
 * Thread safe. Errors: MS_EINVAL (NULL engine, ttl_us <= 0). Stable.
 */
MS_API int ms_autoscaler_set_metric_ttl(ms_autoscaler *a, int64_t ttl_us);

/*
 * ms_autoscaler_set_replicas - set the desired replica count of `endpoint`,
 * creating the endpoint (with no rules) when it does not exist. Persisted.
 * Rule bounds do not apply to counts set by hand; no history entry is made.
 * Thread safe.
 * Errors: MS_EINVAL (NULL or empty name, replicas < 0), MS_ENOMEM, store errors.
 * Stable.
 */
MS_API int ms_autoscaler_set_replicas(ms_autoscaler *a, const char *endpoint, int64_t replicas);

/*
 * ms_autoscaler_get_replicas - the desired replica count of `endpoint`.
 * Thread safe. Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND (unknown
 * endpoint). *replicas is untouched on failure. Stable.
 */
MS_API int ms_autoscaler_get_replicas(ms_autoscaler *a, const char *endpoint, int64_t *replicas);

/*
 * ms_autoscaler_remove_endpoint - delete the endpoint with its rules,
 * history and observations. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND, store errors. Stable.
 */
MS_API int ms_autoscaler_remove_endpoint(ms_autoscaler *a, const char *endpoint);

/*
 * ms_autoscaler_list_endpoints - a snapshot of the endpoints' names, in
 * creation order. *out is the caller's: free it with ms_endpoint_list_free.
 * It is one consistent view taken under the engine's mutex; later changes
 * (other threads removing endpoints) do not shift it. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOMEM. *out is untouched on
 * failure. Stable.
 */
MS_API int ms_autoscaler_list_endpoints(ms_autoscaler *a, ms_endpoint_list **out);

/* ms_endpoint_list_count - the number of names; 0 for NULL. Stable. */
MS_API size_t ms_endpoint_list_count(const ms_endpoint_list *l);
/* ms_endpoint_list_get - name i into *name, owned by the list (valid until
 * ms_endpoint_list_free). Errors: MS_EINVAL (NULL argument, i out of
 * range); *name is untouched on failure. Stable. */
MS_API int ms_endpoint_list_get(const ms_endpoint_list *l, size_t i, const char **name);
/* ms_endpoint_list_free - NULL is a no-op. Stable. */
MS_API void ms_endpoint_list_free(ms_endpoint_list *l);

/* ------------------------------------------------------------------------ */
/* Rules                                                                     */

/*
 * ms_rule_new - a rule builder with defaults: no metric, no trigger, no step
 * (all three must be set before ms_autoscaler_add_rule), cooldown 0, no
 * bounds (-1, -1), MS_AGG_MEAN, enabled. Free with ms_rule_free.
 * Errors: MS_EINVAL (NULL out), MS_ENOMEM. Stable.
 */
MS_API int ms_rule_new(ms_rule **out);

/*
 * ms_rule_set_metric - the metric the rule watches, e.g. ("kernel",
 * "cuda.util"). Both strings are copied. Errors: MS_EINVAL (NULL or empty
 * string), MS_ENOMEM; the rule is unchanged on failure. Stable.
 */
MS_API int ms_rule_set_metric(ms_rule *r, const char *source, const char *name);

/*
 * ms_rule_set_trigger - fire when `value <cmp> threshold`.
 * Errors: MS_EINVAL (NULL rule, cmp outside ms_comparator, NaN or infinite
 * threshold). Stable.
 */
MS_API int ms_rule_set_trigger(ms_rule *r, ms_comparator cmp, double threshold);

/* ms_rule_set_step - signed replica change when the rule fires; never 0.
 * Errors: MS_EINVAL (NULL rule, step 0 or INT64_MIN). Stable. */
MS_API int ms_rule_set_step(ms_rule *r, int64_t step);

/* ms_rule_set_cooldown - minimum time between two applications of this rule
 * (0: none). Errors: MS_EINVAL (NULL rule, negative cooldown). Stable. */
MS_API int ms_rule_set_cooldown(ms_rule *r, int64_t cooldown_us);

/*
 * ms_rule_set_bounds - the rule never proposes fewer than min_replicas nor
 * more than max_replicas; -1 means no bound on that side.
 * Errors: MS_EINVAL (NULL rule, a value < -1, min > max when both are set).
 * Stable.
 */
MS_API int ms_rule_set_bounds(ms_rule *r, int64_t min_replicas, int64_t max_replicas);

/* ms_rule_set_aggregation - how replica values combine (default mean).
 * Errors: MS_EINVAL (NULL rule, agg outside ms_aggregation). Stable. */
MS_API int ms_rule_set_aggregation(ms_rule *r, ms_aggregation agg);

/* ms_rule_set_enabled - whether the rule is added enabled (default 1; any
 * non-zero value means enabled). Disabled rules never conflict.
 * Errors: MS_EINVAL (NULL rule). Stable. */
MS_API int ms_rule_set_enabled(ms_rule *r, int enabled);

/* ms_rule_free - free a builder or a snapshot from ms_autoscaler_get_rule.
 * NULL, and a rule of an ms_rule_list (the list owns it), are no-ops. Stable. */
MS_API void ms_rule_free(ms_rule *r);

/*
 * Getters of a builder or of a snapshot (ms_autoscaler_get_rule,
 * ms_rule_list_get). Returned strings belong to the rule and live until
 * ms_rule_free (for a list's rule: ms_rule_list_free). Any output pointer may
 * be NULL. Errors: MS_EINVAL (NULL rule), MS_ENOTFOUND (the field was never
 * set on a builder: metric, trigger, step). Stable.
 */
MS_API int ms_rule_get_metric(const ms_rule *r, const char **source, const char **name);
MS_API int ms_rule_get_trigger(const ms_rule *r, ms_comparator *cmp, double *threshold);
MS_API int ms_rule_get_step(const ms_rule *r, int64_t *step);
MS_API int ms_rule_get_cooldown(const ms_rule *r, int64_t *cooldown_us);
MS_API int ms_rule_get_bounds(const ms_rule *r, int64_t *min_replicas, int64_t *max_replicas);
MS_API int ms_rule_get_aggregation(const ms_rule *r, ms_aggregation *agg);
MS_API int ms_rule_get_enabled(const ms_rule *r, int *enabled);
/*
 * ms_rule_get_state - for a snapshot: its id, endpoint name (owned by the
 * rule) and the time it was last applied (*has_applied 0 when never; then
 * *last_applied_us is 0). Errors: MS_EINVAL (NULL rule), MS_ENOTFOUND (a
 * builder that was never added). Stable.
 */
MS_API int ms_rule_get_state(const ms_rule *r, int64_t *rule_id, const char **endpoint,
                             int *has_applied, int64_t *last_applied_us);

/*
 * ms_autoscaler_add_rule - add a copy of rule `r` to `endpoint` (which must
 * exist: create it with ms_autoscaler_set_replicas). Persisted; *rule_id
 * (may be NULL) receives its id, a store rowid stable across reopen.
 * Errors: MS_EINVAL (NULL argument, metric/trigger/step not set),
 * MS_ENOTFOUND (unknown endpoint), MS_ECONFLICT (contradicts an enabled rule
 * of the endpoint; the message names both and the overlapping range),
 * MS_EFULL (the endpoint already has 16,384 rules, or 256 metrics and the
 * rule watches another one), MS_ENOMEM, store errors. Nothing changes on
 * failure. Thread safe. Stable.
 */
MS_API int ms_autoscaler_add_rule(ms_autoscaler *a, const char *endpoint, const ms_rule *r, int64_t *rule_id);

/*
 * ms_autoscaler_remove_rule - delete a rule. History entries that mention it
 * stay. Thread safe.
 * Errors: MS_EINVAL (NULL engine), MS_ENOTFOUND (unknown id), store errors.
 * Stable.
 */
MS_API int ms_autoscaler_remove_rule(ms_autoscaler *a, int64_t rule_id);

/*
 * ms_autoscaler_set_rule_enabled - enable (non-zero) or disable (0) a rule.
 * Enabling re-checks conflicts. Setting the current value is a no-op success.
 * Thread safe. Errors: MS_EINVAL (NULL engine), MS_ENOTFOUND (unknown id),
 * MS_ECONFLICT (enabling would contradict an enabled rule), store errors.
 * Stable.
 */
MS_API int ms_autoscaler_set_rule_enabled(ms_autoscaler *a, int64_t rule_id, int enabled);

/*
 * ms_autoscaler_list_rules - snapshots of every rule of `endpoint`, in
 * ascending id order, as ms_autoscaler_get_rule gives them (settings and
 * state; the id through ms_rule_get_state). *out is the caller's: free it
 * with ms_rule_list_free. One consistent view taken under the engine's mutex.
 * Thread safe. Errors: MS_EINVAL (NULL argument, empty name), MS_ENOTFOUND
 * (unknown endpoint), MS_ENOMEM. *out is untouched on failure. Stable.
 */
MS_API int ms_autoscaler_list_rules(ms_autoscaler *a, const char *endpoint, ms_rule_list **out);

/* ms_rule_list_count - the number of rules; 0 for NULL. Stable. */
MS_API size_t ms_rule_list_count(const ms_rule_list *l);
/* ms_rule_list_get - rule i into *rule, owned by the list (valid until
 * ms_rule_list_free; read it with the ms_rule_get_* getters, or pass it to
 * ms_autoscaler_add_rule to add a copy). Errors: MS_EINVAL (NULL argument, i
 * out of range); *rule is untouched on failure. Stable. */
MS_API int ms_rule_list_get(const ms_rule_list *l, size_t i, const ms_rule **rule);
/* ms_rule_list_free - frees the list and its rules. NULL is a no-op. Stable. */
MS_API void ms_rule_list_free(ms_rule_list *l);

/*
 * ms_autoscaler_get_rule - a snapshot (copy) of rule `rule_id`, including its
 * state (ms_rule_get_state). Free with ms_rule_free. A snapshot can be passed
 * to ms_autoscaler_add_rule to add a copy (to any endpoint). Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND, MS_ENOMEM. Stable.
 */
MS_API int ms_autoscaler_get_rule(ms_autoscaler *a, int64_t rule_id, ms_rule **out);

/* ------------------------------------------------------------------------ */
/* Metrics and evaluation                                                    */

/*
 * ms_autoscaler_observe - record `value` of (source, metric) for `replica`
 * of `endpoint` at now_us (replica NULL: one endpoint-wide value). Keeps the
 * latest observation per key: an observation older than the one kept is
 * ignored (MS_OK). In memory only: no store access, no allocation once the key
 * was seen. Metrics no rule uses are kept too, so a rule added later sees
 * them. Thread safe.
 * Errors: MS_EINVAL (NULL engine, NULL/empty endpoint, source or metric,
 * empty replica, NaN or infinite value), MS_ENOTFOUND (unknown endpoint),
 * MS_EFULL (more than 4096 live replicas or 256 metrics for one endpoint),
 * MS_ENOMEM. Nothing changes on failure. Stable.
 */
MS_API int ms_autoscaler_observe(ms_autoscaler *a, const char *endpoint, const char *source, const char *metric,
                                 const char *replica, double value, int64_t now_us);

/*
 * ms_autoscaler_evaluate - run every endpoint's rules at now_us (see the
 * file comment for the semantics) and apply the results: the changed
 * endpoints' desired counts, the applied rules' cooldown stamps and one
 * history entry per changed endpoint are written in ONE transaction; the
 * in-memory state changes only after it committed. With MS_EVAL_DRY_RUN
 * nothing changes and nothing is written.
 * *out (may be NULL when the caller needs no result) receives one entry per
 * endpoint in creation order, including endpoints without rules (from == to,
 * no rules); free it with ms_decisions_free. Thread safe.
 * Errors: MS_EINVAL (NULL engine, unknown flag), MS_ENOMEM, store errors
 * (MS_EBUSY when another process holds the store's write lock past the busy
 * timeout); nothing changes on failure and *out is untouched. Stable.
  * On a PostgreSQL store shared by several hosts, a tick (its now_us) is
 * evaluated by one host: the call takes a lock all hosts share, reads again
 * the counts, history and cooldowns the others applied, and records the
 * tick; a host that finds the lock held, or the tick (or a later one)
 * already evaluated, gets a dry result and the log (INFO) names who
 * evaluated, as does ms_decisions_evaluated_by of the result. Evaluating the same now_us twice on one host is then a dry run
 * the second time.
 */
MS_API int ms_autoscaler_evaluate(ms_autoscaler *a, int64_t now_us, unsigned flags, ms_decisions **out);

/*
 * ms_autoscaler_next_deadline - when time alone next changes what an
 * evaluation decides. Between two calls that change the engine (observe,
 * an evaluation that is not a dry run, any configuration call, a TTL
 * change), an evaluation's decisions depend on its time in two ways only: a
 * rule is in its cooldown or not, and an observation is fresh or not. *at_us
 * receives the earliest instant after now_us at which one of these changes:
 *   - the cooldown of an enabled rule ends (last applied + cooldown), or
 *   - an observation of a metric that some rule of its endpoint watches
 *     (enabled or not) goes stale (observed_at + TTL + 1): every replica's
 *     latest observation and the endpoint-wide one, not only the freshest,
 *     since an aggregate changes when one replica drops out of it;
 * or INT64_MAX when none ever does. So every evaluation at a time in
 * [now_us, *at_us) decides exactly what one at now_us decides (counts,
 * outcomes, values); one at *at_us may decide differently, or not (a
 * cooldown may end while its rule is not triggered). It says nothing about
 * whether an evaluation at now_us would change a count (a triggered rule
 * without cooldown applies at every evaluation): that is the evaluation's
 * answer. now_us is in the clock of the engine's times (see the file
 * comment).
 * Cost: the first call builds an index (O(n) in the rules and observed
 * metrics); from then on the engine keeps it up to date as it changes, and a
 * call costs O(log n) amortised (each observation and each rule applied
 * moves at most one entry, fixed at a later call in O(log n) plus a pass
 * over that metric's replicas). A call with an earlier now_us than the
 * previous call's, the first after a TTL change, and the first after the
 * engine ran out of memory keeping the index rebuild it (O(n)). The index
 * costs 24 bytes per watched metric and per rule in a cooldown, only once
 * this function was called.
 * Thread safe. Errors: MS_EINVAL (NULL argument), MS_ENOMEM (building the
 * index). *at_us is untouched on failure. Experimental.
 */
MS_API int ms_autoscaler_next_deadline(ms_autoscaler *a, int64_t now_us, int64_t *at_us);

/*
 * ms_autoscaler_history - the last `max_entries` (0 or more than
 * MS_AUTOSCALER_HISTORY_MAX: the last MS_AUTOSCALER_HISTORY_MAX) changes of
 * `endpoint` made by evaluations, oldest first, read from the store. Each
 * entry carries its rules' outcomes, values, thresholds, steps and proposals
 * as they were (rules removed since keep their ids). Free with
 * ms_decisions_free. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND (unknown endpoint),
 * MS_ECORRUPT (an unreadable or missing history row; the message names the
 * store, the endpoint and the row), MS_ENOMEM, store errors. *out is untouched
 * on failure. Stable.
 */
MS_API int ms_autoscaler_history(ms_autoscaler *a, const char *endpoint, size_t max_entries, ms_decisions **out);

/* ------------------------------------------------------------------------ */
/* Decisions. Self-contained copies: they stay valid after the engine        */
/* changes or closes. Any output pointer of the getters may be NULL.         */

/* ms_decisions_count - one entry per endpoint evaluated (or history entry);
 * 0 for NULL. Stable. */
MS_API size_t ms_decisions_count(const ms_decisions *d);

/*
 * ms_decisions_evaluated_by - for a result of ms_autoscaler_evaluate that is
 * a dry run because the tick was evaluated elsewhere (a PostgreSQL store
 * shared by several hosts: another host held the evaluator's lock, or had
 * already evaluated this now_us or a later one), who evaluated it:
 * "libmserve@<host>:<pid> (server pid N)", or that name followed by the
 * tick's time, owned by d and valid until it is freed. NULL for a result
 * this call evaluated itself, for a dry run the caller asked for
 * (MS_EVAL_DRY_RUN), on an SQLite store (one writer: the caller's process
 * always evaluates), for a history listing, and for NULL. Thread safe.
 * Stable (added in 1.x; additive).
 */
MS_API const char *ms_decisions_evaluated_by(const ms_decisions *d);

/*
 * ms_decisions_get - entry i: endpoint name (owned by d), evaluation time,
 * desired count before and after, and the applied rule's id (-1: none).
 * Errors: MS_EINVAL (NULL d, i out of range). Stable.
 */
MS_API int ms_decisions_get(const ms_decisions *d, size_t i, const char **endpoint, int64_t *at_us,
                            int64_t *from, int64_t *to, int64_t *applied_rule_id);

/* ms_decisions_rule_count - how many rules entry i evaluated; 0 when out of
 * range. Stable. */
MS_API size_t ms_decisions_rule_count(const ms_decisions *d, size_t i);

/*
 * ms_decisions_get_rule - rule j of entry i: its id, outcome and metric value
 * (NaN when the metric was missing).
 * Errors: MS_EINVAL (NULL d, i or j out of range). Stable.
 */
MS_API int ms_decisions_get_rule(const ms_decisions *d, size_t i, size_t j, int64_t *rule_id,
                                 ms_rule_outcome *outcome, double *metric_value);

/*
 * ms_decisions_get_rule_detail - rule j of entry i as it was evaluated: its
 * comparator, threshold and step, and its clamped proposal (the count it
 * would have set; equal to `from` when it did not fire). Useful for plots.
 * Errors: MS_EINVAL (NULL d, i or j out of range). Stable.
 */
MS_API int ms_decisions_get_rule_detail(const ms_decisions *d, size_t i, size_t j, ms_comparator *cmp,
                                        double *threshold, int64_t *step, int64_t *proposed);

/*
 * ms_decisions_find - the index of the first entry for `endpoint` (linear
 * search). Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND. Stable.
 */
MS_API int ms_decisions_find(const ms_decisions *d, const char *endpoint, size_t *index);

/*
 * ms_decisions_explain - one human-readable line for entry i, e.g.
 * "endpoint 'chat': 1 -> 2 by rule 7 (value 91.5 > 80, step +1); rule 8: not triggered (12 < 20)".
 * A caller buffer: writes at most buf_len bytes and always NUL-terminates
 * (when buf_len > 0); *needed (may be NULL) receives the full length without
 * the NUL, also when the buffer is too small. A buffer shorter than that
 * length + 1 is MS_EINVAL with the needed size in the message, buf holding
 * the cut line. Errors: MS_EINVAL (NULL d, i out of range, NULL buf with
 * buf_len > 0, buffer too small). Stable.
 */
MS_API int ms_decisions_explain(const ms_decisions *d, size_t i, char *buf, size_t buf_len, size_t *needed);

/* ms_decisions_free - free a result. NULL is a no-op. Stable. */
MS_API void ms_decisions_free(ms_decisions *d);

/* ms_rule_outcome_name - "applied", "not triggered", ...; static, never NULL.
 * Stable. */
MS_API const char *ms_rule_outcome_name(int outcome);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_AUTOSCALER_H */
