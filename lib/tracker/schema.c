/* Tables of the tracker (migration entry in lib/store/migrations.c). */
extern const char ms__schema_tracker_v1[];
const char ms__schema_tracker_v1[] = "CREATE TABLE tracker_placeholder (id INTEGER PRIMARY KEY);";
