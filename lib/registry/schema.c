/* Tables of the registry (migration entry in lib/store/migrations.c). */
extern const char ms__schema_registry_v1[];
const char ms__schema_registry_v1[] = "CREATE TABLE registry_placeholder (id INTEGER PRIMARY KEY);";
