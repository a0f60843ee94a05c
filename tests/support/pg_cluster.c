/* A throwaway PostgreSQL server for tests (pg_cluster.h). */
#include "pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

struct ms_test_pg {
  char *dir;      /* scratch folder; the cluster in dir/data */
  char bin[256];  /* initdb, pg_ctl */
  char run_as[64]; /* "runuser -u postgres -- " when root, else "" */
  int port;
  char uri[128];
  int n_dbs;
};

static int find_bin(char *out, size_t cap) {
  const char *env = getenv("MSERVE_PG_BIN");
  const char *cands[] = {env, "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
    if (!cands[i]) continue;
    char p[300];
    snprintf(p, sizeof p, "%s/initdb", cands[i]);
    if (access(p, X_OK) == 0) {
      snprintf(out, cap, "%s", cands[i]);
      return 0;
    }
  }
  return -1;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static int sh(const char *cmd) {
  int rc = system(cmd);
  return rc == 0 ? 0 : -1;
}

int ms_test_pg_durable;

static int pg_ctl(ms_test_pg *c, const char *verb) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "%s%s/pg_ctl -D '%s/data' -l '%s/log' -w -t 60 -m fast "
           "-o \"-p %d -k '%s' -c listen_addresses=127.0.0.1%s -c max_connections=200\" %s >/dev/null",
           c->run_as, c->bin, c->dir, c->dir, c->port, c->dir, ms_test_pg_durable ? "" : " -c fsync=off", verb);
  return sh(cmd);
}

ms_test_pg *ms_test_pg_start(char *why, size_t cap) {
  ms_test_pg *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (find_bin(c->bin, sizeof c->bin)) {
    snprintf(why, cap, "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin; Debian's "
                       "postgresql package, or MSERVE_PG_BIN): skipping the PostgreSQL tests");
    free(c);
    return NULL;
  }
  c->dir = ms_test_tmpdir("pgcluster");
  if (!c->dir) {
    snprintf(why, cap, "cannot make a scratch folder for the cluster");
    free(c);
    return NULL;
  }
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw) {
      snprintf(why, cap, "running as root and there is no postgres user to run the server as");
      ms_test_pg_stop(c);
      return NULL;
    }
    if (chown(c->dir, pw->pw_uid, pw->pw_gid) != 0) {
      snprintf(why, cap, "cannot hand the cluster's folder to the postgres user");
      ms_test_pg_stop(c);
      return NULL;
    }
    snprintf(c->run_as, sizeof c->run_as, "runuser -u postgres -- ");
  }
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "%s%s/initdb -D '%s/data' -A trust -U postgres --no-sync -E UTF8 >'%s/initdb.log' 2>&1",
           c->run_as, c->bin, c->dir, c->dir);
  if (sh(cmd)) {
    snprintf(why, cap, "initdb failed (see %s/initdb.log)", c->dir);
    free(c->dir);
    free(c);
    return NULL;
  }
  for (int tries = 0; tries < 5; tries++) {
    c->port = free_port();
    if (c->port > 0 && pg_ctl(c, "start") == 0) {
      snprintf(c->uri, sizeof c->uri, "postgresql://postgres@127.0.0.1:%d/postgres", c->port);
      return c;
    }
  }
  snprintf(why, cap, "the PostgreSQL server did not start (see %s/log)", c->dir);
  ms_test_pg_stop(c);
  return NULL;
}

const char *ms_test_pg_uri(const ms_test_pg *c) { return c->uri; }

char *ms_test_pg_new_db(ms_test_pg *c, const char *tag) {
  char name[96], sql[160];
  snprintf(name, sizeof name, "t_%s_%d_%d", tag, (int)getpid(), ++c->n_dbs);
  for (char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) *p = '_';
  PGconn *k = PQconnectdb(c->uri);
  if (PQstatus(k) != CONNECTION_OK) {
    PQfinish(k);
    return NULL;
  }
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  PGresult *r = PQexec(k, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(k);
  if (!ok) return NULL;
  char *uri = malloc(192);
  if (uri) snprintf(uri, 192, "postgresql://postgres@127.0.0.1:%d/%s", c->port, name);
  return uri;
}

int ms_test_pg_restart(ms_test_pg *c) { return pg_ctl(c, "restart"); }

void ms_test_pg_stop(ms_test_pg *c) {
  if (!c) return;
  if (c->port > 0) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s%s/pg_ctl -D '%s/data' -m immediate -w stop >/dev/null 2>&1", c->run_as, c->bin,
             c->dir);
    sh(cmd);
  }
  if (c->dir) {
    ms_test_rmtree(c->dir);
    free(c->dir);
  }
  free(c);
}

/* ---- the shared cluster and the parameterised suites ------------------------------ */

static ms_test_pg *shared;
static pid_t shared_owner;
static char shared_why[512];

static void stop_shared(void) {
  if (shared && getpid() == shared_owner) ms_test_pg_stop(shared); /* not from a forked child */
  shared = NULL;
}

ms_test_pg *ms_test_pg_shared(char *why, size_t cap) {
  if (!shared && !shared_why[0]) {
    shared = ms_test_pg_start(shared_why, sizeof shared_why);
    if (shared) {
      shared_owner = getpid();
      atexit(stop_shared);
    }
  }
  if (!shared && why) snprintf(why, cap, "%s", shared_why);
  return shared;
}

int ms_test_backend_is_pg(void) {
  const char *b = getenv("MSERVE_TEST_STORE");
  return b && strcmp(b, "postgresql") == 0;
}

char *ms_test_store_path(const char *dir, const char *file) {
  if (!ms_test_backend_is_pg()) return ms_test_path(dir, file);
  ms_test_pg *c = ms_test_pg_shared(NULL, 0);
  return c ? ms_test_pg_new_db(c, file) : NULL;
}

const char *ms_test_store_skip_reason(void) { return shared_why[0] ? shared_why : "no PostgreSQL database"; }

int ms_test_backend_start(const char *suite) {
  if (!ms_test_backend_is_pg()) return 0;
  char why[512];
  if (ms_test_pg_shared(why, sizeof why)) return 0;
  printf("%s: skipped: %s\n", suite, why);
  return 77;
}
