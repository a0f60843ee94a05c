/* The SQL of the concurrency tracker's tables (lib/schema/ orders the migrations):
 * v1 the first sets, v2 the counted sets, v3 the pairs' rows after their members (lib/tracker/schema.c says what
 * each holds). */
#ifndef MS_TRACKER_SCHEMA_H
#define MS_TRACKER_SCHEMA_H
extern const char ms__schema_tracker_v1[];
extern const char ms__schema_tracker_v2[];
extern const char ms__schema_tracker_v3[];
extern const char ms__schema_tracker_pg_v1[]; /* PostgreSQL: the tables at version 7's shape */
#endif
