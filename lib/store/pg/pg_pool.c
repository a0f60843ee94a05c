/* The pool of a PostgreSQL store handle (store/pg/pg.h): connections lent to
 * the threads that read, beside the main connection that the write lock
 * guards.
 *
 * Why: on SQLite a read costs microseconds under the handle's lock; on
 * PostgreSQL every statement is a round trip, so readers queued on the one
 * connection would wait for each other's round trips and for group-commit
 * batches. A borrowed connection runs a thread's reads at the same time as
 * other threads' reads and writes. Writes stay on the main connection: group
 * commit's point is one round trip and one commit for many writers, which
 * spreading them over connections would lose.
 *
 * Each member keeps its own prepared statements (a statement is prepared per
 * connection) and is connected again when it is found lost. The bound counts
 * the main connection: pool_max=1 lends none and reads take the write lock
 * as before. The calling thread's connection is kept in a thread-local
 * table, so the layers above pass only the store handle. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg.h"
#include "store/stmt.h"

typedef struct ms__pg_pool {
  pthread_mutex_t mu;
  pthread_cond_t back; /* a member was given back */
  int max;             /* connections in all, the main one included */
  int made;            /* members made so far (never more than max - 1) */
  ms__pg_conn **all;   /* the members made, to close them */
  ms__pg_conn *idle;   /* members not lent out */
} ms__pg_pool;

/* The connections this thread borrowed, by store: a few, since a thread may
 * read two stores at once (two handles, nested calls). */
enum { MS__PG_LENT_MAX = 4 };
static _Thread_local struct {
  const ms_store *s;
  ms__pg_conn *c;
} lent[MS__PG_LENT_MAX];

ms__pg_conn *ms__pg_cur(const ms_store *s) {
  for (int i = 0; i < MS__PG_LENT_MAX; i++)
    if (lent[i].s == s) return lent[i].c;
  return s->pg;
}

int ms__pg_borrowed(const ms_store *s) { return s->pg && ms__pg_cur(s) != s->pg; }

int ms__pg_pool_lends(const ms_store *s) { return s->pg && s->pg->pool && s->pg->pool->max > 1; }

int ms__pg_pool_new(ms_store *s, int max) {
  ms__pg_pool *p = calloc(1, sizeof *p);
  if (p && max > 1) p->all = calloc((size_t)(max - 1), sizeof *p->all);
  if (!p || (max > 1 && !p->all)) {
    free(p);
    return ms__fail(MS_ENOMEM, "store '%s': out of memory", s->path);
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->back, NULL);
  p->max = max;
  s->pg->pool = p;
  return MS_OK;
}

static int set_lent(const ms_store *s, ms__pg_conn *c) {
  for (int i = 0; i < MS__PG_LENT_MAX; i++)
    if (!lent[i].s) {
      lent[i].s = s;
      lent[i].c = c;
      return 1;
    }
  return 0;
}

static void clear_lent(const ms_store *s) {
  for (int i = 0; i < MS__PG_LENT_MAX; i++)
    if (lent[i].s == s) lent[i].s = NULL, lent[i].c = NULL;
}

static void put_idle(ms__pg_pool *p, ms__pg_conn *c) {
  pthread_mutex_lock(&p->mu);
  c->next_idle = p->idle;
  p->idle = c;
  pthread_cond_signal(&p->back);
  pthread_mutex_unlock(&p->mu);
}

int ms__pg_borrow(ms_store *s) {
  ms__pg_pool *p = s->pg->pool;
  ms__pg_conn *c = NULL;
  pthread_mutex_lock(&p->mu);
  while (!p->idle && p->made >= p->max - 1) pthread_cond_wait(&p->back, &p->mu);
  if (p->idle) {
    c = p->idle;
    p->idle = c->next_idle;
  } else {
    c = calloc(1, sizeof *c);
    if (c) p->all[p->made++] = c; /* counted now, connected below outside the mutex */
  }
  pthread_mutex_unlock(&p->mu);
  if (!c) return ms__fail(MS_ENOMEM, "store '%s': out of memory", s->path);
  if (!set_lent(s, c)) {
    put_idle(p, c);
    return ms__fail(MS_EBUSY, "store '%s': this thread reads too many stores at once", s->path);
  }
  /* new, or lost since it was last lent: connected (again) now */
  int st = c->conn && PQstatus(c->conn) == CONNECTION_OK ? MS_OK : ms__pg_connect(s);
  if (st) {
    clear_lent(s);
    put_idle(p, c);
  }
  return st;
}

void ms__pg_give_back(ms_store *s) {
  ms__pg_conn *c = ms__pg_cur(s);
  if (c == s->pg) return;
  clear_lent(s);
  put_idle(s->pg->pool, c);
}

int ms__pg_pool_open_count(ms_store *s) {
  ms__pg_pool *p = s->pg ? s->pg->pool : NULL;
  if (!p) return 0;
  pthread_mutex_lock(&p->mu);
  int n = 0;
  for (int i = 0; i < p->made; i++) n += p->all[i]->conn != NULL;
  pthread_mutex_unlock(&p->mu);
  return n;
}

void ms__pg_pool_free(ms_store *s) {
  ms__pg_pool *p = s->pg->pool;
  if (!p) return;
  for (int i = 0; i < p->made; i++) {
    ms__pg_conn *c = p->all[i];
    ms__store_stmt_free_table(c->stmts, c->cap_stmts);
    free(c->stmts);
    if (c->conn) PQfinish(c->conn);
    free(c);
  }
  pthread_cond_destroy(&p->back);
  pthread_mutex_destroy(&p->mu);
  free(p->all);
  free(p);
  s->pg->pool = NULL;
}
