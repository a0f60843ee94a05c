/* A throwaway PostgreSQL server for tests: initdb and pg_ctl of Debian's
 * postgresql package, a cluster in a scratch folder, listening on a free
 * loopback port (run as the postgres user when the tests run as root), and
 * stopped and removed afterwards. None of the helpers asserts. */
#ifndef MS_PG_CLUSTER_H
#define MS_PG_CLUSTER_H

#include <stddef.h>

typedef struct ms_test_pg ms_test_pg;

/* Set before ms_test_pg_start for a server that syncs its commits (the
 * benchmarks); tests run it with fsync off. */
extern int ms_test_pg_durable;

/* Start a cluster. NULL when it cannot: why says so ("PostgreSQL is not
 * installed: no initdb in ..." when the tests should skip). */
ms_test_pg *ms_test_pg_start(char *why, size_t cap);
/* The URI of the server's "postgres" database. */
const char *ms_test_pg_uri(const ms_test_pg *c);
/* A new, empty database on the server; its URI (malloc'd), NULL on failure. */
char *ms_test_pg_new_db(ms_test_pg *c, const char *tag);
/* pg_ctl restart -m fast (connections are cut; the data stays). 0 on success. */
int ms_test_pg_restart(ms_test_pg *c);
/* Stop the server and remove its folder. */
void ms_test_pg_stop(ms_test_pg *c);

/* The process's one cluster for parameterised suites: started at the first
 * call, stopped at exit. NULL (why set) as ms_test_pg_start. */
ms_test_pg *ms_test_pg_shared(char *why, size_t cap);

/* The backend the parameterised suites run on: "postgresql" when the
 * environment's MSERVE_TEST_STORE says so, else "sqlite". */
int ms_test_backend_is_pg(void);
/* A store path for a suite's fixture: `file` in `dir` on SQLite; a fresh
 * database of the shared cluster on PostgreSQL. malloc'd; NULL on failure
 * (then ms_test_store_skip_reason says why). */
char *ms_test_store_path(const char *dir, const char *file);
const char *ms_test_store_skip_reason(void);
/* For a parameterised suite's main: on PostgreSQL, start the shared cluster;
 * when it cannot, print "<suite>: skipped: <why>" and return 77 (ctest's
 * skip), else 0. */
int ms_test_backend_start(const char *suite);

/* Inside a cmocka test: skip it on PostgreSQL (it looks at SQLite's files,
 * pragmas or locks, which have no PostgreSQL counterpart). */
#define MS_TEST_SQLITE_ONLY()                 \
  do {                                        \
    if (ms_test_backend_is_pg()) skip();      \
  } while (0)

#endif
