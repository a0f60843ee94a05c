/* The SQL of the store's metadata table, version 1 (lib/schema/ orders the migrations). */
#ifndef MS_STORE_SCHEMA_H
#define MS_STORE_SCHEMA_H
extern const char ms__store_schema_v1[];
extern const char ms__store_schema_pg_v1[]; /* the same on PostgreSQL */
#endif
