/* The SQL of the autoscaler's tables, version 1 (lib/schema/ orders the migrations). */
#ifndef MS_AUTOSCALER_SCHEMA_H
#define MS_AUTOSCALER_SCHEMA_H
extern const char ms__schema_autoscaler_v1[];
extern const char ms__schema_autoscaler_pg_v1[]; /* the same on PostgreSQL (store/pg/) */
#endif
