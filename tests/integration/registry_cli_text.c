/* Integration: mserve-archive and mserve-registry against hostile input.
 *  - create refuses, with the library's own rules and before writing
 *    anything, what the archive's readers would refuse (a version with a
 *    space, durations whose microseconds overflow or pass 2^53, a config
 *    file with a negative timeout, a handler that is not UTF-8);
 *  - text output never carries control characters or bytes that are not
 *    UTF-8 (they are escaped), and --json output is always valid UTF-8 JSON,
 *    whatever the archive, its entry names, its path or the arguments hold;
 *  - mserve-registry's duration flags are checked both ways.
 * argv[1] is mserve-archive, argv[2] mserve-registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registry_testutil.h"
#include "testutil.h"

static const char *archive_cli, *registry_cli;
static char *work;     /* scratch folder of this run */
static char *tmp_dir;  /* TMPDIR of the tools: must stay empty */
static char out[1 << 16], err[1 << 16];

static void slurp(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t k;
  while (len + 1 < cap && (k = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)k;
  buf[len] = '\0';
  close(fd);
}

/* Run a tool with args (NULL-terminated); stdout in `out`, stderr in `err`. */
static int run(const char *tool, const char *const *args) {
  int op[2], ep[2];
  if (pipe(op) || pipe(ep)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(op[1], 1);
    dup2(ep[1], 2);
    close(op[0]);
    close(ep[0]);
    setenv("TMPDIR", tmp_dir, 1);
    const char *argv[64] = {tool};
    int n = 1;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execv(tool, (char *const *)(void *)argv);
    _exit(127);
  }
  close(op[1]);
  close(ep[1]);
  slurp(op[0], out, sizeof out);
  slurp(ep[0], err, sizeof err);
  int ws = 0;
  waitpid(pid, &ws, 0);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

#define RUN(tool, ...) run(tool, (const char *const[]){__VA_ARGS__, NULL})

/* Well-formed UTF-8 (the test's own decoder, independent of the tools'). */
static int is_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (!n) return 0;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    p += n;
  }
  return 1;
}

/* Printable text: UTF-8, and no control character but the line ends. */
static void expect_clean_text(const char *s, const char *what) {
  if (!is_utf8(s)) fail_msg("%s is not UTF-8:\n%s", what, s);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p < 0x20 && *p != '\n') || *p == 0x7F) fail_msg("%s has a raw control 0x%02X:\n%s", what, *p, s);
    if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) fail_msg("%s has a raw C1 control:\n%s", what, s);
  }
}

/* One JSON object per line, valid UTF-8; returns the first one parsed. */
static cJSON *expect_json(const char *s) {
  if (!is_utf8(s)) fail_msg("--json output is not UTF-8:\n%s", s);
  cJSON *o = cJSON_Parse(s);
  if (!cJSON_IsObject(o)) fail_msg("--json output is not a JSON object:\n%s", s);
  return o;
}

/* Entries of a folder (without . and ..). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void setup_dirs(void) {
  work = ms_test_tmpdir("cli-text");
  assert_non_null(work);
  tmp_dir = ms_test_path(work, "tmp");
  assert_int_equal(mkdir(tmp_dir, 0700), 0);
}

static void teardown_dirs(void) {
  ms_test_rmtree(work);
  free(work);
  free(tmp_dir);
}

/* ---- create ---------------------------------------------------------------- */

static void create_refuses_what_readers_refuse(void **state) {
  (void)state;
  setup_dirs();
  char *src = ms_test_path(work, "src"), *outdir = ms_test_path(work, "out");
  assert_int_equal(mkdir(src, 0755), 0);
  assert_int_equal(mkdir(outdir, 0755), 0);
  char *pt = ms_test_path(src, "model.pt");
  assert_int_equal(t_write_text(pt, "weights"), 0);
  char *bad_yaml = ms_test_path(work, "bad.yaml");
  assert_int_equal(t_write_text(bad_yaml, "responseTimeout: -18446744073709\n"), 0);
  char *mar = ms_test_path(outdir, "m.mar");

  static const struct {
    const char *flag, *value;
    int code;
  } bad[] = {
      {"--version", "1 0", 2},                        /* the reader refuses a space */
      {"--response-timeout", "9007199255", 2},         /* 9007199255000000 us > 2^53 */
      {"--response-timeout", "9223372036855", 2},      /* microseconds overflow int64 */
      {"--response-timeout", "99999999999999999999", 2}, /* past int64 as written */
      {"--max-batch-delay", "9223372036854776", 2},
      {"--max-batch-delay", "-1", 2},
      {"--batch-size", " 4", 2},
      {"--handler", "h\xff.py", 2},                    /* not UTF-8 */
      {"--runtime", "py\xc0\x80", 2},                  /* an overlong NUL */
      {"--config-file", NULL, 1},                      /* bad.yaml: a file the reader refuses */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *value = bad[i].value ? bad[i].value : bad_yaml;
    const char *version = strcmp(bad[i].flag, "--version") == 0 ? value : "1.0";
    const char *handler = strcmp(bad[i].flag, "--handler") == 0 ? value : "h.py";
    int code;
    if (strcmp(bad[i].flag, "--version") == 0 || strcmp(bad[i].flag, "--handler") == 0)
      code = RUN(archive_cli, "--json", "create", "--name", "m", "--version", version, "--handler", handler, "--output",
                 mar, src);
    else
      code = RUN(archive_cli, "--json", "create", "--name", "m", "--version", version, "--handler", handler,
                 bad[i].flag, value, "--output", mar, src);
    if (code != bad[i].code) fail_msg("create %s '%s': exit %d, want %d\n%s%s", bad[i].flag, value, code, bad[i].code, out, err);
    cJSON *o = expect_json(out);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "ok")));
    cJSON_Delete(o);
    expect_clean_text(err, "stderr");
    /* Nothing written: no archive, no temporary file beside it, no scratch left. */
    if (count_entries(outdir) != 0) fail_msg("create %s '%s' left files in the output folder", bad[i].flag, value);
    if (count_entries(tmp_dir) != 0) fail_msg("create %s '%s' left files in TMPDIR", bad[i].flag, value);
  }
  /* The messages say why, in the user's terms. */
  assert_int_equal(RUN(archive_cli, "create", "--name", "m", "--version", "1 0", "--handler", "h", "--output", mar, src), 2);
  assert_non_null(strstr(err, "model version '1 0'"));
  assert_null(strstr(err, tmp_dir)); /* the scratch copy is never named */
  assert_int_equal(RUN(archive_cli, "create", "--name", "m", "--version", "1", "--handler", "h", "--config-file", bad_yaml,
                       "--output", mar, src),
                   1);
  assert_non_null(strstr(err, "out of range"));

  /* --force over a good archive with a bad spec keeps the good archive. */
  assert_int_equal(RUN(archive_cli, "create", "--name", "m", "--version", "1", "--handler", "h", "--response-timeout",
                       "9007199254", "--output", mar, src),
                   0);
  assert_int_equal(RUN(archive_cli, "--json", "inspect", mar), 0);
  cJSON *o = expect_json(out);
  cJSON *v = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "settings"), "request_timeout_us"), "value");
  assert_true(cJSON_IsNumber(v));
  assert_true(strstr(out, "\"value\":9007199254000000") != NULL); /* exact, digit for digit */
  cJSON_Delete(o);
  struct stat before, after;
  assert_int_equal(stat(mar, &before), 0);
  assert_int_equal(RUN(archive_cli, "create", "--force", "--name", "m", "--version", "2 0", "--handler", "h", "--output",
                       mar, src),
                   2);
  assert_int_equal(stat(mar, &after), 0);
  assert_int_equal(before.st_ino, after.st_ino);
  assert_int_equal(before.st_size, after.st_size);
  assert_int_equal(count_entries(outdir), 1);
  assert_int_equal(count_entries(tmp_dir), 0);
  free(src), free(outdir), free(pt), free(bad_yaml), free(mar);
  teardown_dirs();
}

/* ---- output ---------------------------------------------------------------- */

/* A .mar whose handler and runtime hold controls and whose entry names hold
 * controls and bytes that are not UTF-8 (all of which the reader accepts). */
static char *hostile_mar(const char *dir, const char *file) {
  char *p = ms_test_path(dir, file);
  const char *man = "{\"runtime\": \"py\\u0085\", \"model\": {\"modelName\": \"evil\", \"modelVersion\": \"1.0\","
                    " \"handler\": \"h\\u001b]0;owned\\u0007.py\"}}";
  /* the handler file is there too: validate checks that the files the
   * manifest names are in the archive */
  t_entry e[4] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                  {"evil\x1b[2J\xff\x07.txt", T_FILE, "x", 0, NULL},
                  {"ok.txt", T_FILE, "y", 0, NULL},
                  {"h\x1b]0;owned\x07.py", T_FILE, "def handle(d, c): return d\n", 0, NULL}};
  assert_int_equal(t_write_archive(p, "zip-store", e, 4), 0);
  return p;
}

static void output_is_escaped_text_and_valid_json(void **state) {
  (void)state;
  setup_dirs();
  char *store = ms_test_path(work, "store");
  assert_int_equal(mkdir(store, 0755), 0);
  char *mar = hostile_mar(store, "evil.mar");

  /* mserve-archive inspect: text, then JSON. */
  assert_int_equal(RUN(archive_cli, "inspect", mar), 0);
  expect_clean_text(out, "inspect text");
  assert_non_null(strstr(out, "h\\x1B]0;owned\\x07.py"));
  assert_non_null(strstr(out, "evil\\x1B[2J\\xFF\\x07.txt"));
  assert_int_equal(RUN(archive_cli, "--json", "inspect", mar), 0);
  cJSON *o = expect_json(out);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "handler")->valuestring, "h\x1b]0;owned\x07.py");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "runtime")->valuestring, "py\xc2\x85");
  cJSON *entries = cJSON_GetObjectItemCaseSensitive(o, "entries");
  int found = 0;
  for (cJSON *it = entries ? entries->child : NULL; it; it = it->next) {
    const char *path = cJSON_GetObjectItemCaseSensitive(it, "path")->valuestring;
    if (strcmp(path, "evil\x1b[2J\xef\xbf\xbd\x07.txt") == 0) found = 1; /* U+FFFD for the stray byte */
  }
  assert_true(found);
  cJSON_Delete(o);
  assert_int_equal(RUN(archive_cli, "validate", mar), 0);
  expect_clean_text(out, "validate text");

  /* mserve-registry: register, list, show, scan (with a broken archive
   * whose file name holds controls and a stray byte). */
  char *db = ms_test_path(work, "reg.db");
  assert_int_equal(RUN(registry_cli, "--db", db, "register", mar), 0);
  expect_clean_text(out, "register text");
  assert_int_equal(RUN(registry_cli, "--db", db, "--json", "show", "evil"), 0);
  o = expect_json(out);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "handler")->valuestring, "h\x1b]0;owned\x07.py");
  cJSON_Delete(o);
  assert_int_equal(RUN(registry_cli, "--db", db, "list"), 0);
  expect_clean_text(out, "list text");
  char *broken = ms_test_path(store, "bad\x1b[31m\xfe.mar");
  assert_int_equal(t_write_text(broken, "not a zip"), 0);
  char *db2 = ms_test_path(work, "scan.db");
  assert_int_equal(RUN(registry_cli, "--db", db2, "scan", store), 1);
  expect_clean_text(out, "scan text");
  expect_clean_text(err, "scan stderr");
  assert_non_null(strstr(out, "bad\\x1B[31m\\xFE.mar"));
  assert_int_equal(RUN(registry_cli, "--db", db2, "--json", "scan", store), 1);
  o = expect_json(out);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "entries")), 2);
  cJSON_Delete(o);

  /* Errors and usage errors quote the arguments: escaped, and valid JSON. */
  assert_int_equal(RUN(archive_cli, "--json", "inspect", broken), 1);
  cJSON_Delete(expect_json(out));
  expect_clean_text(err, "inspect stderr");
  assert_int_equal(RUN(archive_cli, "--json", "frob\x1b\xff"), 2);
  cJSON_Delete(expect_json(out));
  expect_clean_text(err, "usage stderr");
  assert_int_equal(RUN(registry_cli, "--db", db, "--json", "show", "x\x1b\xff"), 1);
  cJSON_Delete(expect_json(out));
  expect_clean_text(err, "show stderr");
  free(store), free(mar), free(db), free(db2), free(broken);
  teardown_dirs();
}

/* ---- mserve-registry flags -------------------------------------------------- */

static void registry_duration_flags_are_checked(void **state) {
  (void)state;
  setup_dirs();
  char *mar = ms_test_path(work, "m.mar");
  assert_int_equal(t_write_mar(mar, "m", "1.0", NULL, NULL), 0);
  char *db = ms_test_path(work, "flags.db");
  static const char *bad[][2] = {
      {"--response-timeout", "9223372036855"},        /* microseconds overflow int64 */
      {"--response-timeout", "99999999999999999999"}, /* past int64 as written */
      {"--response-timeout", "-1"},
      {"--max-batch-delay", "-9223372036854776"},
      {"--max-batch-delay", "9223372036854776"},
      {"--batch-size", "+4"},
      {"--max-workers", "4x"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int code = RUN(registry_cli, "--db", db, "--json", "register", mar, bad[i][0], bad[i][1]);
    if (code != 2) fail_msg("register %s %s: exit %d\n%s%s", bad[i][0], bad[i][1], code, out, err);
    cJSON_Delete(expect_json(out));
  }
  assert_int_equal(RUN(registry_cli, "--db", db, "--json", "list"), 0);
  cJSON *o = expect_json(out);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "models")), 0); /* nothing registered */
  cJSON_Delete(o);
  /* The largest value the library keeps is exact; one more second is refused. */
  assert_int_equal(RUN(registry_cli, "--db", db, "register", mar, "--response-timeout", "9007199254"), 0);
  assert_int_equal(RUN(registry_cli, "--db", db, "--json", "show", "m"), 0);
  assert_non_null(strstr(out, "\"value\":9007199254000000"));
  assert_int_equal(RUN(registry_cli, "--db", db, "update", "m", "--response-timeout", "9007199255"), 2);
  assert_non_null(strstr(err, "out of range"));
  free(mar), free(db);
  teardown_dirs();
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MSERVE_ARCHIVE MSERVE_REGISTRY\n", argv[0]);
    return 2;
  }
  archive_cli = argv[1];
  registry_cli = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_refuses_what_readers_refuse),
      cmocka_unit_test(output_is_escaped_text_and_valid_json),
      cmocka_unit_test(registry_duration_flags_are_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
