/* Integration: the mserve-tracker CLI end to end — exit codes 0/1/2 and the
 * shape of its --json output (the family's envelope: "ok", and on failure
 * "code" and "message"). argv[1] is the CLI's path. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static const char *cli_path;
static char *db;
static int failures;
static char err[8192]; /* the last run's stderr */

#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (!(cond)) {                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                            \
      fputc('\n', stderr);                                     \
      failures++;                                              \
    }                                                          \
  } while (0)

static void slurp(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t k;
  while (len + 1 < cap && (k = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)k;
  buf[len] = '\0';
  close(fd);
}

/* Run the CLI with `args` (NULL-terminated, after "--db FILE" unless the
 * first is NO_DB), feeding `input` on stdin; returns the exit code, with
 * stdout in `out` and stderr in `err`. Both stay far below a pipe's buffer,
 * so reading one after the other cannot block the child. */
#define NO_DB "\001no-db"
/* run_io: the general form. stdin is `in_fd` when it is >= 0 (the child
 * gets it as is; the caller keeps and closes its copy), else a pipe fed with
 * `input_len` bytes of `input`. */
static int run_io(const char *input, size_t input_len, int in_fd, char *out, size_t cap, const char *const *args) {
  int in_pipe[2] = {-1, -1}, out_pipe[2], err_pipe[2];
  if ((in_fd < 0 && pipe(in_pipe)) || pipe(out_pipe) || pipe(err_pipe)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd >= 0 ? in_fd : in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (in_fd < 0) close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    const char *argv[32] = {cli_path, "--db", db};
    int n = 3;
    if (args[0] && strcmp(args[0], NO_DB) == 0) {
      n = 1;
      args++;
    }
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execv(cli_path, (char *const *)(void *)argv);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (in_fd < 0) {
    close(in_pipe[0]);
    if (input && write(in_pipe[1], input, input_len) < 0) perror("write");
    close(in_pipe[1]);
  }
  slurp(out_pipe[0], out, cap);
  slurp(err_pipe[0], err, sizeof err);
  int ws = 0;
  waitpid(pid, &ws, 0);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static int run(const char *input, char *out, size_t cap, const char *const *args) {
  return run_io(input, input ? strlen(input) : 0, -1, out, cap, args);
}

#define RUN(input, ...) run((input), out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_FD(fd, ...) run_io(NULL, 0, (fd), out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})

static cJSON *parse(const char *out) {
  cJSON *j = cJSON_Parse(out);
  CHECK(j != NULL, "not JSON: %s", out);
  return j;
}

static const char *str(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsNumber(v) ? v->valuedouble : -12345.0;
}

static int is_true(const cJSON *j, const char *key) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, key)); }
static int is_false(const cJSON *j, const char *key) {
  return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, key));
}


/* A stdin that yields `text` and then fails with ECONNRESET: the far end of a
 * Unix stream socket closed while bytes sent to it were still unread. The
 * caller closes the returned fd. */
static int stdin_reset_after(const char *text) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return -1;
  if (write(sv[0], text, strlen(text)) < 0 || write(sv[1], "x", 1) != 1) perror("write");
  close(sv[0]);
  return sv[1];
}

/* The number of live compute sessions in `scope`, read through the CLI. */
static double used_now(const char *scope) {
  char out[8192];
  if (RUN(NULL, "--json", "used", scope) != 0) return -1;
  cJSON *j = cJSON_Parse(out);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "used");
  double n = cJSON_IsNumber(v) ? v->valuedouble : -1;
  cJSON_Delete(j);
  return n;
}

/* A failed read of the reconcile list is an error, never the end of the
 * list: nothing changes and the exit status is 2, with the cause. */
static void reconcile_read_errors(void) {
  char out[8192];
  cJSON *j;
  CHECK(RUN(NULL, "admit", "r1", "--scope", "rc:A") == 0, "admit r1");
  CHECK(RUN(NULL, "admit", "r2", "--scope", "rc:A") == 0, "admit r2");
  CHECK(used_now("rc:A") == 2, "rc:A holds r1 and r2");

  /* stdin a folder: read() fails with EISDIR at once */
  int fd = open("/", O_RDONLY);
  CHECK(fd >= 0, "open /");
  CHECK(RUN_FD(fd, "reconcile") == 2, "reconcile < /: exit 2; stdout '%s'", out);
  CHECK(strstr(err, "Is a directory") != NULL, "reconcile < /: stderr '%s' lacks the cause", err);
  CHECK(strstr(err, "nothing changed") != NULL, "reconcile < /: stderr '%s'", err);
  CHECK(out[0] == '\0', "reconcile < /: stdout '%s'", out);
  CHECK(used_now("rc:A") == 2, "reconcile < / removed sessions");
  CHECK(RUN_FD(fd, "--json", "reconcile", "--scope", "rc:A") == 2, "--json reconcile < /");
  j = parse(out);
  CHECK(is_false(j, "ok") && str(j, "code") && !strcmp(str(j, "code"), "MS_EIO"), "%s", out);
  CHECK(str(j, "message") && strstr(str(j, "message"), "Is a directory"), "%s", out);
  cJSON_Delete(j);
  close(fd);
  CHECK(used_now("rc:A") == 2, "--json reconcile < / removed sessions");

  /* a read error after the first line: the line read so far is not the list */
  fd = stdin_reset_after("r1 compute rc:A\n");
  CHECK(fd >= 0, "socketpair");
  CHECK(RUN_FD(fd, "reconcile") == 2, "reconcile, reset mid-way: exit 2; stdout '%s'", out);
  CHECK(strstr(err, "Connection reset by peer") != NULL, "reset mid-way: stderr '%s' lacks the cause", err);
  CHECK(strstr(err, "after line 1") != NULL, "reset mid-way: stderr '%s' lacks the place", err);
  close(fd);
  CHECK(used_now("rc:A") == 2, "reconcile cut by a read error removed r2");

  /* a NUL byte would cut the line short without a word: refused */
  static const char nul_list[] = "r1 compute rc:A\0 and more\n";
  CHECK(run_io(nul_list, sizeof nul_list - 1, -1, out, sizeof out, (const char *const[]){"reconcile", NULL}) == 2,
        "NUL in the list: exit 2");
  CHECK(strstr(err, "line 1") && strstr(err, "NUL"), "NUL in the list: stderr '%s'", err);
  CHECK(used_now("rc:A") == 2, "a list with a NUL byte was applied");

  /* a line too long to be a list line is refused, not cut into pieces (the
   * CLI stops reading there: ignore SIGPIPE while feeding it) */
  size_t big = 70000;
  char *huge = malloc(big + 32);
  CHECK(huge != NULL, "malloc");
  if (huge) {
    memcpy(huge, "r1 compute rc:A", 15);
    memset(huge + 15, 'x', big - 15);
    memcpy(huge + big, "\n", 2);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    CHECK(run_io(huge, big + 1, -1, out, sizeof out, (const char *const[]){"reconcile", NULL}) == 2,
          "70 KB line: exit 2");
    signal(SIGPIPE, old_pipe);
    CHECK(strstr(err, "line 1") && strstr(err, "longer than"), "70 KB line: stderr '%s'", err);
    CHECK(used_now("rc:A") == 2, "a list with a 70 KB line was applied");
    free(huge);
  }
}

/* Leases: a positive lease below 1 us is 1 us, never "no lease"; numbers that
 * do not fit are refused as out of range. */
static void lease_conversions(void) {
  char out[8192];
  cJSON *j;
  static const char *const tiny[] = {"0.0000004", "1e-400", "0x1p-40"};
  for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
    char sid[32];
    snprintf(sid, sizeof sid, "tiny%zu", i);
    CHECK(RUN(NULL, "admit", sid, "--scope", "lease:A", "--lease", tiny[i]) == 0, "admit --lease %s", tiny[i]);
    /* this is a later process: a microsecond has passed */
    CHECK(RUN(NULL, "--json", "held", sid) == 0, "held %s", sid);
    j = parse(out);
    CHECK(is_false(j, "held"), "--lease %s: the session is still held: %s", tiny[i], out);
    cJSON_Delete(j);
  }
  CHECK(used_now("lease:A") == 0, "lease:A still counts sessions with a sub-microsecond lease");
  /* renew: the same rule */
  CHECK(RUN(NULL, "admit", "ren", "--scope", "lease:A", "--lease", "600") == 0, "admit ren");
  CHECK(RUN(NULL, "renew", "ren", "--lease", "0.0000004") == 0 && strstr(out, "without a lease") == NULL,
        "renew --lease 0.0000004: %s", out);
  CHECK(used_now("lease:A") == 0, "renew --lease 0.0000004 made the lease endless");

  static const struct {
    const char *v, *says;
  } bad[] = {
      {"nan", "not a number"},          {"-nan", "not a number"},
      {"inf", "out of range"},          {"-inf", "out of range"},
      {"infinity", "out of range"},     {"1e400", "out of range"},
      {"1e20", "out of range"},         {"9223372036855", "out of range"},
      {"-1e300", "cannot be negative"}, {"-1e-400", "cannot be negative"},
      {"-0.0000004", "cannot be negative"}, {"", "expected a number of seconds"},
      {"12s", "expected a number of seconds"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char want[64];
    snprintf(want, sizeof want, "--lease '%s': ", bad[i].v);
    CHECK(RUN(NULL, "admit", "big", "--scope", "lease:B", "--lease", bad[i].v) == 2, "--lease %s: exit 2", bad[i].v);
    CHECK(strstr(err, want) && strstr(err, bad[i].says), "--lease %s: stderr '%s' lacks '%s'", bad[i].v, err,
          bad[i].says);
    CHECK(RUN(NULL, "--json", "renew", "ren", "--lease", bad[i].v) == 2, "renew --lease %s: exit 2", bad[i].v);
    j = parse(out);
    CHECK(str(j, "message") && strstr(str(j, "message"), bad[i].says), "renew --lease %s: %s", bad[i].v, out);
    cJSON_Delete(j);
  }
  /* fits in microseconds but not added to now: the library refuses it */
  CHECK(RUN(NULL, "admit", "big", "--scope", "lease:B", "--lease", "9223372036854") == 2, "lease past INT64_MAX");
  CHECK(strstr(err, "overflows") != NULL, "lease past INT64_MAX: %s", err);
  CHECK(used_now("lease:B") == 0, "a refused lease admitted a session");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH-TO-mserve-tracker\n", argv[0]);
    return 2;
  }
  cli_path = argv[1];
  char *dir = ms_test_tmpdir("tracker-cli");
  db = ms_test_path(dir, "cli.db");
  char out[8192];
  cJSON *j;
  const cJSON *d;

  /* --help: 0, text on stdout naming every command; no arguments: 2, the
   * same text on stderr */
  CHECK(RUN(NULL, "--help") == 0, "--help");
  CHECK(strstr(out, "usage:") != NULL, "help text: %s", out);
  static const char *const cmds[] = {"limit SCOPE",  "admit SESSION", "release SESSION", "renew SESSION",
                                     "used SCOPE",   "held SESSION",  "reconcile",       "--json",
                                     "exit status: 0 success; 1 a negative answer: admission denied"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    CHECK(strstr(out, cmds[i]) != NULL, "help lacks %s", cmds[i]);
  CHECK(RUN(NULL, NO_DB) == 2 && strstr(err, "usage:") != NULL, "no arguments: %s", err);
  CHECK(RUN(NULL, NO_DB, "used", "x") == 2 && strstr(err, "--db FILE is required") != NULL, "no --db: %s", err);

  CHECK(RUN(NULL, "limit", "keypair:A", "2", "--class", "compute") == 0, "limit");
  CHECK(RUN(NULL, "--json", "limit", "keypair:A", "--class", "compute") == 0, "limit show");
  j = parse(out);
  CHECK(is_true(j, "ok") && num(j, "limit") == 2, "%s", out);
  cJSON_Delete(j);
  /* the class is an option, as in every command; the default is compute */
  CHECK(RUN(NULL, "--json", "limit", "keypair:A") == 0, "limit show, default class");
  j = parse(out);
  CHECK(is_true(j, "ok") && num(j, "limit") == 2 && str(j, "class") && !strcmp(str(j, "class"), "compute"), "%s", out);
  cJSON_Delete(j);
  /* the form of older releases says what to write instead */
  CHECK(RUN(NULL, "limit", "keypair:A", "compute", "2") == 2 && strstr(err, "--class compute"), "old limit form: %s",
        err);

  /* admit: 0 twice (a retry), then 1 with the denial */
  CHECK(RUN(NULL, "admit", "s1", "--scope", "keypair:A", "--scope", "user:u") == 0, "admit s1: %s", out);
  CHECK(RUN(NULL, "--json", "admit", "s1", "--scope", "user:u", "--scope", "keypair:A") == 0, "retry s1");
  j = parse(out);
  CHECK(is_true(j, "ok") && is_true(j, "admitted"), "%s", out);
  CHECK(str(j, "session") && strcmp(str(j, "session"), "s1") == 0, "%s", out);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "scopes")) == 2, "%s", out);
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "lease_expires_us")), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "admit", "s2", "--scope", "keypair:A", "--lease", "60") == 0, "admit s2");
  CHECK(RUN(NULL, "--json", "admit", "s3", "--scope", "keypair:A") == 1, "admit s3 must be denied: %s", out);
  j = parse(out);
  CHECK(is_false(j, "ok") && is_false(j, "admitted"), "%s", out);
  CHECK(str(j, "code") && strcmp(str(j, "code"), "MS_ELIMIT") == 0, "%s", out);
  d = cJSON_GetObjectItemCaseSensitive(j, "denial");
  CHECK(d && str(d, "scope") && strcmp(str(d, "scope"), "keypair:A") == 0, "%s", out);
  CHECK(d && num(d, "limit") == 2 && num(d, "used") == 2, "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "admit", "s3", "--scope", "keypair:A") == 1, "text denial");
  CHECK(strstr(out, "denied") != NULL, "%s", out);

  /* text output */
  CHECK(RUN(NULL, "used", "keypair:A") == 0 && strstr(out, "keypair:A compute: 2 of 2"), "used text: %s", out);
  CHECK(RUN(NULL, "limit", "project:p", "unlimited", "--class", "system") == 0 && strstr(out, "unlimited"), "%s", out);
  CHECK(RUN(NULL, "--json", "limit", "project:p", "--class", "system") == 0, "limit show unlimited");
  j = parse(out);
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "limit")), "%s", out);
  cJSON_Delete(j);
  /* limit 0 admits nothing: a denial, exit 1, with limit 0 and used 0 */
  CHECK(RUN(NULL, "limit", "project:zero", "0") == 0, "limit 0");
  CHECK(RUN(NULL, "--json", "admit", "z1", "--scope", "project:zero") == 1, "limit 0 denies: %s", out);
  j = parse(out);
  d = cJSON_GetObjectItemCaseSensitive(j, "denial");
  CHECK(d && num(d, "limit") == 0 && num(d, "used") == 0, "%s", out);
  cJSON_Delete(j);

  /* used / held / renew */
  CHECK(RUN(NULL, "--json", "used", "keypair:A") == 0, "used");
  j = parse(out);
  CHECK(num(j, "used") == 2 && num(j, "limit") == 2 && str(j, "class") && !strcmp(str(j, "class"), "compute"), "%s",
        out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "used", "user:u", "--class", "system") == 0, "used system");
  j = parse(out);
  CHECK(num(j, "used") == 0 && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "limit")), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "held", "s2") == 0, "held");
  j = parse(out);
  CHECK(is_true(j, "held") && num(j, "lease_expires_us") > 0, "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "renew", "s2", "--lease", "0") == 0, "renew");
  /* not found is a negative answer (1), as in every tool */
  CHECK(RUN(NULL, "--json", "renew", "nobody", "--lease", "5") == 1, "renew unknown");
  j = parse(out);
  CHECK(str(j, "code") && !strcmp(str(j, "code"), "MS_ENOTFOUND") && str(j, "message"), "%s", out);
  cJSON_Delete(j);

  /* errors: 2, with a status and a message */
  CHECK(RUN(NULL, "--json", "admit", "", "--scope", "x") == 2, "empty id");
  j = parse(out);
  CHECK(is_false(j, "ok") && str(j, "code") && !strcmp(str(j, "code"), "MS_EINVAL"), "%s", out);
  CHECK(str(j, "message") && strstr(str(j, "message"), "session id is empty"), "%s", out);
  cJSON_Delete(j);
  /* text mode: exit 2, nothing on stdout, a message on stderr that names the
   * mistake */
  struct {
    const char *const *args;
    const char *says;
  } bad[] = {
      {(const char *const[]){"admit", "x", NULL}, "at least one --scope"},
      {(const char *const[]){"admit", "x", "--scope", "y", "--lease", "-1", NULL},
       "--lease '-1': a lease cannot be negative"},
      {(const char *const[]){"admit", "x", "--scope", "y", "--lease", "soon", NULL}, "--lease 'soon'"},
      {(const char *const[]){"admit", "", "--scope", "y", NULL}, "session id is empty"},
      {(const char *const[]){"admit", "x", "--scope", "", NULL}, "scope #0 is empty"},
      {(const char *const[]){"admit", "x", "--scope", "y", "--class", "gpu", NULL}, "--class 'gpu'"},
      {(const char *const[]){"admit", NULL}, "admit: missing arguments; usage: admit SESSION"},
      {(const char *const[]){"limit", "keypair:A", "-7", NULL}, "limit '-7'"},
      {(const char *const[]){"limit", "keypair:A", "1", "--class", "gpu", NULL}, "--class 'gpu'"},
      {(const char *const[]){"limit", NULL}, "usage: limit SCOPE [N|unlimited] [--class C]"},
      {(const char *const[]){"used", "keypair:A", "--class", "gpu", NULL}, "--class 'gpu'"},
      {(const char *const[]){"used", "keypair:A", "--lease", "1", NULL}, "used: --lease does not apply"},
      {(const char *const[]){"release", "a", "b", NULL}, "release: too many arguments"},
      {(const char *const[]){"renew", "s2", NULL}, "--lease SECONDS is required"},
      {(const char *const[]){"frobnicate", NULL}, "unknown command 'frobnicate'"},
      {(const char *const[]){"--frob", "used", "x", NULL}, "unknown option '--frob'"},
      {(const char *const[]){"reconcile", "--scope", "a", "--scope", "b", NULL}, "at most one --scope"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = run(NULL, out, sizeof out, bad[i].args);
    CHECK(rc == 2, "%s ...: exit %d", bad[i].args[0], rc);
    CHECK(strstr(err, bad[i].says) != NULL, "%s ...: stderr '%s' lacks '%s'", bad[i].args[0], err, bad[i].says);
    CHECK(out[0] == '\0', "%s ...: stdout '%s'", bad[i].args[0], out);
  }
  /* --json mode: the same, as one JSON object on stdout */
  CHECK(RUN(NULL, "--json", "frobnicate") == 2, "unknown command");
  j = parse(out);
  CHECK(str(j, "code") && !strcmp(str(j, "code"), "MS_EINVAL") && is_true(j, "usage"), "%s", out);
  CHECK(str(j, "message") && strstr(str(j, "message"), "frobnicate"), "%s", out);
  cJSON_Delete(j);
  /* a held session asked for with other scopes: a conflict, a negative
   * answer (1) like a denial but with its own code */
  CHECK(RUN(NULL, "--json", "admit", "s1", "--scope", "keypair:A") == 1, "conflicting retry: %s", out);
  j = parse(out);
  CHECK(str(j, "code") && !strcmp(str(j, "code"), "MS_ECONFLICT"), "%s", out);
  CHECK(str(j, "message") && strstr(str(j, "message"), "different set of scopes"), "%s", out);
  cJSON_Delete(j);
  /* a file that is not a database: 2, with the store's reason */
  char *junk = ms_test_path(dir, "junk.db");
  CHECK(ms_test_write_file(junk, "this is not sqlite, not at all, no ", 35) == 0, "write junk");
  const char *junk_args[] = {NO_DB, "--db", junk, "used", "x", NULL};
  CHECK(run(NULL, out, sizeof out, junk_args) == 2 && strstr(err, "not an SQLite database"), "junk db: %s", err);
  free(junk);

  /* reconcile: the list is the truth */
  CHECK(RUN("# live sessions\ns1 compute keypair:A\n\nn1 system keypair:A,user:v\n", "--json", "reconcile") == 0,
        "reconcile: %s", out);
  j = parse(out);
  /* added n1 x2; removed s1/user:u and s2/keypair:A */
  CHECK(num(j, "listed") == 2 && num(j, "added") == 2 && num(j, "removed") == 2, "%s", out);
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "scope")), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN("n1 system keypair:A\n", "--json", "reconcile", "--scope", "user:v") == 0, "scoped reconcile");
  j = parse(out);
  CHECK(num(j, "added") == 0 && num(j, "removed") == 1 && str(j, "scope"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN("just-one-field\n", "reconcile") == 2, "bad list line");
  CHECK(RUN("a compute x,,y\n", "--json", "reconcile") == 2, "empty scope in list");
  j = parse(out);
  CHECK(str(j, "message") && strstr(str(j, "message"), "line 1"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "release", "s1") == 0, "release");
  j = parse(out);
  CHECK(is_true(j, "was_held"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "release", "s1") == 0, "release again");
  j = parse(out);
  CHECK(is_false(j, "was_held"), "%s", out);
  cJSON_Delete(j);

  reconcile_read_errors();
  lease_conversions();

  ms_test_rmtree(dir);
  free(dir);
  free(db);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("mserve-tracker CLI: all checks passed\n");
  return failures ? 1 : 0;
}
