/* Internal (autoscaler, layer 4): the history sweep (trim.c), which keeps
 * the log at the last MS_AUTOSCALER_HISTORY_MAX rows per endpoint. Depends on
 * the store and the model's endpoints. */
#ifndef MS_AUTOSCALER_TRIM_H
#define MS_AUTOSCALER_TRIM_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/model.h"
#include "store/store_internal.h"

/* Within an open transaction: visit up to `budget` rows from *cursor on and
 * delete those past their endpoint's bound; *cursor moves on (only on
 * success). */
int ms__autoscaler_trim_history(ms_store *s, const as_model *m, size_t budget, int64_t *cursor);

#endif
