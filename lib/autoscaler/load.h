/* Internal (autoscaler, layer 4): reading the persisted state into a fresh
 * engine at open (load.c). Depends on the engine, the model's operations and
 * the codec. */
#ifndef MS_AUTOSCALER_LOAD_H
#define MS_AUTOSCALER_LOAD_H

#include "autoscaler/autoscaler_internal.h"

/* Load every endpoint, rule, cooldown stamp and where the history log ends
 * into a's empty model, in one read transaction, then pack the arena.
 * MS_ECORRUPT naming the store and the row, MS_ENOMEM, store errors (cause
 * only); a's model may hold part of the state then: close it. */
int ms__autoscaler_load(ms_autoscaler *a);
/* Inside the tick's transaction on a store other hosts share: read again
 * what they may have changed of the endpoints this engine knows (counts,
 * history heads, cooldown stamps, the end of the history). Endpoints and
 * rules another host created or removed are seen when the engine is opened
 * again. */
int ms__autoscaler_refresh(ms_autoscaler *a);

#endif
