/* Store, layer 4: schema migrations from the list the opener gives
 * (migrate.c). */
#ifndef MS_STORE_MIGRATE_H
#define MS_STORE_MIGRATE_H

#include <stdint.h>

#include "store/handle.h"

/* Migrate an open connection up to `target` (<= the latest of
 * s->migrations; anything else means the latest) in one transaction. */
int ms__store_migrate(ms_store *s, int64_t target);

#endif
