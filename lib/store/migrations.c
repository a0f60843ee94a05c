/* The list of schema migrations, oldest first. Each part owns the SQL of its
 * tables (lib/<part>/schema.c); this file only fixes their order. Released
 * entries are never edited: a change is a new entry at the end. */
#include "store_internal.h"

extern const char ms__schema_store_v1[];
extern const char ms__schema_tracker_v1[];
extern const char ms__schema_registry_v1[];
extern const char ms__schema_autoscaler_v1[];

const char ms__schema_store_v1[] =
    "CREATE TABLE ms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "INSERT INTO ms_meta(key, value) VALUES ('created_by', 'libmserve');";

static const ms_migration migrations[] = {
    {1, "store metadata", ms__schema_store_v1},
    {2, "concurrency tracker", ms__schema_tracker_v1},
    {3, "model registry", ms__schema_registry_v1},
    {4, "autoscaler", ms__schema_autoscaler_v1},
};

const ms_migration *ms__migrations(size_t *count) {
  *count = sizeof migrations / sizeof migrations[0];
  return migrations;
}
