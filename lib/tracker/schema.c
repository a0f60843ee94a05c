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
 * whatever a scope holds. tracker_members is keyed (scope, class, lease end,
 * session): a pair's members are one range of the key, its expired members
 * the front of that range, and in front of them the pair's own row
 * (lease end -1, session ''), which counts the members (`n`, expired ones
 * included until purged) and mirrors the pair's limit (`max_sessions`, as in
 * tracker_limits, which stays the limits' own table). The count is changed
 * in the same transaction as the rows it counts, and it sits beside them in
 * the same B-tree, usually on the same page, so a commit writes few pages. A
 * session's own row lists its scopes, so a retry, a release or a renewal
 * finds its memberships by key. The lease end 0 means no lease (NULL cannot
 * be part of a WITHOUT ROWID key), so "expires_us > 0 AND expires_us <= now"
 * is the expired range, and the partial index orders only the sessions with
 * a lease: the earliest lease end, and the sessions due to be purged.
 *
 * Existing rows are converted: a session's scopes and its (shared) class and
 * lease come from its membership rows, every pair's count is computed from
 * them, and its limit copied. A session's list of scopes is a blob of its
 * names, each followed by a NUL byte; the reader sorts it, so the order
 * group_concat gives is enough. */
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
    "  expires_us INTEGER NOT NULL CHECK (expires_us >= -1),"
    "  session TEXT NOT NULL,"
    "  n INTEGER CHECK (n >= 0),"                     /* the pair's row: its member count */
    "  max_sessions INTEGER CHECK (max_sessions >= 0)," /* the pair's row: its limit (NULL: none) */
    "  PRIMARY KEY (scope, cls, expires_us, session)"
    ") WITHOUT ROWID;"
    "INSERT INTO tracker_members_v5(scope, cls, expires_us, session) "
    "  SELECT m.scope, s.cls, s.expires_us, m.session FROM tracker_members m JOIN tracker_sessions s USING (session);"
    "INSERT INTO tracker_members_v5(scope, cls, expires_us, session, n) "
    "  SELECT scope, cls, -1, '', count(*) FROM tracker_members GROUP BY scope, cls;"
    "INSERT INTO tracker_members_v5(scope, cls, expires_us, session, n, max_sessions) "
    "  SELECT scope, cls, -1, '', 0, max_sessions FROM tracker_limits WHERE true "
    "  ON CONFLICT(scope, cls, expires_us, session) DO UPDATE SET max_sessions = excluded.max_sessions;"
    "DROP TABLE tracker_members;"
    "ALTER TABLE tracker_members_v5 RENAME TO tracker_members;";

/* Schema version 7: a pair's own row moves from in front of its members
 * (lease end -1) to after them (lease end INT64_MAX, rows.h). Admissions add
 * the members with the latest lease ends, so the count they change sits on
 * the page they write the member to, however many members the pair holds
 * (in front, past a few hundred members, every admission and release wrote
 * one page more). */
const char ms__schema_tracker_v3[] =
    "UPDATE tracker_members SET expires_us = 9223372036854775807 WHERE expires_us = -1 AND session = '';";

/* PostgreSQL (store/pg/): no database of this backend predates it, so its
 * first tracker migration (version 2) creates the tables at the shape of
 * version 7 directly, and versions 5 and 7 change nothing there. Integers
 * are 64-bit (BIGINT), a session's scopes BYTEA; the keys are SQLite's. */
const char ms__schema_tracker_pg_v1[] =
    "CREATE TABLE tracker_limits ("
    "  scope TEXT NOT NULL,"
    "  cls BIGINT NOT NULL CHECK (cls IN (0, 1)),"
    "  max_sessions BIGINT NOT NULL CHECK (max_sessions >= 0),"
    "  PRIMARY KEY (scope, cls));"
    "CREATE TABLE tracker_sessions ("
    "  session TEXT NOT NULL PRIMARY KEY,"
    "  cls BIGINT NOT NULL CHECK (cls IN (0, 1)),"
    "  expires_us BIGINT NOT NULL CHECK (expires_us >= 0),"
    "  scopes BYTEA NOT NULL);"
    "CREATE INDEX tracker_sessions_expiry ON tracker_sessions(expires_us) WHERE expires_us > 0;"
    "CREATE TABLE tracker_members ("
    "  scope TEXT NOT NULL,"
    "  cls BIGINT NOT NULL CHECK (cls IN (0, 1)),"
    "  expires_us BIGINT NOT NULL CHECK (expires_us >= -1),"
    "  session TEXT NOT NULL,"
    "  n BIGINT CHECK (n >= 0),"
    "  max_sessions BIGINT CHECK (max_sessions >= 0),"
    "  PRIMARY KEY (scope, cls, expires_us, session));";
