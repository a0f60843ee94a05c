/* Internal: the registry's rows in the store — table registry_models
 * (schema.c) — as the registry's calls write them (rows.c). Every function
 * runs inside a transaction the caller holds.
 *
 * Layer: above archive.h (what a row records) and the store; below the
 * calls that write (registry.c, scan.c). */
#ifndef MS_REGISTRY_ROWS_H
#define MS_REGISTRY_ROWS_H

#include "registry/archive.h"
#include "registry/handle.h"

/* Insert a registration. The row becomes the name's default when it has
 * no other version, or when the global config marks it "defaultVersion":
 * true (the previous default then is not). Errors: MS_EEXIST (name+version or path taken; the
 * message names the other archive), store errors. */
int ms__registry_insert(ms_registry *r, const char *abs_path, const ms__archive_meta *meta, const ms__stat *id,
                        const char *api_json, int *is_default);
/* The number of registered versions of `name` into *n. Store errors. */
int ms__registry_count_versions(ms_registry *r, const char *name, int64_t *n);
/* No version of `name` is the default (the caller sets one next). */
int ms__registry_clear_default(ms_registry *r, const char *name);
/* After removing a default row of `name`, make its oldest remaining version
 * the default. */
int ms__registry_promote_default(ms_registry *r, const char *name);

#endif
