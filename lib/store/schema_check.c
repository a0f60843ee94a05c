/* Recognising a damaged database: the schema it must hold, and what is
 * missing from it.
 *
 * The reference is what the migrations themselves build: they are run once
 * into a private in-memory database and its tables, indexes, triggers, views
 * and table columns are listed. A store is checked against that list when it
 * is opened, and an SQLite "no such table / column" error met later is told
 * apart from a bug in libmserve's own SQL by looking the name up in it: a
 * name the schema has is damage (MS_ECORRUPT), any other name is a bug
 * (MS_EINTERNAL). Objects and columns a database has beyond the list are
 * left alone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/text.h"
#include "store/conn.h"

typedef struct schema_item {
  char *type;  /* "table", "index", "trigger", "view"; NULL for a column */
  char *table; /* the table of a column */
  char *name;
} schema_item;

typedef struct schema_model {
  schema_item *items;
  size_t n, cap;
} schema_model;

static void model_free(schema_model *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->items[i].type);
    free(m->items[i].table);
    free(m->items[i].name);
  }
  free(m->items);
  m->items = NULL;
  m->n = m->cap = 0;
}

static int model_add(schema_model *m, const char *type, const char *table, const char *name) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    schema_item *t = realloc(m->items, cap * sizeof *t);
    if (!t) return MS_ENOMEM;
    m->items = t;
    m->cap = cap;
  }
  schema_item *it = &m->items[m->n];
  it->type = type ? ms__strdup(type) : NULL;
  it->table = table ? ms__strdup(table) : NULL;
  it->name = ms__strdup(name);
  if ((type && !it->type) || (table && !it->table) || !it->name) {
    free(it->type);
    free(it->table);
    free(it->name);
    return MS_ENOMEM;
  }
  m->n++;
  return MS_OK;
}

/* libmserve's objects, without SQLite's own (sqlite_sequence, autoindexes). */
static const char SQL_OBJECTS[] =
    "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
static const char SQL_COLUMNS[] =
    "SELECT m.name, c.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS c "
    "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name, c.cid";

/* List what `db` holds into m; an SQLite result code. */
static int model_read(sqlite3 *db, schema_model *m) {
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2(db, SQL_OBJECTS, -1, &q, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *type = (const char *)sqlite3_column_text(q, 0), *name = (const char *)sqlite3_column_text(q, 1);
    if (type && name && model_add(m, type, NULL, name)) rc = SQLITE_NOMEM;
    else rc = SQLITE_OK;
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE) return rc == SQLITE_OK ? SQLITE_ERROR : rc;
  q = NULL;
  rc = sqlite3_prepare_v2(db, SQL_COLUMNS, -1, &q, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *table = (const char *)sqlite3_column_text(q, 0), *name = (const char *)sqlite3_column_text(q, 1);
    if (table && name && model_add(m, NULL, table, name)) rc = SQLITE_NOMEM;
    else rc = SQLITE_OK;
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? SQLITE_OK : rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

/* The schema the migrations of `mig` build up to `version`. */
static int model_build(const ms_migration *mig, size_t n, int64_t version, schema_model *m) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
    if (mig[i].version <= version) rc = sqlite3_exec(db, mig[i].sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = model_read(db, m);
  sqlite3_close_v2(db);
  if (rc != SQLITE_OK) {
    model_free(m);
    return (rc & 0xff) == SQLITE_NOMEM ? MS_ENOMEM : MS_EINTERNAL;
  }
  return MS_OK;
}

int64_t ms__store_latest(const ms_store *s) {
  return s->n_migrations ? s->migrations[s->n_migrations - 1].version : 0;
}

/* The schema at the latest version of each migration list a store was opened
 * with (in practice the library's one, and a test's), built once per process
 * and kept: every store checks against it and names damage with it. */
typedef struct latest_model {
  const ms_migration *list;
  size_t n;
  int status;
  schema_model model;
} latest_model;

static pthread_mutex_t latest_mu = PTHREAD_MUTEX_INITIALIZER;
static latest_model *latest_models[8];

static const schema_model *latest(const ms_store *s, int *status) {
  latest_model *hit = NULL;
  pthread_mutex_lock(&latest_mu);
  size_t i = 0;
  for (; i < sizeof latest_models / sizeof latest_models[0] && latest_models[i]; i++)
    if (latest_models[i]->list == s->migrations && latest_models[i]->n == s->n_migrations) hit = latest_models[i];
  if (!hit && i < sizeof latest_models / sizeof latest_models[0] && (hit = calloc(1, sizeof *hit))) {
    hit->list = s->migrations;
    hit->n = s->n_migrations;
    hit->status = model_build(s->migrations, s->n_migrations, ms__store_latest(s), &hit->model);
    latest_models[i] = hit; /* kept for the life of the process, as the reference it is */
  }
  pthread_mutex_unlock(&latest_mu);
  *status = hit ? hit->status : MS_ENOMEM;
  return hit && !hit->status ? &hit->model : NULL;
}

static const schema_item *find(const schema_model *m, const char *type, const char *table, const char *name) {
  for (size_t i = 0; i < m->n; i++) {
    const schema_item *it = &m->items[i];
    if (strcmp(it->name, name) != 0) continue;
    if (type ? (it->type && strcmp(it->type, type) == 0)
             : (!it->type && (!table || strcmp(it->table, table) == 0)))
      return it;
  }
  return NULL;
}

static const schema_item *find_object(const schema_model *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (m->items[i].type && strcmp(m->items[i].name, name) == 0) return &m->items[i];
  return NULL;
}

/* Files this process found whole, by identity and schema cookie (which
 * SQLite bumps on every schema change, by any process): opening one again
 * unchanged skips the check, which costs a few hundred microseconds. */
typedef struct checked_file {
  uint64_t dev, ino;
  int64_t cookie, version;
} checked_file;

static pthread_mutex_t checked_mu = PTHREAD_MUTEX_INITIALIZER;
static checked_file checked[8];
static size_t checked_next;

/* The identity of s's file and its schema cookie; 0 when it has none. */
static int identify(ms_store *s, int64_t version, checked_file *id) {
  const char *file = sqlite3_db_filename(s->db, "main");
  struct stat st;
  if (!file || !*file || stat(file, &st) != 0) return 0;
  sqlite3_stmt *q = NULL;
  int ok = sqlite3_prepare_v2(s->db, "PRAGMA schema_version", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW;
  id->cookie = ok ? sqlite3_column_int64(q, 0) : 0;
  sqlite3_finalize(q);
  id->dev = (uint64_t)st.st_dev;
  id->ino = (uint64_t)st.st_ino;
  id->version = version;
  return ok;
}

static int was_checked(const checked_file *id) {
  int hit = 0;
  pthread_mutex_lock(&checked_mu);
  for (size_t i = 0; i < sizeof checked / sizeof checked[0] && !hit; i++)
    hit = checked[i].ino == id->ino && checked[i].dev == id->dev && checked[i].cookie == id->cookie &&
          checked[i].version == id->version && id->ino;
  pthread_mutex_unlock(&checked_mu);
  return hit;
}

static void remember_checked(const checked_file *id) {
  pthread_mutex_lock(&checked_mu);
  checked[checked_next++ % (sizeof checked / sizeof checked[0])] = *id;
  pthread_mutex_unlock(&checked_mu);
}

int ms__store_verify_schema(ms_store *s, int64_t version) {
  checked_file id;
  int known = identify(s, version, &id);
  if (known && was_checked(&id)) return MS_OK;
  schema_model own = {0}, have = {0};
  int st = MS_OK, is_latest = version == ms__store_latest(s);
  const schema_model *want = is_latest ? latest(s, &st) : NULL;
  if (!want) {
    if (is_latest) return ms__fail(st, "store '%s': cannot build the reference schema", s->path);
    if ((st = model_build(s->migrations, s->n_migrations, version, &own)))
      return ms__fail(st, "store '%s': cannot build the reference schema of version %lld", s->path, (long long)version);
    want = &own;
  }
  int rc = model_read(s->db, &have);
  if (rc != SQLITE_OK) {
    st = ms__store_error(s, rc, "read the schema");
    goto done;
  }
  for (size_t i = 0; i < want->n && !st; i++) {
    const schema_item *it = &want->items[i];
    if (it->type) {
      const schema_item *got = find_object(&have, it->name);
      if (!got)
        st = ms__fail(MS_ECORRUPT, "store '%s': %s '%s' is missing (schema version %lld)", s->path, it->type, it->name,
                      (long long)version);
      else if (strcmp(got->type, it->type) != 0)
        st = ms__fail(MS_ECORRUPT, "store '%s': '%s' is a %s where schema version %lld has a %s", s->path, it->name,
                      got->type, (long long)version, it->type);
    } else if (find_object(&have, it->table) && !find(&have, NULL, it->table, it->name)) {
      st = ms__fail(MS_ECORRUPT, "store '%s': table '%s' has no column '%s' (schema version %lld)", s->path, it->table,
                    it->name, (long long)version);
    }
  }
  /* a check inside a migration sees tables not yet committed: not remembered */
  if (!st && known && sqlite3_txn_state(s->db, "main") != SQLITE_TXN_WRITE) remember_checked(&id);
done:
  model_free(&have);
  model_free(&own);
  return st;
}

/* "no such table: main.x" -> "x". */
static const char *after(const char *msg, const char *head) {
  size_t n = strlen(head);
  if (strncmp(msg, head, n) != 0) return NULL;
  msg += n;
  if (strncmp(msg, "main.", 5) == 0) msg += 5;
  return *msg ? msg : NULL;
}

/* Does the database lack column `name` of an expected table that should have
 * it (and which it has)? Names that table into *table. */
static int column_missing(sqlite3 *db, const schema_model *m, const char *table, const char *name,
                          const char **which) {
  for (size_t i = 0; i < m->n; i++) {
    const schema_item *it = &m->items[i];
    if (it->type || strcmp(it->name, name) != 0 || (table && strcmp(it->table, table) != 0)) continue;
    sqlite3_stmt *q = NULL;
    int present = 1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1, &q, NULL) ==
        SQLITE_OK) {
      sqlite3_bind_text(q, 1, it->table, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 2, it->name, -1, SQLITE_STATIC);
      if (sqlite3_step(q) == SQLITE_ROW) present = sqlite3_column_int(q, 0) > 0;
    }
    sqlite3_finalize(q);
    if (!present) {
      *which = it->table;
      return 1;
    }
  }
  return 0;
}

int ms__store_describe_damage(ms_store *s, const char *sqlite_msg, char *out, size_t cap) {
  int built;
  const schema_model *m = latest(s, &built);
  sqlite3 *db = s->db;
  if (!m || !sqlite_msg) return 0;
  const char *name;
  if ((name = after(sqlite_msg, "no such table: ")) && find(m, "table", NULL, name)) {
    snprintf(out, cap, "table '%s' is missing", name);
    return 1;
  }
  if ((name = after(sqlite_msg, "no such index: ")) && find(m, "index", NULL, name)) {
    snprintf(out, cap, "index '%s' is missing", name);
    return 1;
  }
  if ((name = after(sqlite_msg, "no such column: "))) {
    char table[256] = "";
    const char *dot = strchr(name, '.');
    if (dot && (size_t)(dot - name) < sizeof table) {
      memcpy(table, name, (size_t)(dot - name));
      table[dot - name] = '\0';
      name = dot + 1;
    }
    const char *which = NULL;
    /* "t.c" may name an alias, not a table: then any table with column c */
    if ((*table && column_missing(db, m, table, name, &which)) || column_missing(db, m, NULL, name, &which)) {
      snprintf(out, cap, "table '%s' has no column '%s'", which, name);
      return 1;
    }
  }
  return 0;
}
