/* Internal: the autoscaler engine, and the map of the part.
 *
 * Layers, each file using only the layers below it (no #include upwards):
 *   5 public calls   lifecycle.c (open, close, TTL), endpoints_api.c,
 *                    rules_api.c, observe.c, evaluate.c (and
 *                    ms_autoscaler_next_deadline), history.c: check the
 *                    arguments, take the engine's mutex, write the store,
 *                    then change the model.
 *   4 persistence    load.c, tick_store.c, trim.c, history_store.c,
 *                    history_codec.c, schema.c: the part's tables and blobs.
 *   3 engine         this header, engine.c: struct ms_autoscaler (the model,
 *                    the store, the mutex, the history log's bookkeeping,
 *                    scratch) and its small helpers.
 *   2 model          model.h (types); conflict.c, arena.c, series.c, then
 *                    deadline.c, then endpoint.c (the model's operations,
 *                    which keep every index in step). Memory only.
 *   1 values         rule.c (ms_rule), decisions.c (ms_decisions), lists.c
 *                    (ms_endpoint_list, ms_rule_list): self-contained
 *                    objects with their own public accessors.
 *   0 primitives     table.c, pool.c, codec.h.
 * Every header maps to the file of the same name (model.h: the types of
 * layer 2; this header: engine.c). Internal functions are ms__autoscaler_*,
 * internal types as_*.
 *
 * The store. Configuration calls write through ms__store_write (one atomic,
 * group-committed write each; its callback touches only the store and its
 * argument, which the engine's mutex keeps still), an evaluation through a
 * long transaction of its own (ms__store_txn_begin), the load and the
 * history through ms__store_read_begin; statements are stepped with
 * ms__store_step_done. Memory changes only after the write committed; every
 * allocation it needs is made before, so that step cannot fail. Observations
 * are memory only. One mutex guards it all.
 *
 * Messages: every public call's message starts "autoscaler: <call>: <object>:"
 * (the call adds it, ms__errmsg_prefix); the layers below set the cause only. */
#ifndef MS_AUTOSCALER_INTERNAL_H
#define MS_AUTOSCALER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "autoscaler/model.h"
#include "mserve/autoscaler.h"
#include "store/store_internal.h"

/* An endpoint changed by an evaluation, with the rule that changed it. */
typedef struct as_change {
  size_t ep;   /* index in the model's endpoints and in the decisions */
  size_t rule; /* index in the endpoint's rules */
} as_change;

struct ms_autoscaler {
  as_model m;
  ms_store *store;
  pthread_mutex_t mu;
  /* the history log (schema.c, trim.c) */
  int64_t next_seq;    /* seq of the next history row */
  size_t over_bound;   /* endpoints with more than MS_AUTOSCALER_HISTORY_MAX changes */
  int64_t trim_cursor; /* where the history sweep continues */
  /* scratch reused by every evaluation, so a tick allocates only its result */
  as_change *changes;
  size_t cap_changes;
  unsigned char *buf;
  size_t buf_cap;
};

/* Take / release the engine's mutex (MS_EINTERNAL with message). */
int ms__autoscaler_lock(ms_autoscaler *a);
void ms__autoscaler_unlock(ms_autoscaler *a);
/* MS_EINVAL, "<call>: NULL <what>" or "<call>: empty <what>", unless s is a
 * non-empty string. */
int ms__autoscaler_check_name(const char *call, const char *what, const char *s);
/* Grow a->buf to at least `bytes` (MS_ENOMEM with the cause). */
int ms__autoscaler_reserve_buf(ms_autoscaler *a, size_t bytes);

#endif
