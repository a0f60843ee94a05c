/* Tables of the registry (ordered among the migrations by lib/schema/).
 *
 * registry_models: one row per registered (name, version).
 *  - folder: the archive's parent folder, so a scan finds the rows it owns
 *    (and marks vanished ones) with one indexed query.
 *  - size/mtime_ns/ino/dev: the stat identity; an archive whose identity is
 *    unchanged is skipped by the scan without being opened.
 *  - archive_settings / overrides: JSON objects of canonical keys (see
 *    lib/registry/settings.c); overrides hold the runtime (API) level.
 *  - exactly one default row per name (partial unique index). */
#include "registry/schema.h"

const char ms__schema_registry_v1[] =
    "CREATE TABLE registry_models ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
    "  archive_path TEXT NOT NULL UNIQUE,"
    "  folder TEXT NOT NULL,"
    "  format INTEGER NOT NULL,"
    "  runtime TEXT NOT NULL,"
    "  handler TEXT NOT NULL,"
    "  content_hash TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  ino INTEGER NOT NULL,"
    "  dev INTEGER NOT NULL,"
    "  missing INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),"
    "  archive_settings TEXT NOT NULL,"
    "  overrides TEXT NOT NULL DEFAULT '{}',"
    "  UNIQUE (name, version)"
    ");"
    "CREATE UNIQUE INDEX registry_models_default ON registry_models(name) WHERE is_default = 1;"
    "CREATE INDEX registry_models_folder ON registry_models(folder);";

/* registry_removed: one row per archive unregistered through the API
 * (ms_registry_unregister) whose file a scan would otherwise register
 * again. The scan skips a file with a mark while its content is the one
 * recorded here (stat identity first, then content hash); a changed
 * archive, or ms_registry_register of the path, deletes the mark. Existing
 * registrations need no conversion: nothing was unregistered with a mark
 * before this version. */
const char ms__schema_registry_v2[] =
    "CREATE TABLE registry_removed ("
    "  archive_path TEXT PRIMARY KEY,"
    "  folder TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  content_hash TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  ino INTEGER NOT NULL,"
    "  dev INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX registry_removed_folder ON registry_removed(folder);";
