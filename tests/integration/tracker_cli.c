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

#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (!(cond)) {                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                            \
      fputc('\n', stderr);                                     \
      failures++;                                              \
    }                                                          \
  } while (0)

/* Run the CLI with `args` (NULL-terminated, after "--db FILE"), feeding
 * `input` on stdin; returns the exit code and the captured stdout. */
static int run(const char *input, char *out, size_t cap, const char *const *args) {
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[1]);
    close(out_pipe[0]);
    const char *argv[32] = {cli_path, "--db", db};
    int n = 3;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execv(cli_path, (char *const *)(void *)argv);
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (input && write(in_pipe[1], input, strlen(input)) < 0) perror("write");
  close(in_pipe[1]);
  size_t len = 0;
  ssize_t k;
  while (len + 1 < cap && (k = read(out_pipe[0], out + len, cap - 1 - len)) > 0) len += (size_t)k;
  out[len] = '\0';
  close(out_pipe[0]);
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

  /* --help: 0, text */
  CHECK(RUN(NULL, "--help") == 0, "--help");
  CHECK(strstr(out, "usage:") != NULL, "help text: %s", out);

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
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "denial");
  CHECK(d && str(d, "scope") && strcmp(str(d, "scope"), "keypair:A") == 0, "%s", out);
  CHECK(d && num(d, "limit") == 2 && num(d, "used") == 2, "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "admit", "s3", "--scope", "keypair:A") == 1, "text denial");
  CHECK(strstr(out, "denied") != NULL, "%s", out);

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
  CHECK(RUN(NULL, "admit", "x") == 2, "no scope");
  CHECK(RUN(NULL, "admit", "x", "--scope", "y", "--lease", "-1") == 2, "negative lease");
  CHECK(RUN(NULL, "--json", "frobnicate") == 2, "unknown command");
  j = parse(out);
  CHECK(str(j, "status") && !strcmp(str(j, "status"), "usage"), "%s", out);
  cJSON_Delete(j);
  CHECK(RUN(NULL, "limit", "keypair:A", "compute", "-7") == 2, "bad limit");
  CHECK(RUN(NULL, "used", "keypair:A", "--class", "gpu") == 2, "bad class");

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
