/* Tables of the autoscaler (migration entry in lib/store/migrations.c). */
extern const char ms__schema_autoscaler_v1[];
const char ms__schema_autoscaler_v1[] = "CREATE TABLE autoscaler_placeholder (id INTEGER PRIMARY KEY);";
