/* Helpers for the store's white-box tests: a scratch database, one-row
 * writes and counts through the store's own entry points, and children that
 * hold the store until killed. None of them asserts: each returns what it
 * found (or -1), so cmocka suites and plain programs can use them alike. */
#ifndef MS_STORE_FIXTURE_H
#define MS_STORE_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "mserve.h"

/* A fresh folder and a database path in it (the file is not created). */
typedef struct ms_test_db {
  char *dir;
  char *db;
} ms_test_db;

/* cmocka setup / teardown: *state becomes an ms_test_db; teardown makes the
 * folder writable again and removes it with everything in it. */
int ms_test_db_setup(void **state);
int ms_test_db_teardown(void **state);

/* Open (creating and migrating) `db` and close it again; an ms_status. */
int ms_test_make_store(const char *db);

/* One committed row key -> 'v' in ms_meta through ms__store_write (group
 * commit, the path of every one-shot write); an ms_status. */
int ms_test_put(ms_store *s, const char *key);
/* Rows of ms_meta whose key is LIKE `like` (read through the store's read
 * entry for reads apart from the writers: on PostgreSQL a pooled
 * connection); -1 on failure. */
int64_t ms_test_count_keys(ms_store *s, const char *like);
/* The first column of the first row of `sql`, run on s's connection as it
 * is (no lock: for a store no other thread uses); -1 without a row. */
int64_t ms_test_sql_int(ms_store *s, const char *sql);

/* Run literal SQL (several statements allowed) on s's connection as it is,
 * either backend; 0 on success. */
int ms_test_sql_exec(ms_store *s, const char *sql);
/* A number that grows whenever anything is written to s's database: SQLite's
 * total changes of the connection; on PostgreSQL the server's WAL position
 * (one server per test program, nothing else writing). */
int64_t ms_test_write_mark(ms_store *s);

/* Take the database's write lock from another connection (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: every table of the schema locked EXCLUSIVE, reads
 * still allowed), so the store's writes wait and fail with MS_EBUSY; NULL on
 * failure. Release it with ms_test_release_write_lock. */
void *ms_test_hold_write_lock(const char *path);
void ms_test_release_write_lock(void *held);

/* Fork a child that runs child(arg, ready_fd): it writes one byte to
 * ready_fd once it is where the test wants it, then stays there (or exits
 * with its status). Returns the child's pid once the byte arrived, or -1
 * (then the child has already been reaped) if it exited first. */
pid_t ms_test_fork_ready(int (*child)(void *arg, int ready_fd), void *arg);
/* SIGKILL the child and reap it; 1 when it died of the signal. */
int ms_test_kill(pid_t kid);

/* For such a child: open `db` (a const char *), and hold its writer queue
 * and SQLite's write lock inside a one-shot write that never returns, as a
 * writer killed in the middle of its transaction would. */
int ms_test_child_hold_write(void *db, int ready_fd);

#endif
