/* The SQL of the model registry's tables, version 1 (lib/schema/ orders the migrations). */
#ifndef MS_REGISTRY_SCHEMA_H
#define MS_REGISTRY_SCHEMA_H
extern const char ms__schema_registry_v1[];
#endif
