/* Tables of the autoscaler (declared in schema.h; lib/schema/ orders the
 * migrations).
 *
 * What a tick writes decides the layout. A tick that changes 10 % of 100,000
 * endpoints writes, per changed endpoint, one state row and one history row,
 * all in one transaction; everything else is written only by configuration
 * calls.
 *
 * - autoscaler_endpoint: the name, written once. Ids use AUTOINCREMENT so a
 *   removed endpoint's id is never reused.
 * - autoscaler_state: what a tick changes about an endpoint, in a narrow row of
 *   its own so the pages a tick dirties are few: the desired count, the head
 *   (newest seq) and length of its history chain, and the cooldown stamps of
 *   its rules that were ever applied, packed into one blob (history_codec.c)
 *   so a change is one row update, not one per rule.
 * - autoscaler_rule: the rules. AUTOINCREMENT: history rows keep naming rules
 *   that were removed since, so an id is never reused. No foreign key and no
 *   index on endpoint_id: every page a commit writes costs about 5 us here,
 *   and adding a rule (one commit each) would write the index page as well;
 *   the engine deletes an endpoint's rules itself, by id, in the transaction
 *   that deletes the endpoint.
 * - autoscaler_history: an append-only log keyed by a global sequence number,
 *   so a tick inserts at the end of one b-tree whatever the histories hold
 *   (keyed by endpoint instead, each insert lands in the middle of a long
 *   history and dirties a page of its own). Each row names its endpoint, its
 *   ordinal among that endpoint's changes and the seq of the previous one: an
 *   endpoint's history is read by following that chain from the head. Rows
 *   past the last MS_AUTOSCALER_HISTORY_MAX of an endpoint are deleted by a
 *   bounded sweep (trim.c). No foreign key and no index on endpoint_id: either
 *   would cost every tick a lookup or a scattered index write; the engine
 *   deletes an endpoint's rows itself by walking its chain. */
#include "autoscaler/schema.h"

const char ms__schema_autoscaler_v1[] =
    "CREATE TABLE autoscaler_endpoint ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) > 0));"
    "CREATE TABLE autoscaler_state ("
    " endpoint_id INTEGER PRIMARY KEY REFERENCES autoscaler_endpoint(id) ON DELETE CASCADE,"
    " replicas INTEGER NOT NULL CHECK (replicas >= 0),"
    " history_head INTEGER NOT NULL DEFAULT 0,"
    " history_count INTEGER NOT NULL DEFAULT 0,"
    " cooldowns BLOB);"
    "CREATE TABLE autoscaler_rule ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " endpoint_id INTEGER NOT NULL,"
    " source TEXT NOT NULL, metric TEXT NOT NULL,"
    " aggregation INTEGER NOT NULL, comparator INTEGER NOT NULL, threshold REAL NOT NULL,"
    " step INTEGER NOT NULL, cooldown_us INTEGER NOT NULL,"
    " min_replicas INTEGER NOT NULL, max_replicas INTEGER NOT NULL,"
    " enabled INTEGER NOT NULL);"
    "CREATE TABLE autoscaler_history ("
    " seq INTEGER PRIMARY KEY,"
    " endpoint_id INTEGER NOT NULL,"
    " ordinal INTEGER NOT NULL,"
    " prev INTEGER NOT NULL,"
    " entry BLOB NOT NULL);";
