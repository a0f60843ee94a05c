/* The Redis baseline: Backend.AI's proposed design (PR #3064's discussion) of
 * one sorted set per scope, member = session id, score = lease expiry, with an
 * idempotent admission Lua script called through hiredis with EVALSHA.
 *
 * The benchmark starts its own redis-server on a free 127.0.0.1 port as a
 * child process and kills it on every exit path: normal end and error exits
 * (atexit), SIGINT/SIGTERM/SIGHUP (the program's handler calls
 * tb_redis_kill_all), and PR_SET_PDEATHSIG should this process die abruptly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracker_bench.h"

/* Admission, all or nothing over the scopes in KEYS, idempotent.
 * ARGV: session id, now (us), expiry (us), then the limit of each KEYS[i]
 * (-1: none). Expired members (score <= now) are purged first: that is what
 * a lease means, and the tracker does the same work lazily. Then, as proposed:
 * membership (ZSCORE) — a held session passes that scope without counting
 * twice —, ZCARD against the limit, and only when every scope passed, ZADD to
 * all (NX: a retried admit changes nothing). Returns {1}, or
 * {0, index of the first full scope, limit, used}. */
static const char ADMIT_LUA[] =
    "local sid, now, exp = ARGV[1], ARGV[2], ARGV[3]\n"
    "for i, key in ipairs(KEYS) do\n"
    "  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)\n"
    "  if not redis.call('ZSCORE', key, sid) then\n"
    "    local limit = tonumber(ARGV[3 + i])\n"
    "    if limit >= 0 then\n"
    "      local used = redis.call('ZCARD', key)\n"
    "      if used >= limit then return {0, i, limit, used} end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, key in ipairs(KEYS) do redis.call('ZADD', key, 'NX', exp, sid) end\n"
    "return {1}\n";

/* Release: ZREM the session from every scope it was admitted to. Returns 1
 * when it was held somewhere (idempotent, like ms_tracker_release). */
static const char RELEASE_LUA[] =
    "local held = 0\n"
    "for _, key in ipairs(KEYS) do held = held + redis.call('ZREM', key, ARGV[1]) end\n"
    "return held > 0 and 1 or 0\n";

/* A scheduler tick in one script call (atomic, like the tracker's
 * transaction): KEYS holds k scopes per session, ARGV = now, expiry, k, then
 * per session its id followed by its k limits. Sessions are admitted in order
 * so later ones see earlier ones; a denied session is skipped and reported
 * (the benchmark never hits a limit). Returns, per session, 0 (admitted) or
 * the 1-based index of its first full scope. */
static const char TICK_LUA[] =
    "local now, exp, k = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local n = #KEYS / k\n"
    "local out, purged = {}, {}\n"
    "for j = 0, n - 1 do\n"
    "  local base = 4 + j * (k + 1)\n"
    "  local sid, denied = ARGV[base], 0\n"
    "  for i = 1, k do\n"
    "    local key = KEYS[j * k + i]\n"
    "    if not purged[key] then redis.call('ZREMRANGEBYSCORE', key, '-inf', now); purged[key] = true end\n"
    "    if not redis.call('ZSCORE', key, sid) then\n"
    "      local limit = tonumber(ARGV[base + i])\n"
    "      if limit >= 0 and redis.call('ZCARD', key) >= limit then denied = i; break end\n"
    "    end\n"
    "  end\n"
    "  if denied == 0 then\n"
    "    for i = 1, k do redis.call('ZADD', KEYS[j * k + i], 'NX', exp, sid) end\n"
    "  end\n"
    "  out[j + 1] = denied\n"
    "end\n"
    "return out\n";

/* Releases of a tick in one script call: KEYS holds k scopes per session,
 * ARGV = k, then the session ids. Returns the number that were held. */
static const char RELEASE_TICK_LUA[] =
    "local k = tonumber(ARGV[1])\n"
    "local held = 0\n"
    "for j = 0, #ARGV - 2 do\n"
    "  local h = 0\n"
    "  for i = 1, k do h = h + redis.call('ZREM', KEYS[j * k + i], ARGV[j + 2]) end\n"
    "  if h > 0 then held = held + 1 end\n"
    "end\n"
    "return held\n";

/* The growth workload's prefill: sessions held-<from>..held-<from+n-1>,
 * each a member of KEYS[1] (the domain) and of user:<i % users>, scored far
 * in the future. ARGV = from, n, score, users. */
static const char PREFILL_LUA[] =
    "local from, n, score, users = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])\n"
    "for i = from, from + n - 1 do\n"
    "  local sid = 'held-' .. i\n"
    "  redis.call('ZADD', KEYS[1], score, sid)\n"
    "  redis.call('ZADD', string.format('user:%04d', i % users), score, sid)\n"
    "end\n"
    "return n\n";

typedef struct rb_ctx {
  pid_t pid;
  int port;
  int aof;
  char sha_admit[41], sha_release[41], sha_tick[41], sha_release_tick[41], sha_prefill[41];
  char version[32];
  char limit[24]; /* TB_LIMIT as text */
} rb_ctx;

/* ---- server lifecycle -------------------------------------------------------- */

#define MAX_SERVERS 4
static volatile pid_t g_servers[MAX_SERVERS];
static pid_t g_owner; /* only the process that started them kills them */

void tb_redis_kill_all(void) {
  if (getpid() != g_owner) return;
  for (int i = 0; i < MAX_SERVERS; i++) {
    pid_t p = g_servers[i];
    if (p > 0) {
      kill(p, SIGKILL);
      waitpid(p, NULL, 0);
      g_servers[i] = 0;
    }
  }
}

static void remember(pid_t pid) {
  static int hooked;
  if (!hooked) {
    hooked = 1;
    g_owner = getpid();
    atexit(tb_redis_kill_all); /* signals: the program's handler calls it */
  }
  for (int i = 0; i < MAX_SERVERS; i++)
    if (g_servers[i] <= 0) {
      g_servers[i] = pid;
      return;
    }
}

static void forget(pid_t pid) {
  for (int i = 0; i < MAX_SERVERS; i++)
    if (g_servers[i] == pid) g_servers[i] = 0;
}

int tb_redis_find(const char *name, char *path, size_t path_len) {
  if (strchr(name, '/')) {
    if (access(name, X_OK) != 0) return 0;
    snprintf(path, path_len, "%s", name);
    return 1;
  }
  const char *env = getenv("PATH");
  if (!env) return 0;
  char *dirs = strdup(env);
  if (!dirs) return 0;
  int found = 0;
  char *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
    char cand[4096];
    snprintf(cand, sizeof cand, "%s/%s", *d ? d : ".", name);
    if (access(cand, X_OK) == 0) {
      snprintf(path, path_len, "%s", cand);
      found = 1;
    }
  }
  free(dirs);
  return found;
}

/* A port that was free on 127.0.0.1 a moment ago (the kernel picks it). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static pid_t spawn_server(const char *bin, const char *dir, int port, int aof) {
  char port_s[16], log_s[4096];
  snprintf(port_s, sizeof port_s, "%d", port);
  snprintf(log_s, sizeof log_s, "%s/redis-%d.log", dir, port);
  const char *argv[] = {bin, "--port", port_s, "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", aof ? "yes" : "no", "--appendfsync", "everysec",
                        "--daemonize", "no", "--dir", dir, "--logfile", log_s, NULL};
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* Die with the benchmark even if it is killed with SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
    }
    execv(bin, (char *const *)(void *)argv);
    fprintf(stderr, "bench: cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
  }
  remember(pid);
  return pid;
}

static redisContext *connect_port(int port) {
  struct timeval tv = {2, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c && c->err) {
    redisFree(c);
    return NULL;
  }
  return c;
}

/* Poll until PING answers PONG (5 s), noticing a server that died. */
static redisContext *wait_ready(pid_t pid, int port) {
  uint64_t deadline = tb_now_ns() + 5000000000u;
  while (tb_now_ns() < deadline) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      forget(pid);
      return NULL;
    }
    redisContext *c = connect_port(port);
    if (c) {
      redisReply *r = redisCommand(c, "PING");
      int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
      if (r) freeReplyObject(r);
      if (ok) return c;
      redisFree(c);
    }
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static int load_script(redisContext *c, const char *src, char sha[41]) {
  redisReply *r = redisCommand(c, "SCRIPT LOAD %s", src);
  int ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;
  if (ok)
    memcpy(sha, r->str, 41);
  else
    fprintf(stderr, "bench: redis: SCRIPT LOAD failed: %s\n", r && r->str ? r->str : c->errstr);
  if (r) freeReplyObject(r);
  return ok ? 0 : -1;
}

static void read_version(redisContext *c, char out[32]) {
  snprintf(out, 32, "unknown");
  redisReply *r = redisCommand(c, "INFO server");
  if (r && r->type == REDIS_REPLY_STRING) {
    const char *p = strstr(r->str, "redis_version:");
    if (p) {
      p += strlen("redis_version:");
      size_t n = strcspn(p, "\r\n");
      if (n > 31) n = 31;
      memcpy(out, p, n);
      out[n] = '\0';
    }
  }
  if (r) freeReplyObject(r);
}

/* ---- backend functions ---------------------------------------------------------- */

static int rb_reset(void *ctx) {
  rb_ctx *x = ctx;
  redisContext *c = connect_port(x->port);
  if (!c) {
    fprintf(stderr, "bench: redis on port %d: cannot connect\n", x->port);
    return -1;
  }
  redisReply *r = redisCommand(c, "FLUSHALL");
  int ok = r && r->type == REDIS_REPLY_STATUS;
  if (!ok) fprintf(stderr, "bench: redis: FLUSHALL failed: %s\n", r && r->str ? r->str : c->errstr);
  if (r) freeReplyObject(r);
  redisFree(c);
  return ok ? 0 : -1;
}

/* Redis has no per-process state: the process handle is the server. */
static int rb_proc_open(void *ctx, void **proc) {
  *proc = ctx;
  return 0;
}

static void rb_proc_close(void *proc) { (void)proc; }

typedef struct rb_worker {
  rb_ctx *x;
  redisContext *c;
} rb_worker;

/* Every worker has its own connection. */
static int rb_worker_open(void *proc, void **w) {
  rb_worker *k = calloc(1, sizeof *k);
  if (!k) return -1;
  k->x = proc;
  k->c = connect_port(k->x->port);
  if (!k->c) {
    fprintf(stderr, "bench: redis on port %d: cannot connect\n", k->x->port);
    free(k);
    return -1;
  }
  *w = k;
  return 0;
}

static void rb_worker_close(void *w) {
  rb_worker *k = w;
  if (!k) return;
  redisFree(k->c);
  free(k);
}

static redisReply *call(rb_worker *k, int argc, const char **argv, const size_t *lens, const char *what) {
  redisReply *r = redisCommandArgv(k->c, argc, argv, lens);
  if (!r) {
    fprintf(stderr, "bench: redis %s: %s\n", what, k->c->errstr);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    fprintf(stderr, "bench: redis %s: %s\n", what, r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

static int rb_admit(void *w, const char *sid, const char *const *scopes, int64_t now_us) {
  rb_worker *k = w;
  char now_s[24], exp_s[24];
  snprintf(now_s, sizeof now_s, "%lld", (long long)now_us);
  snprintf(exp_s, sizeof exp_s, "%lld", (long long)(now_us + TB_LEASE_US));
  const char *argv[5 + TB_SCOPES * 2 + 3];
  size_t lens[sizeof argv / sizeof argv[0]];
  int n = 0;
  argv[n++] = "EVALSHA";
  argv[n++] = k->x->sha_admit;
  argv[n++] = TB_SCOPES == 2 ? "2" : "?";
  for (int i = 0; i < TB_SCOPES; i++) argv[n++] = scopes[i];
  argv[n++] = sid;
  argv[n++] = now_s;
  argv[n++] = exp_s;
  for (int i = 0; i < TB_SCOPES; i++) argv[n++] = k->x->limit;
  for (int i = 0; i < n; i++) lens[i] = strlen(argv[i]);
  redisReply *r = call(k, n, argv, lens, "admit");
  if (!r) return -1;
  int ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->integer == 1;
  if (!ok) fprintf(stderr, "bench: redis admit of '%s' was denied (limits are meant never to bind)\n", sid);
  freeReplyObject(r);
  return ok ? 0 : -1;
}

static int rb_release(void *w, const char *sid, const char *const *scopes) {
  rb_worker *k = w;
  const char *argv[3 + TB_SCOPES + 1];
  size_t lens[sizeof argv / sizeof argv[0]];
  int n = 0;
  argv[n++] = "EVALSHA";
  argv[n++] = k->x->sha_release;
  argv[n++] = TB_SCOPES == 2 ? "2" : "?";
  for (int i = 0; i < TB_SCOPES; i++) argv[n++] = scopes[i];
  argv[n++] = sid;
  for (int i = 0; i < n; i++) lens[i] = strlen(argv[i]);
  redisReply *r = call(k, n, argv, lens, "release");
  if (!r) return -1;
  freeReplyObject(r);
  return 0;
}

static int rb_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  rb_worker *k = w;
  char now_s[24], exp_s[24], nkeys_s[16], k_s[8];
  snprintf(now_s, sizeof now_s, "%lld", (long long)now_us);
  snprintf(exp_s, sizeof exp_s, "%lld", (long long)(now_us + TB_LEASE_US));
  snprintf(nkeys_s, sizeof nkeys_s, "%zu", n * TB_SCOPES);
  snprintf(k_s, sizeof k_s, "%d", TB_SCOPES);
  size_t argc = 3 + n * TB_SCOPES + 3 + n * (1 + TB_SCOPES);
  const char **argv = malloc(argc * sizeof *argv);
  size_t *lens = malloc(argc * sizeof *lens);
  if (!argv || !lens) {
    free(argv);
    free(lens);
    fprintf(stderr, "bench: out of memory\n");
    return -1;
  }
  size_t a = 0;
  argv[a++] = "EVALSHA";
  argv[a++] = k->x->sha_tick;
  argv[a++] = nkeys_s;
  for (size_t i = 0; i < n * TB_SCOPES; i++) argv[a++] = scopes[i];
  argv[a++] = now_s;
  argv[a++] = exp_s;
  argv[a++] = k_s;
  for (size_t j = 0; j < n; j++) {
    argv[a++] = sids[j];
    for (int i = 0; i < TB_SCOPES; i++) argv[a++] = k->x->limit;
  }
  for (size_t i = 0; i < a; i++) lens[i] = strlen(argv[i]);
  redisReply *r = call(k, (int)a, argv, lens, "tick");
  free(argv);
  free(lens);
  if (!r) return -1;
  int ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
  for (size_t j = 0; ok && j < n; j++) ok = r->element[j]->integer == 0;
  if (!ok) fprintf(stderr, "bench: redis tick: a session was denied (limits are meant never to bind)\n");
  freeReplyObject(r);
  return ok ? 0 : -1;
}

static int rb_release_tick(void *w, size_t n, const char *const *sids, const char *const *scopes, int64_t now_us) {
  (void)now_us;
  rb_worker *k = w;
  char nkeys_s[16], k_s[8];
  snprintf(nkeys_s, sizeof nkeys_s, "%zu", n * TB_SCOPES);
  snprintf(k_s, sizeof k_s, "%d", TB_SCOPES);
  size_t argc = 3 + n * TB_SCOPES + 1 + n;
  const char **argv = malloc(argc * sizeof *argv);
  size_t *lens = malloc(argc * sizeof *lens);
  if (!argv || !lens) {
    free(argv);
    free(lens);
    fprintf(stderr, "bench: out of memory\n");
    return -1;
  }
  size_t a = 0;
  argv[a++] = "EVALSHA";
  argv[a++] = k->x->sha_release_tick;
  argv[a++] = nkeys_s;
  for (size_t i = 0; i < n * TB_SCOPES; i++) argv[a++] = scopes[i];
  argv[a++] = k_s;
  for (size_t j = 0; j < n; j++) argv[a++] = sids[j];
  for (size_t i = 0; i < a; i++) lens[i] = strlen(argv[i]);
  redisReply *r = call(k, (int)a, argv, lens, "release tick");
  free(argv);
  free(lens);
  if (!r) return -1;
  int ok = r->type == REDIS_REPLY_INTEGER && r->integer == (long long)n;
  if (!ok) fprintf(stderr, "bench: redis release tick: not every session was held\n");
  freeReplyObject(r);
  return ok ? 0 : -1;
}

static int rb_prefill(void *ctx, size_t n, int64_t now_us) {
  rb_ctx *x = ctx;
  redisContext *c = connect_port(x->port);
  if (!c) return -1;
  char score[24], users[16];
  snprintf(score, sizeof score, "%lld", (long long)(now_us + 86400LL * 1000000LL));
  snprintf(users, sizeof users, "%d", TB_USERS);
  int st = 0;
  for (size_t from = 0; !st && from < n; from += 10000) {
    size_t chunk = n - from < 10000 ? n - from : 10000;
    redisReply *r = redisCommand(c, "EVALSHA %s 1 %s %llu %llu %s %s", x->sha_prefill, TB_DOMAIN,
                                 (unsigned long long)from, (unsigned long long)chunk, score, users);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      fprintf(stderr, "bench: redis prefill: %s\n", r && r->str ? r->str : c->errstr);
      st = -1;
    }
    if (r) freeReplyObject(r);
  }
  redisFree(c);
  return st;
}

/* ---- construction ------------------------------------------------------------------ */

int tb_redis_backend(const char *server_bin, const char *dir, int aof, tb_backend *out) {
  rb_ctx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  x->aof = aof;
  snprintf(x->limit, sizeof x->limit, "%d", TB_LIMIT);
  redisContext *c = NULL;
  /* The port was free when asked; another program may take it before the
   * server binds it, so try a few. */
  for (int attempt = 0; attempt < 3 && !c; attempt++) {
    x->port = free_port();
    if (x->port <= 0) continue;
    x->pid = spawn_server(server_bin, dir, x->port, aof);
    if (x->pid <= 0) break;
    c = wait_ready(x->pid, x->port);
    if (!c) {
      kill(x->pid, SIGKILL);
      waitpid(x->pid, NULL, 0);
      forget(x->pid);
      x->pid = 0;
    }
  }
  if (!c) {
    fprintf(stderr, "bench: %s did not answer PING on 127.0.0.1 (see its log in %s)\n", server_bin, dir);
    free(x);
    return -1;
  }
  read_version(c, x->version);
  int st = load_script(c, ADMIT_LUA, x->sha_admit);
  if (!st) st = load_script(c, RELEASE_LUA, x->sha_release);
  if (!st) st = load_script(c, TICK_LUA, x->sha_tick);
  if (!st) st = load_script(c, RELEASE_TICK_LUA, x->sha_release_tick);
  if (!st) st = load_script(c, PREFILL_LUA, x->sha_prefill);
  redisFree(c);
  memset(out, 0, sizeof *out);
  out->ctx = x;
  if (st) {
    tb_redis_backend_free(out);
    return -1;
  }
  out->name = aof ? "redis_aof" : "redis";
  out->durability = aof ? "Redis AOF: appendonly yes, appendfsync everysec (no RDB snapshots)"
                        : "Redis: no persistence (--save \"\" --appendonly no), the most favourable setting";
  out->reset = rb_reset;
  out->proc_open = rb_proc_open;
  out->proc_close = rb_proc_close;
  out->worker_open = rb_worker_open;
  out->worker_close = rb_worker_close;
  out->admit = rb_admit;
  out->release = rb_release;
  out->tick = rb_tick;
  out->release_tick = rb_release_tick;
  out->prefill = rb_prefill;
  return 0;
}

void tb_redis_backend_free(tb_backend *b) {
  rb_ctx *x = b ? b->ctx : NULL;
  if (!x) return;
  if (x->pid > 0) {
    kill(x->pid, SIGTERM);
    /* A server without persistence exits at once; don't wait long for one
     * with AOF. */
    uint64_t deadline = tb_now_ns() + 2000000000u;
    while (waitpid(x->pid, NULL, WNOHANG) == 0) {
      if (tb_now_ns() > deadline) {
        kill(x->pid, SIGKILL);
        waitpid(x->pid, NULL, 0);
        break;
      }
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
    forget(x->pid);
  }
  free(x);
  b->ctx = NULL;
}

const char *tb_redis_version(const tb_backend *b) {
  const rb_ctx *x = b->ctx;
  return x ? x->version : "absent";
}
