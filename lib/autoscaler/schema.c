/* Tables of the autoscaler (migration entry in lib/store/migrations.c).
 *
 * Ids use AUTOINCREMENT so a removed rule's id is never reused: history rows
 * keep naming rules that were removed since. The history is keyed
 * (endpoint_id, seq) WITHOUT ROWID so trimming an endpoint's oldest entries
 * is one range delete on the primary key, and a tick, which visits endpoints
 * in id order, inserts in key order. Each history row stores its rules'
 * outcomes as one compact little-endian blob (see history_codec.c) instead of a
 * child table, so a tick writes one row per changed endpoint. */
extern const char ms__schema_autoscaler_v1[];
const char ms__schema_autoscaler_v1[] =
    "CREATE TABLE autoscaler_endpoint ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) > 0),"
    " replicas INTEGER NOT NULL CHECK (replicas >= 0),"
    " history_seq INTEGER NOT NULL DEFAULT 0);" /* seq of the newest history row */
    "CREATE TABLE autoscaler_rule ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " endpoint_id INTEGER NOT NULL REFERENCES autoscaler_endpoint(id) ON DELETE CASCADE,"
    " source TEXT NOT NULL, metric TEXT NOT NULL,"
    " aggregation INTEGER NOT NULL, comparator INTEGER NOT NULL, threshold REAL NOT NULL,"
    " step INTEGER NOT NULL, cooldown_us INTEGER NOT NULL,"
    " min_replicas INTEGER NOT NULL, max_replicas INTEGER NOT NULL,"
    " enabled INTEGER NOT NULL);"
    /* Cooldown stamps live in their own narrow table, one row per rule that
     * was ever applied: a tick rewrites ~10 % of them, and narrow rows keep
     * the pages it dirties few. No foreign key, so a tick's upsert does not
     * look up the wide rule row; the engine deletes stamps with their rule. */
    "CREATE TABLE autoscaler_cooldown ("
    " rule_id INTEGER PRIMARY KEY,"
    " last_applied_us INTEGER NOT NULL);"
    "CREATE INDEX autoscaler_rule_by_endpoint ON autoscaler_rule(endpoint_id);"
    "CREATE TABLE autoscaler_history ("
    " endpoint_id INTEGER NOT NULL REFERENCES autoscaler_endpoint(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " at_us INTEGER NOT NULL, from_replicas INTEGER NOT NULL, to_replicas INTEGER NOT NULL,"
    " applied_rule_id INTEGER NOT NULL,"
    " rules BLOB NOT NULL,"
    " PRIMARY KEY (endpoint_id, seq)) WITHOUT ROWID;";
