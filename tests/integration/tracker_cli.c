/* Integration: the mserve-tracker CLI end to end — exit codes 0/1/2 and the
 * shape of its --json output. argv[1] is the CLI's path. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static int run(const char *input, char *out, size_t cap, const char *const *args) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(in_pipe[1]);
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
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (input && write(in_pipe[1], input, strlen(input)) < 0) perror("write");
  close(in_pipe[1]);
  slurp(out_pipe[0], out, cap);
  slurp(err_pipe[0], err, sizeof err);
  int ws = 0;
  waitpid(pid, &ws, 0);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

#define RUN(input, ...) run((input), out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})

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
                                     "exit status: 0 ok, 1 denied"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    CHECK(strstr(out, cmds[i]) != NULL, "help lacks %s", cmds[i]);
  CHECK(RUN(NULL, NO_DB) == 2 && strstr(err, "usage:") != NULL, "no arguments: %s", err);
  CHECK(RUN(NULL, NO_DB, "used", "x") == 2 && strstr(err, "--db FILE is required") != NULL, "no --db: %s", err);

  CHECK(RUN(NULL, "limit", "keypair:A", "compute", "2") == 0, "limit");
  CHECK(RUN(NULL, "--json", "limit", "keypair:A", "compute") == 0, "limit show");
  j = parse(out);
  CHECK(is_true(j, "ok") && num(j, "limit") == 2, "%s", out);
  cJSON_Delete(j);

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
  CHECK(str(j, "status") && strcmp(str(j, "status"), "MS_ELIMIT") == 0, "%s", out);
  d = cJSON_GetObjectItemCaseSensitive(j, "denial");
  CHECK(d && str(d, "scope") && strcmp(str(d, "scope"), "keypair:A") == 0, "%s", out);
  CHECK(d && num(d, "limit") == 2 && num(d, "used") == 2, "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "admit", "s3", "--scope", "keypair:A") == 1, "text denial");
  CHECK(strstr(out, "denied") != NULL, "%s", out);

  /* text output */
  CHECK(RUN(NULL, "used", "keypair:A") == 0 && strstr(out, "keypair:A compute: 2 of 2"), "used text: %s", out);
  CHECK(RUN(NULL, "limit", "project:p", "system", "unlimited") == 0 && strstr(out, "unlimited"), "%s", out);
  CHECK(RUN(NULL, "--json", "limit", "project:p", "system") == 0, "limit show unlimited");
  j = parse(out);
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "limit")), "%s", out);
  cJSON_Delete(j);
  /* limit 0 admits nothing: a denial, exit 1, with limit 0 and used 0 */
  CHECK(RUN(NULL, "limit", "project:zero", "compute", "0") == 0, "limit 0");
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
  CHECK(RUN(NULL, "--json", "renew", "nobody", "--lease", "5") == 2, "renew unknown");
  j = parse(out);
  CHECK(str(j, "status") && !strcmp(str(j, "status"), "MS_ENOTFOUND") && str(j, "error"), "%s", out);
  cJSON_Delete(j);

  /* errors: 2, with a status and a message */
  CHECK(RUN(NULL, "--json", "admit", "", "--scope", "x") == 2, "empty id");
  j = parse(out);
  CHECK(is_false(j, "ok") && str(j, "status") && !strcmp(str(j, "status"), "MS_EINVAL"), "%s", out);
  CHECK(str(j, "error") && strstr(str(j, "error"), "session id is empty"), "%s", out);
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
      {(const char *const[]){"admit", "", "--scope", "y", NULL}, "MS_EINVAL: tracker: admit: session id is empty"},
      {(const char *const[]){"admit", "x", "--scope", "", NULL}, "tracker: admit 'x': scope #0 is empty"},
      {(const char *const[]){"admit", "x", "--scope", "y", "--class", "gpu", NULL}, "--class 'gpu'"},
      {(const char *const[]){"admit", NULL}, "admit: missing arguments; usage: admit SESSION"},
      {(const char *const[]){"limit", "keypair:A", "compute", "-7", NULL}, "limit '-7'"},
      {(const char *const[]){"limit", "keypair:A", "gpu", "1", NULL}, "class 'gpu'"},
      {(const char *const[]){"limit", "keypair:A", NULL}, "usage: limit SCOPE compute|system"},
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
  CHECK(str(j, "status") && !strcmp(str(j, "status"), "usage"), "%s", out);
  CHECK(str(j, "error") && strstr(str(j, "error"), "frobnicate"), "%s", out);
  cJSON_Delete(j);
  /* a held session asked for with other scopes: a conflict (2), not a denial */
  CHECK(RUN(NULL, "--json", "admit", "s1", "--scope", "keypair:A") == 2, "conflicting retry: %s", out);
  j = parse(out);
  CHECK(str(j, "status") && !strcmp(str(j, "status"), "MS_ECONFLICT"), "%s", out);
  CHECK(str(j, "error") && strstr(str(j, "error"), "different set of scopes"), "%s", out);
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
  CHECK(str(j, "error") && strstr(str(j, "error"), "line 1"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "release", "s1") == 0, "release");
  j = parse(out);
  CHECK(is_true(j, "was_held"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "--json", "release", "s1") == 0, "release again");
  j = parse(out);
  CHECK(is_false(j, "was_held"), "%s", out);
  cJSON_Delete(j);

  ms_test_rmtree(dir);
  free(dir);
  free(db);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("mserve-tracker CLI: all checks passed\n");
  return failures ? 1 : 0;
}
