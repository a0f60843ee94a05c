/* Store, layer 4: checkpoints, copying the WAL back into the database off
 * the write path (checkpoint.c; ms_store_checkpoint and
 * ms_store_set_autocheckpoint are its public calls). */
#ifndef MS_STORE_CHECKPOINT_H
#define MS_STORE_CHECKPOINT_H

#include "store/handle.h"

/* Install the WAL hook that tracks the WAL's size (file stores only). */
void ms__store_checkpoint_init(ms_store *s);
/* Run a passive checkpoint when one is due and no other thread of this
 * process is running one. Call without the write lock (it may take it for a
 * short pass). Never fails (logs). */
void ms__store_checkpoint_maybe(ms_store *s);
/* Close the checkpoint connection (store teardown). */
void ms__store_checkpoint_close(ms_store *s);

#endif
