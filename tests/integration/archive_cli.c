/* Integration: TorchServe's files and flags through mserve-archive and
 * mserve-registry, as a TorchServe operator uses them:
 *   - create takes torch-model-archiver's flags with their meaning
 *     (--model-name, --version, --serialized-file, --model-file, --handler,
 *     --extra-files, --requirements-file, --config-file, --runtime,
 *     --archive-format default|zip-store|tgz|no-archive, --export-path,
 *     -f/--force); --output x.tar.gz writes a tar.gz; a --config-file that
 *     is the folder's own file is fine;
 *   - validate fails an archive whose manifest names a file it lacks;
 *   - materialize prints the extracted folder;
 *   - settings as TorchServe users know them: the flag's unit next to the
 *     canonical key, --clear in any spelling, min_workers > max_workers
 *     refused.
 * argv: MSERVE_ARCHIVE MSERVE_REGISTRY */
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

#include "registry_testutil.h"
#include "testutil.h"

static const char *archive_cli, *registry_cli;
static char *work;
static char out[1 << 16], err[1 << 16];

static void slurp(const char *path, char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Run tool with args in the scratch folder; the exit status. */
static int run(const char *tool, const char *const *args) {
  char *o = ms_test_path(work, ".stdout"), *e = ms_test_path(work, ".stderr");
  const char *argv[48];
  int n = 0;
  argv[n++] = tool;
  for (; args[n - 1] && n < 47; n++) argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || chdir(work) != 0) _exit(127);
    execv(tool, (char *const *)(void *)argv);
    _exit(127);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFEXITED(ws));
  slurp(o, out, sizeof out);
  slurp(e, err, sizeof err);
  unlink(o), unlink(e);
  free(o), free(e);
  return WEXITSTATUS(ws);
}

#define ARCHIVE(...) run(archive_cli, (const char *const[]){__VA_ARGS__, NULL})
#define REGISTRY(...) run(registry_cli, (const char *const[]){__VA_ARGS__, NULL})
#define CHECK_RC(expect, rc, what)                                                                             \
  do {                                                                                                         \
    int rc_ = (rc);                                                                                            \
    if (rc_ != (expect)) fail_msg("%s: exit %d, expected %d\nstdout: %.2000s\nstderr: %.2000s", (what), rc_, (expect), out, err); \
  } while (0)
#define assert_contains(hay, needle)                                                                   \
  do {                                                                                                 \
    if (!strstr((hay), (needle))) fail_msg("expected \"%s\" in:\n%.3000s", (needle), (hay));           \
  } while (0)

static char *wp(const char *name) { return ms_test_path(work, name); }

static void write_in(const char *name, const char *text) {
  char *p = wp(name);
  assert_int_equal(t_write_text(p, text), 0);
  free(p);
}

/* The first bytes of a file. */
static void magic(const char *name, unsigned char *buf, size_t n) {
  char *p = wp(name);
  FILE *f = fopen(p, "rb");
  if (!f) fail_msg("%s was not written", name);
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  free(p);
  assert_int_equal(got, n);
}

/* Every entry name of an archive (zip or tar.gz), one a line. */
static void entries(const char *name, char *buf, size_t cap) {
  char *p = wp(name);
  struct archive *a = archive_read_new();
  archive_read_support_format_zip(a);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  assert_int_equal(archive_read_open_filename(a, p, 65536), ARCHIVE_OK);
  struct archive_entry *e;
  size_t len = 0;
  buf[0] = '\0';
  while (archive_read_next_header(a, &e) == ARCHIVE_OK)
    len += (size_t)snprintf(buf + len, cap - len, "%s\n", archive_entry_pathname(e));
  archive_read_free(a);
  free(p);
}

static void setup_model_files(void) {
  mkdir(work, 0755);
  char *m = wp("model");
  mkdir(m, 0755);
  free(m);
  write_in("model/handler.py", "def handle(data, context):\n    return data\n");
  write_in("model/model.pt", "weights");
  write_in("model/model.py", "class Net: pass\n");
  write_in("model/requirements.txt", "numpy\n");
  write_in("model/index_to_name.json", "{\"0\": \"cat\"}\n");
  char *x = wp("extra");
  mkdir(x, 0755);
  free(x);
  write_in("extra/vocab.txt", "a\nb\n");
  write_in("model/model-config.yaml", "minWorkers: 1\nmaxWorkers: 2\nbatchSize: 4\nmaxBatchDelay: 20\n");
}

/* torch-model-archiver's command line, unchanged */
static void torch_model_archiver_flags(void **state) {
  (void)state;
  setup_model_files();
  char *store = wp("model-store");
  mkdir(store, 0755);
  CHECK_RC(0,
           ARCHIVE("create", "--model-name", "resnet", "--version", "1.0", "--serialized-file", "model/model.pt",
                   "--model-file", "model/model.py", "--handler", "model/handler.py", "--extra-files",
                   "model/index_to_name.json,extra", "--requirements-file", "model/requirements.txt",
                   "--config-file", "model/model-config.yaml", "--runtime", "python", "--export-path", "model-store"),
           "create with torch-model-archiver's flags");
  unsigned char mg[4];
  magic("model-store/resnet.mar", mg, 2);
  assert_true(mg[0] == 'P' && mg[1] == 'K'); /* --archive-format default: a zip */
  char list[8192];
  entries("model-store/resnet.mar", list, sizeof list);
  static const char *const want[] = {"model.pt\n", "model.py\n", "handler.py\n", "index_to_name.json\n",
                                     "vocab.txt\n", "requirements.txt\n", "model-config.yaml\n",
                                     "MAR-INF/MANIFEST.json\n"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) assert_contains(list, want[i]);
  /* the manifest names each file by its place in the archive */
  CHECK_RC(0, ARCHIVE("inspect", "--json", "model-store/resnet.mar"), "inspect");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "handler")->valuestring, "handler.py");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "loadable")));
  cJSON_Delete(j);
  CHECK_RC(0, ARCHIVE("validate", "model-store/resnet.mar"), "validate");
  /* an existing archive is refused without -f, replaced with it */
  CHECK_RC(1, ARCHIVE("create", "--model-name", "resnet", "--version", "1.0", "--handler", "model/handler.py",
                      "--export-path", "model-store"),
           "create over an existing archive");
  assert_contains(err, "MS_EEXIST");
  CHECK_RC(0, ARCHIVE("create", "--model-name", "resnet", "--version", "1.1", "--handler", "model/handler.py",
                      "--export-path", "model-store", "-f"),
           "create -f");
  /* --archive-format tgz: <name>.tar.gz, a gzip stream */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "resnet", "--version", "1.0", "--handler", "model/handler.py",
                      "--serialized-file", "model/model.pt", "--archive-format", "tgz", "--export-path", "model-store"),
           "create --archive-format tgz");
  magic("model-store/resnet.tar.gz", mg, 2);
  assert_true(mg[0] == 0x1f && mg[1] == 0x8b);
  CHECK_RC(0, ARCHIVE("validate", "model-store/resnet.tar.gz"), "validate the tar.gz");
  /* zip-store: a zip whose entries are stored */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "stored", "--version", "1.0", "--handler", "model/handler.py",
                      "--archive-format", "zip-store", "--export-path", "model-store"),
           "create --archive-format zip-store");
  magic("model-store/stored.mar", mg, 4);
  assert_true(mg[0] == 'P' && mg[1] == 'K');
  CHECK_RC(0, ARCHIVE("validate", "model-store/stored.mar"), "validate the stored zip");
  /* no-archive: a folder <export-path>/<model-name> with MAR-INF/MANIFEST.json */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "plain", "--version", "2.0", "--handler", "model/handler.py",
                      "--serialized-file", "model/model.pt", "--archive-format", "no-archive", "--export-path",
                      "model-store"),
           "create --archive-format no-archive");
  struct stat sb;
  char *man = wp("model-store/plain/MAR-INF/MANIFEST.json"), *pt = wp("model-store/plain/model.pt");
  assert_int_equal(stat(man, &sb), 0);
  assert_int_equal(stat(pt, &sb), 0);
  CHECK_RC(0, ARCHIVE("validate", "model-store/plain"), "validate the folder");
  CHECK_RC(1, ARCHIVE("create", "--model-name", "plain", "--version", "2.0", "--handler", "model/handler.py",
                      "--archive-format", "no-archive", "--export-path", "model-store"),
           "create over an existing folder");
  CHECK_RC(0, ARCHIVE("create", "--model-name", "plain", "--version", "2.1", "--handler", "model/handler.py",
                      "--archive-format", "no-archive", "--export-path", "model-store", "--force"),
           "create --force over a folder");
  assert_int_not_equal(stat(pt, &sb), 0); /* the old folder's files are gone */
  /* every one of them registers */
  CHECK_RC(0, REGISTRY("--db", "models.db", "scan", "model-store", "--json"), "scan the store");
  j = cJSON_Parse(out);
  assert_non_null(j);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
  cJSON_Delete(j);
  /* a handler name (a built-in) is written as given, not looked for */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "builtin", "--version", "1", "--handler", "image_classifier",
                      "--serialized-file", "model/model.pt", "--export-path", "."),
           "create with a built-in handler");
  CHECK_RC(0, ARCHIVE("validate", "builtin.mar"), "validate a built-in handler");
  /* --export-path: a folder that is missing is made; a refused archive
   * leaves no folder behind */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "deep", "--version", "1", "--handler", "model/handler.py",
                      "--export-path", "fresh/deeper"),
           "create into a missing --export-path");
  char *deep = wp("fresh/deeper/deep.mar"), *never = wp("never");
  assert_int_equal(stat(deep, &sb), 0);
  CHECK_RC(2, ARCHIVE("create", "--model-name", "deep", "--version", "1 0", "--handler", "model/handler.py",
                      "--export-path", "never/made"),
           "a refused create into a missing --export-path");
  assert_int_not_equal(stat(never, &sb), 0);
  free(deep), free(never);
  /* two different files under one name: refused, nothing written */
  write_in("extra/model.pt", "other weights");
  CHECK_RC(1, ARCHIVE("create", "--model-name", "clash", "--version", "1", "--handler", "model/handler.py",
                      "--serialized-file", "model/model.pt", "--extra-files", "extra/model.pt"),
           "two files named model.pt");
  assert_contains(err, "model.pt");
  char *clash = wp("clash.mar");
  assert_int_not_equal(stat(clash, &sb), 0);
  free(clash);
  /* the same file named twice goes in once */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "twice", "--version", "1", "--handler", "model/handler.py",
                      "--serialized-file", "model/model.pt", "--extra-files", "model/model.pt,model/handler.py"),
           "one file named twice");
  free(man), free(pt), free(store);
}

static void output_name_picks_the_format(void **state) {
  (void)state;
  setup_model_files();
  /* --output x.tar.gz: a tar.gz, not a zip with that name */
  CHECK_RC(0, ARCHIVE("create", "--name", "echo", "--version", "1.0", "--handler", "handler.py", "--output",
                      "echo.tar.gz", "model"),
           "create --output echo.tar.gz");
  unsigned char mg[2];
  magic("echo.tar.gz", mg, 2);
  assert_true(mg[0] == 0x1f && mg[1] == 0x8b);
  CHECK_RC(0, ARCHIVE("--json", "validate", "echo.tar.gz"), "validate echo.tar.gz");
  CHECK_RC(0, ARCHIVE("create", "--name", "echo", "--version", "1.0", "--handler", "handler.py", "--output", "echo.tgz",
                      "model"),
           "create --output echo.tgz");
  magic("echo.tgz", mg, 2);
  assert_true(mg[0] == 0x1f && mg[1] == 0x8b);
  /* a name and a format that disagree: a usage error */
  CHECK_RC(2, ARCHIVE("create", "--name", "echo", "--version", "1.0", "--handler", "handler.py", "--output", "x.tar.gz",
                      "--archive-format", "default", "model"),
           "--output x.tar.gz --archive-format default");
  /* --config-file naming the folder's own model-config.yaml is that file */
  CHECK_RC(0, ARCHIVE("create", "--name", "echo", "--version", "2.0", "--handler", "handler.py", "--config-file",
                      "model/model-config.yaml", "--output", "echo2.mar", "model"),
           "--config-file the folder's own");
  CHECK_RC(0, ARCHIVE("inspect", "--json", "echo2.mar"), "inspect echo2.mar");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  cJSON *bs = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "settings"), "batch_size"), "value");
  assert_int_equal(bs->valueint, 4);
  cJSON_Delete(j);
  CHECK_RC(0, ARCHIVE("create", "--name", "echo", "--version", "2.1", "--handler", "handler.py", "--config-file",
                      "model-config.yaml", "--output", "echo21.mar", "model"),
           "--config-file the folder's own, relative to it");
}

/* What TorchServe would fail on at load: a file the manifest names is missing. */
static void validate_checks_named_files(void **state) {
  (void)state;
  mkdir(work, 0755);
  char *mar = wp("missing.mar");
  const char *man = "{\"runtime\": \"python\", \"model\": {\"modelName\": \"m\", \"modelVersion\": \"1.0\","
                    " \"handler\": \"handler.py\", \"serializedFile\": \"model.pt\"}}";
  t_entry e[2] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"handler.py", T_FILE, "x", 0, NULL}};
  assert_int_equal(t_write_archive(mar, "zip", e, 2), 0);
  CHECK_RC(1, ARCHIVE("validate", mar), "validate without the serialized file");
  assert_contains(err, "serializedFile 'model.pt'");
  CHECK_RC(1, ARCHIVE("--json", "validate", mar), "validate --json without the serialized file");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
  assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, "MS_ECORRUPT");
  assert_non_null(strstr(cJSON_GetObjectItem(j, "message")->valuestring, "model.pt"));
  cJSON_Delete(j);
  /* inspect still shows it, with a warning */
  CHECK_RC(0, ARCHIVE("inspect", mar), "inspect without the serialized file");
  assert_contains(out, "warning: ");
  /* a handler file (h.py:fn) that is missing, in a tar.gz */
  char *tgz = wp("nohandler.tar.gz");
  const char *man2 = "{\"runtime\": \"python\", \"model\": {\"modelName\": \"m\", \"modelVersion\": \"1.0\","
                     " \"handler\": \"custom.py:handle\"}}";
  t_entry e2[1] = {{"MAR-INF/MANIFEST.json", T_FILE, man2, 0, NULL}};
  assert_int_equal(t_write_archive(tgz, "tgz", e2, 1), 0);
  CHECK_RC(1, ARCHIVE("validate", tgz), "validate without the handler");
  assert_contains(err, "handler 'custom.py'");
  free(tgz);
  free(mar);
}

static void registry_units_clear_workers_materialize(void **state) {
  (void)state;
  setup_model_files();
  char *store = wp("store");
  mkdir(store, 0755);
  free(store);
  CHECK_RC(0, ARCHIVE("create", "--model-name", "echo", "--version", "1.0", "--handler", "model/handler.py",
                      "--serialized-file", "model/model.pt", "--batch-size", "4", "--max-batch-delay", "20",
                      "--response-timeout", "30", "--export-path", "store"),
           "create echo");
  CHECK_RC(0, REGISTRY("--db", "r.db", "scan", "store"), "scan");
  /* the flag's unit next to the canonical key */
  CHECK_RC(0, REGISTRY("--db", "r.db", "show", "echo"), "show echo");
  assert_contains(out, "max_batch_delay_us");
  assert_contains(out, "= 20 ms");
  assert_contains(out, "= 30 s");
  CHECK_RC(0, REGISTRY("--db", "r.db", "update", "echo", "--max-batch-delay", "5", "--batch-size", "8"), "update");
  assert_contains(out, "= 5 ms");
  /* --clear in any spelling */
  CHECK_RC(0, REGISTRY("--db", "r.db", "--json", "update", "echo", "--clear", "maxBatchDelay", "--clear", "batch-size"),
           "--clear maxBatchDelay --clear batch-size");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  cJSON *s = cJSON_GetObjectItem(j, "settings");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "max_batch_delay_us"), "source")->valuestring,
                      "archive");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "batch_size"), "source")->valuestring, "archive");
  cJSON_Delete(j);
  CHECK_RC(0, REGISTRY("--db", "r.db", "update", "echo", "--max-workers", "4", "--clear", "max_batch_delay"),
           "--clear max_batch_delay");
  /* min_workers above max_workers: refused, nothing changed */
  CHECK_RC(2, REGISTRY("--db", "r.db", "update", "echo", "--min-workers", "5"), "min_workers 5 > max_workers 4");
  assert_contains(err, "max_workers");
  CHECK_RC(2, REGISTRY("--db", "r.db", "update", "echo", "--min-workers", "3", "--max-workers", "2"), "3 > 2");
  CHECK_RC(0, REGISTRY("--db", "r.db", "--json", "show", "echo"), "show after the refusals");
  j = cJSON_Parse(out);
  s = cJSON_GetObjectItem(j, "settings");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "min_workers"), "value")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "max_workers"), "value")->valueint, 4);
  cJSON_Delete(j);
  CHECK_RC(0, REGISTRY("--db", "r.db", "update", "echo", "--min-workers", "4"), "min_workers 4 = max_workers 4");
  /* materialize prints the extracted folder, the same one every time */
  CHECK_RC(0, REGISTRY("--db", "r.db", "materialize", "echo", "--root", "extracted"), "materialize");
  char path[4096];
  size_t plen = strcspn(out, "\n");
  assert_true(plen > 0 && plen < sizeof path);
  memcpy(path, out, plen);
  path[plen] = '\0';
  char *dir = path[0] == '/' ? strdup(path) : ms_test_path(work, path);
  char *mf = ms_test_path(dir, "MAR-INF/MANIFEST.json"), *pt = ms_test_path(dir, "model.pt");
  struct stat sb;
  if (stat(mf, &sb) != 0 || stat(pt, &sb) != 0) fail_msg("materialize printed '%s', which holds no model", path);
  free(mf), free(pt), free(dir);
  CHECK_RC(0, REGISTRY("--db", "r.db", "--json", "materialize", "echo", "1.0", "--root", "extracted"), "again");
  j = cJSON_Parse(out);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring, path);
  cJSON_Delete(j);
  CHECK_RC(2, REGISTRY("--db", "r.db", "materialize", "echo"), "materialize without --root");
  CHECK_RC(1, REGISTRY("--db", "r.db", "materialize", "nosuch", "--root", "extracted"), "materialize nosuch");
}

/* TorchServe's config.properties as the global config: its model_store is
 * what scan reads without a folder, its models= settings apply, and the
 * keys the registry does not use are listed with --verbose. */
static void torchserve_config_properties(void **state) {
  (void)state;
  setup_model_files();
  char *store = wp("models");
  mkdir(store, 0755);
  free(store);
  CHECK_RC(0, ARCHIVE("create", "--model-name", "noop", "--version", "1.11", "--handler", "model/handler.py",
                      "--export-path", "models"),
           "create noop");
  write_in("config.properties",
           "inference_address=http://127.0.0.1:8080\n"
           "model_store=models\n"
           "load_models=noop.mar\n"
           "models={\\\n"
           "  \"noop\": {\\\n"
           "    \"1.11\": {\"defaultVersion\": true, \"marName\": \"noop.mar\", \"minWorkers\": 2,\\\n"
           "             \"maxWorkers\": 3, \"batchSize\": 4, \"maxBatchDelay\": 100, \"responseTimeout\": 120}\\\n"
           "  }\\\n"
           "}\n");
  CHECK_RC(0, REGISTRY("--db", "ts.db", "--global-config", "config.properties", "--verbose", "scan"),
           "scan the config's model_store");
  assert_contains(out, "1 added");
  assert_contains(err, "inference_address");
  assert_contains(err, "is not used");
  CHECK_RC(0, REGISTRY("--db", "ts.db", "--global-config", "config.properties", "show", "noop", "--json", "--verbose"),
           "show noop");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  cJSON *s = cJSON_GetObjectItem(j, "settings");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "min_workers"), "value")->valueint, 2);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "min_workers"), "source")->valuestring, "global");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "max_batch_delay_us"), "value")->valueint, 100000);
  cJSON *unused = cJSON_GetObjectItem(j, "unused_config_keys");
  assert_true(cJSON_IsArray(unused) && cJSON_GetArraySize(unused) >= 1);
  int found = 0;
  for (cJSON *it = unused->child; it; it = it->next)
    found |= strcmp(cJSON_GetObjectItem(it, "key")->valuestring, "inference_address") == 0 &&
             cJSON_GetObjectItem(it, "line")->valueint == 1;
  assert_true(found);
  cJSON_Delete(j);
}

/* What a scan does not register is reported, never skipped in silence:
 * files it does not read, models one level down, two archives of one name
 * and version (a conflict, which alone does not fail the scan); an archive
 * unregistered through the API stays out; show and inspect print every
 * setting the archive carries. */
static void registry_scan_report_and_settings(void **state) {
  (void)state;
  setup_model_files();
  char *d = wp("store");
  mkdir(d, 0755);
  free(d);
  d = wp("store/nested");
  mkdir(d, 0755);
  free(d);
  write_in("extra.yaml", "minWorkers: 1\nmaxWorkers: 1\nclientTimeoutInMills: 5000\nparallelType: pp\n");
  /* two archives of echo 1.0: the later one (or, made in the same second,
   * the first by path) is registered, the other is the conflict */
  CHECK_RC(0, ARCHIVE("create", "--model-name", "echo", "--version", "1.0", "--handler", "model/handler.py",
                      "--output", "store/z-copy.mar"),
           "a first archive of echo 1.0");
  CHECK_RC(0, ARCHIVE("create", "--model-name", "echo", "--version", "1.0", "--handler", "model/handler.py",
                      "--config-file", "extra.yaml", "--export-path", "store"),
           "create echo with TorchServe's other keys");
  /* other settings: shown with their source by inspect and show */
  CHECK_RC(0, ARCHIVE("inspect", "store/echo.mar"), "inspect");
  assert_contains(out, "clientTimeoutInMills");
  assert_contains(out, "parallelType");
  CHECK_RC(0, ARCHIVE("create", "--model-name", "deep", "--version", "1.0", "--handler", "model/handler.py",
                      "--export-path", "store/nested"),
           "a model one level down");
  CHECK_RC(0, ARCHIVE("create", "--model-name", "solo", "--version", "1.0", "--handler", "model/handler.py",
                      "--export-path", "store"),
           "a model of its own");
  write_in("store/model.zip", "PK not really");
  write_in("store/README.txt", "notes");
  CHECK_RC(0, REGISTRY("--db", "s.db", "scan", "store"), "scan: a conflict alone is not a failure");
  assert_contains(out, "conflict");
  assert_contains(out, "z-copy.mar");
  assert_contains(out, "skipped");
  assert_contains(out, "model.zip");
  assert_contains(out, "nested");
  CHECK_RC(0, REGISTRY("--db", "s.db", "--json", "scan", "store"), "scan --json");
  cJSON *j = cJSON_Parse(out);
  assert_non_null(j);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
  assert_int_equal(cJSON_GetObjectItem(j, "conflict")->valueint, 1);
  assert_true(cJSON_GetObjectItem(j, "skipped")->valueint >= 3);
  cJSON_Delete(j);
  CHECK_RC(0, REGISTRY("--db", "s.db", "show", "echo"), "show echo");
  assert_contains(out, "clientTimeoutInMills");
  CHECK_RC(0, REGISTRY("--db", "s.db", "--json", "show", "echo"), "show echo --json");
  j = cJSON_Parse(out);
  cJSON *ct = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "settings"), "clientTimeoutInMills");
  if (!ct) fail_msg("show --json lacks clientTimeoutInMills: %s", out);
  assert_string_equal(cJSON_GetObjectItem(ct, "value")->valuestring, "5000");
  assert_string_equal(cJSON_GetObjectItem(ct, "source")->valuestring, "archive");
  cJSON_Delete(j);
  /* unregister: the next scan leaves the archive out */
  CHECK_RC(0, REGISTRY("--db", "s.db", "unregister", "solo"), "unregister solo");
  CHECK_RC(0, REGISTRY("--db", "s.db", "scan", "store"), "scan after unregister");
  CHECK_RC(1, REGISTRY("--db", "s.db", "show", "solo"), "solo stays unregistered");
}

static int reset(void **state) {
  (void)state;
  ms_test_rmtree(work);
  mkdir(work, 0755);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MSERVE_ARCHIVE MSERVE_REGISTRY\n", argv[0]);
    return 2;
  }
  archive_cli = argv[1];
  registry_cli = argv[2];
  work = ms_test_tmpdir("archive-cli");
  if (!work) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(torch_model_archiver_flags, reset),
      cmocka_unit_test_setup(output_name_picks_the_format, reset),
      cmocka_unit_test_setup(validate_checks_named_files, reset),
      cmocka_unit_test_setup(registry_units_clear_workers_materialize, reset),
      cmocka_unit_test_setup(torchserve_config_properties, reset),
      cmocka_unit_test_setup(registry_scan_report_and_settings, reset),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ms_test_rmtree(work);
  free(work);
  return rc;
}
