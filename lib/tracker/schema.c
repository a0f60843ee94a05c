/* Tables of the tracker (migration entry in lib/store/migrations.c).
 *
 * A session is one row in tracker_sessions and one row per scope in
 * tracker_members. Counting a (scope, class) set is a range scan of the
 * members' primary key, so an admission costs O(members of the scopes it
 * names), never O(all sessions). The lease expiry is copied into each member
 * row so that count can skip expired sessions without a join; expired rows are
 * purged through the partial expiry index, a few per write. */
extern const char ms__schema_tracker_v1[];
const char ms__schema_tracker_v1[] =
    /* Limits per (scope, class); no row = unlimited. */
    "CREATE TABLE tracker_limits ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  max_sessions INTEGER NOT NULL CHECK (max_sessions >= 0),"
    "  PRIMARY KEY (scope, cls)"
    ") WITHOUT ROWID;"
    /* Held sessions; expires_us NULL = no lease. */
    "CREATE TABLE tracker_sessions ("
    "  session TEXT NOT NULL PRIMARY KEY,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  admitted_us INTEGER NOT NULL,"
    "  expires_us INTEGER"
    ") WITHOUT ROWID;"
    "CREATE INDEX tracker_sessions_expiry ON tracker_sessions(expires_us) WHERE expires_us IS NOT NULL;"
    /* The sets: one row per (scope, class, session). */
    "CREATE TABLE tracker_members ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL,"
    "  session TEXT NOT NULL REFERENCES tracker_sessions(session) ON DELETE CASCADE,"
    "  expires_us INTEGER,"
    "  PRIMARY KEY (scope, cls, session)"
    ") WITHOUT ROWID;"
    "CREATE INDEX tracker_members_session ON tracker_members(session, scope);";
