/* The list of schema migrations, oldest first, and the public calls that
 * depend on it. Each part owns the SQL of its tables (lib/<part>/schema.c,
 * declared in lib/<part>/schema.h); this file only fixes their order.
 * Released entries are never edited: a change is a new entry at the end. */
#include "schema/schema.h"

#include "autoscaler/schema.h"
#include "registry/schema.h"
#include "store/schema.h"
#include "tracker/schema.h"

/* Each entry: version, name, SQLite's SQL, PostgreSQL's (NULL: the step
 * changes nothing there; lib/tracker/schema.c says why). */
static const ms_migration migrations[] = {
    {1, "store metadata", ms__store_schema_v1, ms__store_schema_pg_v1},
    {2, "concurrency tracker", ms__schema_tracker_v1, ms__schema_tracker_pg_v1},
    {3, "model registry", ms__schema_registry_v1, ms__schema_registry_pg_v1},
    {4, "autoscaler", ms__schema_autoscaler_v1, ms__schema_autoscaler_pg_v1},
    {5, "concurrency tracker: counted sets", ms__schema_tracker_v2, NULL},
    {6, "model registry: archives unregistered through the API", ms__schema_registry_v2, ms__schema_registry_pg_v2},
    {7, "concurrency tracker: a pair's count after its members", ms__schema_tracker_v3, NULL},
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

const ms_migration *ms__schema_migrations(size_t *count) {
  *count = N_MIGRATIONS;
  return migrations;
}

int ms__schema_open_at(const char *path, unsigned flags, int64_t version, ms_store **out) {
  return ms__store_open(path, flags, migrations, N_MIGRATIONS, version, out);
}

int ms_store_open(const char *path, unsigned flags, ms_store **out) {
  return ms__store_open(path, flags, migrations, N_MIGRATIONS, -1, out);
}

int64_t ms_store_latest_schema(void) { return migrations[N_MIGRATIONS - 1].version; }
