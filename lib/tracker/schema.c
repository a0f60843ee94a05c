/* Tables of the tracker (migration entry in lib/store/migrations.c).
 *
 * One table holds the sets: a row per (scope, class, session), the session's
 * lease expiry copied into each of its rows. Its primary key makes counting a
 * (scope, class) set a range scan, so an admission costs O(members of the
 * scopes it names), never O(all sessions); the session index serves the
 * retry check and release; the partial expiry index finds expired rows to
 * purge. A commit writes every B-tree page it touches to the WAL, so the hot
 * path is kept to two B-trees (three with a lease). */
extern const char ms__schema_tracker_v1[];
const char ms__schema_tracker_v1[] =
    /* Limits per (scope, class); no row = unlimited. */
    "CREATE TABLE tracker_limits ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  max_sessions INTEGER NOT NULL CHECK (max_sessions >= 0),"
    "  PRIMARY KEY (scope, cls)"
    ") WITHOUT ROWID;"
    /* The sets. Every row of one session has the same cls and expires_us
     * (NULL = no lease). */
    "CREATE TABLE tracker_members ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  session TEXT NOT NULL,"
    "  expires_us INTEGER,"
    "  PRIMARY KEY (scope, cls, session)"
    ") WITHOUT ROWID;"
    "CREATE INDEX tracker_members_session ON tracker_members(session, scope, expires_us);"
    "CREATE INDEX tracker_members_expiry ON tracker_members(expires_us) WHERE expires_us IS NOT NULL;";
