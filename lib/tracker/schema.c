/* Tables of the tracker (migration entries in the store's migration list).
 *
 * Version 2 (the first): kept as released; version 5 below replaces it.
 *
 * One table holds the sets: a row per (scope, class, session), the session's
 * lease expiry copied into each of its rows. Its primary key makes counting a
 * (scope, class) set a range scan, so an admission costs O(members of the
 * scopes it names), never O(all sessions); the session index serves the
 * retry check and release; the partial expiry index finds expired rows to
 * purge. A commit writes every B-tree page it touches to the WAL, so the hot
 * path is kept to two B-trees (three with a lease). */
#include "tracker/schema.h"

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

/* Counted sets (schema version 5). Admission and counting cost O(log n)
 * whatever a scope holds: a pair's count is a column of its row, kept in the
 * same transaction as the rows it counts, and its expired members are the
 * front of its key range, (scope, class, lease end, session). A session's
 * own row lists its scopes, so a retry, a release or a renewal finds its
 * memberships by key. The lease end 0 means no lease (NULL cannot be part of
 * a WITHOUT ROWID key), so "expires_us > 0 AND expires_us <= now" is the
 * expired range, and the partial index orders only the sessions with a
 * lease: the earliest lease end, and the sessions due to be purged.
 *
 * Existing rows are converted: a session's scopes and its (shared) class and
 * lease come from its membership rows, and every pair's count is computed
 * from them. A session's list of scopes is a blob of its names, each followed
 * by a NUL byte; the reader sorts it, so the order group_concat gives is
 * enough. */
const char ms__schema_tracker_v2[] =
    "CREATE TABLE tracker_sessions ("
    "  session TEXT NOT NULL PRIMARY KEY,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  expires_us INTEGER NOT NULL CHECK (expires_us >= 0),"
    "  scopes BLOB NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX tracker_sessions_expiry ON tracker_sessions(expires_us) WHERE expires_us > 0;"
    "INSERT INTO tracker_sessions(session, cls, expires_us, scopes) "
    "  SELECT session, min(cls), coalesce(max(expires_us), 0), "
    "         CAST(group_concat(CAST(scope AS BLOB) || x'00', '') AS BLOB) "
    "  FROM tracker_members GROUP BY session;"
    "CREATE TABLE tracker_members_v5 ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  expires_us INTEGER NOT NULL,"
    "  session TEXT NOT NULL,"
    "  PRIMARY KEY (scope, cls, expires_us, session)"
    ") WITHOUT ROWID;"
    "INSERT INTO tracker_members_v5(scope, cls, expires_us, session) "
    "  SELECT m.scope, s.cls, s.expires_us, m.session FROM tracker_members m JOIN tracker_sessions s USING (session);"
    "DROP TABLE tracker_members;"
    "ALTER TABLE tracker_members_v5 RENAME TO tracker_members;"
    /* Limits and counts per (scope, class): a row for a pair with a limit
     * (NULL: none) or with members. */
    "CREATE TABLE tracker_limits_v5 ("
    "  scope TEXT NOT NULL,"
    "  cls INTEGER NOT NULL CHECK (cls IN (0, 1)),"
    "  max_sessions INTEGER CHECK (max_sessions >= 0),"
    "  members INTEGER NOT NULL DEFAULT 0 CHECK (members >= 0),"
    "  PRIMARY KEY (scope, cls)"
    ") WITHOUT ROWID;"
    "INSERT INTO tracker_limits_v5(scope, cls, max_sessions) SELECT scope, cls, max_sessions FROM tracker_limits;"
    "INSERT INTO tracker_limits_v5(scope, cls, members) "
    "  SELECT scope, cls, count(*) FROM tracker_members WHERE true GROUP BY scope, cls "
    "  ON CONFLICT(scope, cls) DO UPDATE SET members = excluded.members;"
    "DROP TABLE tracker_limits;"
    "ALTER TABLE tracker_limits_v5 RENAME TO tracker_limits;";
