/* Integration: the command-line tools are one family. Every tool
 * (mserve-tracker, mserve-registry, mserve-archive, mserve-autoscale,
 * mserve-batch, mserve-demo, mserve-server) is run as a user would and checked for what they
 * share:
 *   - --help (with an example and the exit statuses) and --version, anywhere;
 *   - the global options --db, --json, --quiet accepted anywhere on the line;
 *   - exit statuses 0 success, 1 a negative answer, 2 usage error or failure;
 *   - --json: exactly one JSON document on stdout, success or failure, with
 *     the envelope {"ok": bool, "code": "MS_..." and "message" on failure};
 *   - a failed write to stdout (> /dev/full) is a failure (exit 2).
 * argv: TRACKER REGISTRY ARCHIVE AUTOSCALE BATCH DEMO SERVER EXAMPLES_DIR */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mserve.h>

#include "testutil.h"

enum { T_TRACKER, T_REGISTRY, T_ARCHIVE, T_AUTOSCALE, T_BATCH, T_DEMO, T_SERVER, N_TOOLS };
static const char *tool_name[N_TOOLS] = {"mserve-tracker",   "mserve-registry", "mserve-archive",
                                         "mserve-autoscale", "mserve-batch",    "mserve-demo",
                                         "mserve-server"};
static const char *tool_path[N_TOOLS];
static const char *examples;
static char *work;
static char out[1 << 16], err[1 << 16]; /* the last run's stdout and stderr */

static void slurp(const char *path, char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Run tool t with args (NULL-terminated) in the scratch folder, stdout into
 * `stdout_to` (NULL: captured into out). Returns the exit status. */
static int run_to(int t, const char *stdout_to, const char *const *args) {
  char *o = ms_test_path(work, "stdout.txt"), *e = ms_test_path(work, "stderr.txt");
  const char *argv[40];
  int n = 0;
  argv[n++] = tool_path[t];
  for (; args[n - 1] && n < 39; n++) argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fo = open(stdout_to ? stdout_to : o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fi = open("/dev/null", O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || dup2(fi, 0) < 0) _exit(127);
    if (chdir(work) != 0) _exit(127);
    execv(tool_path[t], (char *const *)(void *)argv);
    _exit(127);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  if (!WIFEXITED(ws)) fail_msg("%s was killed by signal %d", tool_name[t], WTERMSIG(ws));
  if (stdout_to) out[0] = '\0';
  else slurp(o, out, sizeof out);
  slurp(e, err, sizeof err);
  unlink(o);
  unlink(e);
  free(o);
  free(e);
  return WEXITSTATUS(ws);
}

#define RUN(t, ...) run_to((t), NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_FULL(t, ...) run_to((t), "/dev/full", (const char *const[]){__VA_ARGS__, NULL})

#define CHECK_RC(expect, rc, what)                                                                     \
  do {                                                                                                 \
    int rc_ = (rc);                                                                                    \
    if (rc_ != (expect))                                                                               \
      fail_msg("%s: exit %d, expected %d\nstdout: %.2000s\nstderr: %.2000s", (what), rc_, (expect), out, err); \
  } while (0)

#define assert_contains(hay, needle)                                                                   \
  do {                                                                                                 \
    if (!strstr((hay), (needle))) fail_msg("expected \"%s\" in:\n%.3000s", (needle), (hay));           \
  } while (0)

/* stdout holds exactly one JSON object (and a final newline): return it. */
static cJSON *one_doc(const char *what) {
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithOpts(out, &end, 0);
  if (!cJSON_IsObject(j)) fail_msg("%s: stdout is not one JSON object:\n%.3000s\nstderr: %.2000s", what, out, err);
  while (end && (*end == '\n' || *end == ' ' || *end == '\r' || *end == '\t')) end++;
  if (end && *end) fail_msg("%s: more than one JSON document on stdout:\n%.3000s", what, out);
  return j;
}

static const char *jstr(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The success envelope: "ok": true, no "code". */
static cJSON *expect_ok_doc(const char *what) {
  cJSON *j = one_doc(what);
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"))) fail_msg("%s: \"ok\" is not true: %.2000s", what, out);
  if (cJSON_GetObjectItemCaseSensitive(j, "code")) fail_msg("%s: a success has a \"code\": %.2000s", what, out);
  return j;
}

/* The failure envelope: "ok": false, "code" an ms_status name (code_prefix
 * when not NULL: "MS_E" matches any), "message" a non-empty string. */
static cJSON *expect_fail_doc(const char *what, const char *code) {
  cJSON *j = one_doc(what);
  if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok"))) fail_msg("%s: \"ok\" is not false: %.2000s", what, out);
  const char *c = jstr(j, "code"), *m = jstr(j, "message");
  if (!c || strncmp(c, "MS_", 3) != 0) fail_msg("%s: \"code\" is not an MS_ status: %.2000s", what, out);
  if (code && strncmp(c, code, strlen(code)) != 0) fail_msg("%s: code %s, expected %s: %.2000s", what, c, code, out);
  if (!m || !*m) fail_msg("%s: no \"message\": %.2000s", what, out);
  return j;
}

static char *wpath(const char *name) { return ms_test_path(work, name); }

/* ---- help and version ----------------------------------------------------- */

static void help_and_version_everywhere(void **state) {
  (void)state;
  char version[128];
  snprintf(version, sizeof version, "(libmserve %s)", ms_version());
  for (int t = 0; t < N_TOOLS; t++) {
    char what[128];
    snprintf(what, sizeof what, "%s --help", tool_name[t]);
    CHECK_RC(0, RUN(t, "--help"), what);
    assert_contains(out, "usage: ");
    assert_contains(out, tool_name[t]);
    assert_contains(out, "example");
    assert_contains(out, "exit status: 0 ");
    assert_contains(out, "1 ");
    assert_contains(out, "2 usage error");
    CHECK_RC(0, RUN(t, "-h"), what);
    /* --help --json: still exactly one document, the text in "help" */
    CHECK_RC(0, RUN(t, "--help", "--json"), what);
    cJSON *hj = expect_ok_doc(what);
    if (!jstr(hj, "help") || !strstr(jstr(hj, "help"), "exit status: 0 "))
      fail_msg("%s --json: no \"help\" text: %s", tool_name[t], out);
    cJSON_Delete(hj);
    snprintf(what, sizeof what, "%s --version", tool_name[t]);
    CHECK_RC(0, RUN(t, "--version"), what);
    assert_contains(out, tool_name[t]);
    assert_contains(out, version);
    /* --version --json: one document with the versions */
    CHECK_RC(0, RUN(t, "--json", "--version"), what);
    cJSON *j = expect_ok_doc(what);
    if (!jstr(j, "tool") || strcmp(jstr(j, "tool"), tool_name[t]) != 0 || !jstr(j, "library") ||
        strcmp(jstr(j, "library"), ms_version()) != 0)
      fail_msg("%s: \"tool\" and \"library\" are not %s and %s: %s", what, tool_name[t], ms_version(), out);
    cJSON_Delete(j);
    /* nothing at all: a usage error, the usage on stderr */
    snprintf(what, sizeof what, "%s (no arguments)", tool_name[t]);
    if (t != T_DEMO) {
      CHECK_RC(2, RUN(t, (const char *)NULL), what);
      assert_contains(err, "usage: ");
    }
  }
  /* --help after a command, or among its options */
  CHECK_RC(0, RUN(T_TRACKER, "admit", "s", "--help"), "tracker admit --help");
  assert_contains(out, "usage: mserve-tracker");
  CHECK_RC(0, RUN(T_REGISTRY, "show", "x", "--help"), "registry show --help");
  CHECK_RC(0, RUN(T_ARCHIVE, "validate", "x.mar", "--help"), "archive validate --help");
  CHECK_RC(0, RUN(T_AUTOSCALE, "replay", "--help"), "autoscale replay --help");
  CHECK_RC(0, RUN(T_BATCH, "x.csv", "--help"), "batch x.csv --help");
  /* the demo's --help is help, never a folder named "--help" */
  CHECK_RC(0, RUN(T_DEMO, "--help"), "demo --help");
  char *bogus = wpath("--help");
  struct stat sb;
  assert_int_not_equal(stat(bogus, &sb), 0);
  free(bogus);
  /* --version after a command too */
  CHECK_RC(0, RUN(T_TRACKER, "used", "x", "--version"), "tracker used x --version");
  assert_contains(out, version);
  CHECK_RC(0, RUN(T_ARCHIVE, "inspect", "x.mar", "--version"), "archive inspect x.mar --version");
  assert_contains(out, version);
}

/* ---- usage errors ---------------------------------------------------------- */

static void usage_errors_are_one_json_document(void **state) {
  (void)state;
  static const char *const bogus[N_TOOLS][3] = {
      {"--db", "u.db", "frobnicate"}, {"--db", "u.db", "frobnicate"}, {"frobnicate", "x", NULL},
      {"frobnicate", NULL, NULL},     {"--frobnicate", NULL, NULL},   {"--frobnicate", NULL, NULL},
      {"--model-store", ".", "--frobnicate"},
  };
  for (int t = 0; t < N_TOOLS; t++) {
    const char *a[6] = {"--json", bogus[t][0], bogus[t][1], bogus[t][2], NULL, NULL};
    char what[128];
    snprintf(what, sizeof what, "%s --json %s", tool_name[t], bogus[t][0]);
    CHECK_RC(2, run_to(t, NULL, a), what);
    cJSON *j = expect_fail_doc(what, "MS_EINVAL");
    cJSON_Delete(j);
    /* the same in text: nothing on stdout, the message and a hint on stderr */
    CHECK_RC(2, run_to(t, NULL, a + 1), what);
    assert_string_equal(out, "");
    assert_contains(err, tool_name[t]);
    assert_contains(err, "--help");
  }
  /* a tool that keeps no store refuses --db instead of ignoring it */
  CHECK_RC(2, RUN(T_ARCHIVE, "--db", "x.db", "--json", "inspect", "x.mar"), "archive --db");
  cJSON_Delete(expect_fail_doc("archive --db", "MS_EINVAL"));
  CHECK_RC(2, RUN(T_DEMO, "--db", "x.db"), "demo --db");
  assert_contains(err, "--db");
}

/* ---- the tracker ----------------------------------------------------------- */

static void tracker_envelope_and_exit_codes(void **state) {
  (void)state;
  char *db = wpath("t.db");
  /* global options anywhere, the class always as --class */
  CHECK_RC(0, RUN(T_TRACKER, "limit", "k:A", "1", "--class", "compute", "--db", db), "limit k:A 1");
  CHECK_RC(0, RUN(T_TRACKER, "admit", "s1", "--json", "--scope", "k:A", "--db", db), "admit s1");
  cJSON *j = expect_ok_doc("admit s1");
  assert_string_equal(jstr(j, "tool"), "mserve-tracker");
  assert_string_equal(jstr(j, "command"), "admit");
  cJSON_Delete(j);
  /* denied: 1, ok false, code MS_ELIMIT, the denial */
  CHECK_RC(1, RUN(T_TRACKER, "admit", "s2", "--scope", "k:A", "--db", db, "--json"), "admit s2 denied");
  j = expect_fail_doc("admit s2 denied", "MS_ELIMIT");
  assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "denial"));
  cJSON_Delete(j);
  /* not found: 1 (a negative answer), as in every tool */
  CHECK_RC(1, RUN(T_TRACKER, "--json", "renew", "nobody", "--lease", "5", "--db", db), "renew nobody");
  cJSON_Delete(expect_fail_doc("renew nobody", "MS_ENOTFOUND"));
  /* a conflict is a negative answer too, not a usage error */
  CHECK_RC(1, RUN(T_TRACKER, "--json", "--db", db, "admit", "s1", "--scope", "k:B"), "conflicting retry");
  cJSON_Delete(expect_fail_doc("conflicting retry", "MS_ECONFLICT"));
  /* a store that cannot be opened: 2 */
  char *junk = wpath("junk.db");
  assert_int_equal(ms_test_write_file(junk, "not sqlite, not at all, really not", 34), 0);
  CHECK_RC(2, RUN(T_TRACKER, "--json", "--db", junk, "used", "x"), "junk store");
  cJSON_Delete(expect_fail_doc("junk store", "MS_ECORRUPT"));
  /* --quiet: the exit status says it all */
  CHECK_RC(0, RUN(T_TRACKER, "--quiet", "--db", db, "release", "s1"), "release --quiet");
  assert_string_equal(out, "");
  CHECK_RC(0, RUN(T_TRACKER, "--db", db, "-q", "--json", "used", "k:A"), "used -q --json");
  cJSON_Delete(expect_ok_doc("used -q --json"));
  /* stdout that cannot be written: 2 with the cause */
  CHECK_RC(2, RUN_FULL(T_TRACKER, "--db", db, "used", "k:A"), "used > /dev/full");
  assert_contains(err, "stdout");
  CHECK_RC(2, RUN_FULL(T_TRACKER, "--db", db, "--json", "used", "k:A"), "--json used > /dev/full");
  free(junk);
  free(db);
}

/* ---- mserve-archive and mserve-registry ---------------------------------- */

static char *make_archive(const char *name) {
  char *src = wpath("src");
  mkdir(src, 0755);
  char *h = ms_test_path(src, "handler.py");
  assert_int_equal(ms_test_write_file(h, "def handle(d, c):\n    return d\n", 31), 0);
  char *mar = wpath(name);
  int rc = RUN(T_ARCHIVE, "create", "--model-name", "echo", "--version", "1.0", "--handler", h, "--output", mar, "-f");
  CHECK_RC(0, rc, "create echo");
  free(h);
  free(src);
  return mar;
}

static void archive_and_registry_envelope(void **state) {
  (void)state;
  char *mar = make_archive("echo.mar");
  CHECK_RC(0, RUN(T_ARCHIVE, "inspect", mar, "--json"), "inspect --json after");
  cJSON *j = expect_ok_doc("inspect");
  assert_string_equal(jstr(j, "command"), "inspect");
  cJSON_Delete(j);
  CHECK_RC(0, RUN(T_ARCHIVE, "validate", "--json", mar), "validate");
  cJSON_Delete(expect_ok_doc("validate"));
  /* an invalid archive: 1 */
  char *junk = wpath("junk.mar");
  assert_int_equal(ms_test_write_file(junk, "not a zip archive at all", 24), 0);
  CHECK_RC(1, RUN(T_ARCHIVE, "validate", junk, "--json"), "validate junk");
  cJSON_Delete(expect_fail_doc("validate junk", "MS_E"));
  CHECK_RC(1, RUN(T_ARCHIVE, "--json", "inspect", "nope.mar"), "inspect nope.mar");
  cJSON_Delete(expect_fail_doc("inspect nope.mar", "MS_ENOTFOUND"));
  CHECK_RC(2, RUN_FULL(T_ARCHIVE, "inspect", mar), "inspect > /dev/full");

  char *db = wpath("r.db"), *store = wpath("store");
  mkdir(store, 0755);
  char *in_store = ms_test_path(store, "echo.mar");
  assert_int_equal(rename(mar, in_store), 0);
  CHECK_RC(0, RUN(T_REGISTRY, "scan", store, "--db", db, "--json"), "scan");
  j = expect_ok_doc("scan");
  assert_string_equal(jstr(j, "command"), "scan");
  cJSON_Delete(j);
  CHECK_RC(0, RUN(T_REGISTRY, "list", "--json", "--db", db), "list");
  cJSON_Delete(expect_ok_doc("list"));
  CHECK_RC(1, RUN(T_REGISTRY, "show", "nosuch", "--db", db, "--json"), "show nosuch");
  cJSON_Delete(expect_fail_doc("show nosuch", "MS_ENOTFOUND"));
  /* a scan with a failed archive: ok false (not true), exit 1 */
  char *broken = ms_test_path(store, "broken.mar");
  assert_int_equal(ms_test_write_file(broken, "not a zip", 9), 0);
  CHECK_RC(1, RUN(T_REGISTRY, "--json", "--db", db, "scan", store), "scan with a broken archive");
  j = expect_fail_doc("scan with a broken archive", "MS_E");
  assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "entries"));
  cJSON_Delete(j);
  CHECK_RC(0, RUN(T_REGISTRY, "--quiet", "--db", db, "list"), "list --quiet");
  assert_string_equal(out, "");
  CHECK_RC(2, RUN_FULL(T_REGISTRY, "--db", db, "list"), "list > /dev/full");
  assert_contains(err, "stdout");
  free(broken);
  free(in_store);
  free(store);
  free(db);
  free(junk);
  free(mar);
}

/* ---- mserve-autoscale and mserve-batch ----------------------------------- */

static void autoscale_and_batch_envelope(void **state) {
  (void)state;
  char rules[4096], obs[4096], csv[4096];
  snprintf(rules, sizeof rules, "%s/mserve-autoscale/samples/gpu-util.json", examples);
  snprintf(obs, sizeof obs, "%s/mserve-autoscale/samples/gpu-util.csv", examples);
  snprintf(csv, sizeof csv, "%s/mserve-batch/samples/bursty.csv", examples);
  CHECK_RC(0, RUN(T_AUTOSCALE, "--json", "replay", "--rules", rules, "--observations", obs), "replay --json");
  cJSON *j = expect_ok_doc("replay --json");
  assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "decisions"));
  cJSON_Delete(j);
  /* bad input: 2, and still one JSON document (nothing was printed before) */
  char *bad = wpath("bad.json");
  assert_int_equal(ms_test_write_file(bad, "{\"endpoints\": 3}", 16), 0);
  CHECK_RC(2, RUN(T_AUTOSCALE, "replay", "--rules", bad, "--observations", obs, "--json"), "replay bad rules");
  j = expect_fail_doc("replay bad rules", "MS_E");
  assert_contains(jstr(j, "message"), "bad.json");
  cJSON_Delete(j);
  CHECK_RC(2, RUN(T_AUTOSCALE, "replay", "--rules", rules, "--json"), "replay without observations");
  cJSON_Delete(expect_fail_doc("replay without observations", "MS_EINVAL"));
  CHECK_RC(0, RUN(T_AUTOSCALE, "replay", "--quiet", "--rules", rules, "--observations", obs), "replay --quiet");
  assert_string_equal(out, "");
  CHECK_RC(2, RUN_FULL(T_AUTOSCALE, "replay", "--rules", rules, "--observations", obs), "replay > /dev/full");

  /* a replay where every request runs: 0; one where some time out: 1 */
  char *ok_csv = wpath("arrivals.csv");
  static const char arrivals[] = "time_us,items\n0,1\n1000,2\n2500,1\n";
  assert_int_equal(ms_test_write_file(ok_csv, arrivals, sizeof arrivals - 1), 0);
  CHECK_RC(0, RUN(T_BATCH, ok_csv, "--batch-size", "8", "--max-batch-delay", "5", "--json"), "batch --json");
  cJSON_Delete(expect_ok_doc("batch --json"));
  CHECK_RC(1, RUN(T_BATCH, "--json", csv, "--batch-size", "8", "--max-batch-delay", "5"), "batch with timeouts");
  cJSON_Delete(expect_fail_doc("batch with timeouts", "MS_ETIMEDOUT"));
  /* a store that is not there keeps the work from being done (2); a model
   * that is not in it is a negative answer (1) */
  CHECK_RC(2, RUN(T_BATCH, "--json", "--db", "nope.db", "--model", "m", ok_csv), "batch --db nope.db");
  cJSON_Delete(expect_fail_doc("batch --db nope.db", "MS_ENOTFOUND"));
  CHECK_RC(0, RUN(T_REGISTRY, "--db", "models.db", "list"), "an empty registry");
  CHECK_RC(1, RUN(T_BATCH, ok_csv, "--model", "nosuch", "--json", "--db", "models.db"), "batch --model nosuch");
  cJSON_Delete(expect_fail_doc("batch --model nosuch", "MS_ENOTFOUND"));
  CHECK_RC(0, RUN(T_BATCH, "--quiet", ok_csv, "--batch-size", "8"), "batch --quiet");
  assert_string_equal(out, "");
  CHECK_RC(2, RUN_FULL(T_BATCH, ok_csv, "--batch-size", "8"), "batch > /dev/full");
  free(ok_csv);
  free(bad);
}

/* ---- mserve-demo ------------------------------------------------------------ */

static void demo_folder_and_reruns(void **state) {
  (void)state;
  char *dir = wpath("demo/nested");
  /* the folder (and its parent) is created, and a second run into it works */
  CHECK_RC(0, RUN(T_DEMO, dir), "demo DIR");
  assert_contains(out, "demo: all parts OK");
  CHECK_RC(0, RUN(T_DEMO, dir), "demo DIR again");
  assert_contains(out, "demo: all parts OK");
  CHECK_RC(0, RUN(T_DEMO, "--json", dir), "demo --json DIR");
  cJSON *j = expect_ok_doc("demo --json");
  assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "parts"));
  cJSON_Delete(j);
  /* a folder that cannot be made: the demo's own message, exit 2 */
  char *file = wpath("plain-file");
  assert_int_equal(ms_test_write_file(file, "x", 1), 0);
  char *under = ms_test_path(file, "sub");
  CHECK_RC(2, RUN(T_DEMO, "--json", under), "demo under a file");
  j = expect_fail_doc("demo under a file", "MS_E");
  assert_contains(jstr(j, "message"), "plain-file");
  cJSON_Delete(j);
  CHECK_RC(2, RUN_FULL(T_DEMO, dir), "demo > /dev/full");
  free(under);
  free(file);
  free(dir);
}

/* ---- the server: what it shares with the family before it serves ----------- */

static void server_envelope(void **state) {
  (void)state;
  char *missing = wpath("no-such-store");
  CHECK_RC(2, RUN(T_SERVER, "--json", "--model-store", missing), "server on a missing store");
  cJSON_Delete(expect_fail_doc("server on a missing store", "MS_ENOTFOUND"));
  CHECK_RC(2, RUN(T_SERVER, "--model-store", ".", "--inference-address", "nowhere:80", "--json"),
           "server --inference-address nowhere:80");
  cJSON_Delete(expect_fail_doc("server --inference-address", "MS_EINVAL"));
  CHECK_RC(2, RUN(T_SERVER, "--model-store", ".", "--limits", missing, "--json"), "server --limits missing");
  cJSON_Delete(expect_fail_doc("server --limits missing", "MS_ECORRUPT"));
  free(missing);
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s TRACKER REGISTRY ARCHIVE AUTOSCALE BATCH DEMO SERVER EXAMPLES_DIR\n", argv[0]);
    return 2;
  }
  for (int t = 0; t < N_TOOLS; t++) tool_path[t] = argv[1 + t];
  examples = argv[8];
  work = ms_test_tmpdir("cli-family");
  if (!work) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(help_and_version_everywhere),
      cmocka_unit_test(usage_errors_are_one_json_document),
      cmocka_unit_test(tracker_envelope_and_exit_codes),
      cmocka_unit_test(archive_and_registry_envelope),
      cmocka_unit_test(autoscale_and_batch_envelope),
      cmocka_unit_test(demo_folder_and_reruns),
      cmocka_unit_test(server_envelope),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ms_test_rmtree(work);
  free(work);
  return rc;
}
