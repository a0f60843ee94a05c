/* Internal (autoscaler, layer 4): writing one evaluation's changes in one
 * transaction (tick_store.c). Depends on the engine, the store, the codec
 * and the sweep. */
#ifndef MS_AUTOSCALER_TICK_STORE_H
#define MS_AUTOSCALER_TICK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/decisions.h"

/* Persist changes ch[0..n) of decisions d made at `now`: state rows, history
 * rows and a bounded sweep, in one transaction: x when not NULL (the tick's,
 * begun by the caller; ended here either way), else one of its own. Memory
 * is the caller's to update after it succeeded; *trim_cursor moves on only
 * then. */
int ms__autoscaler_persist_tick(ms_autoscaler *a, ms_store_txn *x, const ms_decisions *d, const as_change *ch,
                                size_t n, int64_t now,
                                int64_t *trim_cursor);

#endif
