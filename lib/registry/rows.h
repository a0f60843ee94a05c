/* Internal: the registry's rows in the store — tables registry_models and
 * registry_removed (schema.c) — as the registry's calls write them
 * (rows.c). Every function runs inside a write the caller holds (an
 * ms__store_write callback or a long transaction).
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

/* Record that the registrations of name/version (version NULL: every
 * version) are being removed through the API: a scan skips their files
 * until their content changes. Call before deleting the rows. */
int ms__registry_mark_removed(ms_registry *r, const char *name, const char *version);
/* Forget the mark of abs_path (registered again, or its content changed). */
int ms__registry_clear_mark(ms_registry *r, const char *abs_path);
/* The marked file is still the removed content under a new stat identity:
 * record the identity, so the next scan skips it without reading it. */
int ms__registry_touch_mark(ms_registry *r, const char *abs_path, const ms__stat *id);

#endif
