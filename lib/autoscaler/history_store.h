/* Internal (autoscaler, layer 4): an endpoint's persisted history
 * (history_store.c): read back into decisions, or deleted with the endpoint.
 * Depends on the store, the model's endpoints, the decisions and the codec. */
#ifndef MS_AUTOSCALER_HISTORY_STORE_H
#define MS_AUTOSCALER_HISTORY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/decisions.h"
#include "autoscaler/model.h"
#include "store/store_internal.h"

/* Append ep's last `limit` (<= its hist_count) entries to d, oldest first,
 * in one read of the store (ms__store_read_begin). MS_ECORRUPT naming the store and the row,
 * MS_ENOMEM, store errors; d may hold some entries then. */
int ms__autoscaler_history_read(ms_store *s, const as_endpoint *ep, size_t limit, ms_decisions *d);
/* Delete every history row of ep (inside a write already open). */
int ms__autoscaler_history_delete(ms_store *s, const as_endpoint *ep);
/* Delete the history row `seq` (inside a write already open); `what` names
 * the step in a store error. */
int ms__autoscaler_history_delete_row(ms_store *s, int64_t seq, const char *what);

#endif
