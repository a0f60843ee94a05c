/* The SQL of the model registry's tables (schema.c; lib/schema/ orders the
 * migrations). Version 1: registry_models. Version 2: registry_removed, the
 * archives unregistered through the API. */
#ifndef MS_REGISTRY_SCHEMA_H
#define MS_REGISTRY_SCHEMA_H
extern const char ms__schema_registry_v1[];
extern const char ms__schema_registry_v2[];
/* The same on PostgreSQL (store/pg/). */
extern const char ms__schema_registry_pg_v1[];
extern const char ms__schema_registry_pg_v2[];
#endif
