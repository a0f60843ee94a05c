/* The store's own table: metadata that marks the database as libmserve's.
 * Its migration is the first of lib/schema/'s list; the store itself never
 * names a schema. */
#include "store/schema.h"

const char ms__store_schema_v1[] =
    "CREATE TABLE ms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "INSERT INTO ms_meta(key, value) VALUES ('created_by', 'libmserve');";

/* The same on PostgreSQL (store/pg/). */
const char ms__store_schema_pg_v1[] =
    "CREATE TABLE ms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO ms_meta(key, value) VALUES ('created_by', 'libmserve');";
