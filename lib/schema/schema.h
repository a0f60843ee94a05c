/* The top of the library: the ordered list of every part's schema
 * migrations, and the public ms_store_open that opens a store with it
 * (migrations.c). The store below takes the list as an argument and knows
 * no part; each part declares its SQL in lib/<part>/schema.h. */
#ifndef MS_SCHEMA_SCHEMA_H
#define MS_SCHEMA_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_internal.h"

/* The list, oldest first; *count entries. Released entries never change: a
 * change to a table is a new entry at the end. */
const ms_migration *ms__schema_migrations(size_t *count);

/* ms_store_open, stopping the migrations at `version` (tests build each
 * earlier schema with it). */
int ms__schema_open_at(const char *path, unsigned flags, int64_t version, ms_store **out);

#endif
