/* mserve-demo: exercises every part of libmserve on data it creates in a
 * work folder, and says what happened. The folder is a fresh temporary one
 * (removed afterwards) or the one named on the command line: created when
 * missing (parents too), and emptied of what an earlier run left there, so
 * the demo runs again into the same folder cleanly. A folder that holds
 * other things and was not made by the demo is refused, never emptied. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cli.h"
#include "demo.h"

static const char usage_text[] =
    "usage: mserve-demo [FOLDER]\n"
    "\n"
    "A short tour of every part of libmserve (store, tracker, registry, autoscaler,\n"
    "batcher, executor) on sample data it creates, saying what each call did.\n"
    "\n"
    "FOLDER   where the tour's databases, archives and model go: created when missing\n"
    "         (parents too) and kept afterwards, so they can be looked at; a second run\n"
    "         into it starts afresh (the demo removes what it left there before, marked\n"
    "         by a .mserve-demo file, and refuses a folder that holds other things).\n"
    "         Without FOLDER: a temporary folder, removed at the end.\n"
    "\n"
    "With --json the narration goes to stderr and stdout holds one document:\n"
    "{\"ok\", \"folder\", \"parts\": [{\"part\", \"ok\"}, ...]}.\n"
    "\n"
    "example:\n"
    "  mserve-demo\n"
    "  mserve-demo demo-folder && ls demo-folder\n";

static const char negative[] = "never (a part that fails is a failure, 2)";

static cli_ctx g_cli;

/* The first failure, for the JSON document. */
static char first_code[32], first_msg[2048];

int demo_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vfprintf(g_cli.out, fmt, ap);
  va_end(ap);
  return n;
}

int demo_fail(const char *what, int status) {
  fprintf(stderr, "  %s failed: %s: %s\n", what, ms_status_name(status), ms_errmsg());
  if (!first_code[0]) {
    snprintf(first_code, sizeof first_code, "%s", ms_status_name(status));
    snprintf(first_msg, sizeof first_msg, "%s: %s", what, ms_errmsg());
  }
  return 1;
}

int demo_fail_msg(const char *what, const char *fmt, ...) {
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "  %s failed: %s\n", what, msg);
  if (!first_code[0]) {
    snprintf(first_code, sizeof first_code, "MS_EINTERNAL");
    snprintf(first_msg, sizeof first_msg, "%s: %s", what, msg);
  }
  return 1;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  remove(p);
  return 0;
}

static void rm_tree(const char *p) { nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

#define MARKER ".mserve-demo"

/* What the parts create in the work folder (databases with their -wal,
 * -shm, -mslock and -journal files). */
static const char *const owned[] = {"demo.db",     "not-a-db",  "tracker.db", "registry.db", "models.json",
                                    "model-store", "extracted", "autoscaler.db", "iris_mlp", NULL};

static int path_of(char *buf, size_t cap, const char *dir, const char *name, const char *suffix) {
  return (size_t)snprintf(buf, cap, "%s/%s%s", dir, name, suffix) < cap ? 0 : -1;
}

/* mkdir -p. 0, or -1 with errno set. */
static int make_dirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  struct stat sb;
  if (stat(buf, &sb) != 0) return -1;
  if (!S_ISDIR(sb.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

/* The folder, ready for a run: created, or emptied of an earlier run's
 * files. 0, or the exit status after reporting. */
static int prepare(const char *dir) {
  if (make_dirs(dir) != 0)
    return cli_fail(&g_cli, CLI_EXIT_FAIL, "MS_EIO", "folder '%s': cannot create it: %s", dir, strerror(errno));
  char p[4400];
  struct stat sb;
  int marked = path_of(p, sizeof p, dir, MARKER, "") == 0 && stat(p, &sb) == 0;
  if (!marked) {
    /* never empty a folder the demo did not make */
    int empty = 1;
    for (size_t i = 0; owned[i] && empty; i++)
      if (path_of(p, sizeof p, dir, owned[i], "") == 0 && lstat(p, &sb) == 0) empty = 0;
    if (!empty)
      return cli_fail(&g_cli, CLI_EXIT_FAIL, "MS_EEXIST",
                      "folder '%s' holds files the demo would replace but was not made by it (no %s file); choose "
                      "a new or empty folder",
                      dir, MARKER);
  }
  static const char *const suffixes[] = {"", "-wal", "-shm", "-mslock", "-journal"};
  for (size_t i = 0; owned[i]; i++)
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++)
      if (path_of(p, sizeof p, dir, owned[i], suffixes[k]) == 0 && lstat(p, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) rm_tree(p);
        else unlink(p);
      }
  FILE *f = path_of(p, sizeof p, dir, MARKER, "") == 0 ? fopen(p, "w") : NULL;
  if (!f || fputs("made by mserve-demo: a second run removes what the first one left here\n", f) < 0 || fclose(f) != 0)
    return cli_fail(&g_cli, CLI_EXIT_FAIL, "MS_EIO", "folder '%s': cannot write %s: %s", dir, MARKER,
                    strerror(errno));
  return 0;
}

static const cli_spec spec = {"mserve-demo", NULL, NULL, 0};

int main(int argc, char **argv) {
  char err[512];
  if (cli_init(&g_cli, &spec, argc, argv, err, sizeof err)) return cli_finish(&g_cli, cli_usage(&g_cli, "%s", err));
  if (g_cli.help) return cli_finish(&g_cli, cli_help(&g_cli, usage_text, negative));
  if (g_cli.version) return cli_finish(&g_cli, cli_version(&g_cli));
  const char *folder = NULL;
  for (int i = 0; i < g_cli.argc; i++) {
    const char *a = g_cli.argv[i];
    if (strcmp(a, "--") == 0) continue;
    if (a[0] == '-' && a[1] && !folder) return cli_finish(&g_cli, cli_usage(&g_cli, "unknown option '%s'", a));
    if (folder) return cli_finish(&g_cli, cli_usage(&g_cli, "one FOLDER only (got '%s' too)", a));
    folder = a;
  }
  char tmpl[] = "/tmp/mserve-demo-XXXXXX";
  const char *workdir = folder;
  if (!workdir && !(workdir = mkdtemp(tmpl)))
    return cli_finish(&g_cli, cli_fail(&g_cli, CLI_EXIT_FAIL, "MS_EIO", "mkdtemp %s: %s", tmpl, strerror(errno)));
  if (folder) {
    int rc = prepare(folder);
    if (rc) return cli_finish(&g_cli, rc);
  }
  demo_printf("libmserve %s demo (work folder %s)\n", ms_version(), workdir);
  static const struct {
    const char *name;
    int (*run)(const char *);
  } parts[] = {{"store", demo_store},           {"tracker", demo_tracker}, {"registry", demo_registry},
               {"autoscaler", demo_autoscaler}, {"batcher", demo_batcher}, {"executor", demo_executor}};
  int failed = 0, ok[6];
  for (size_t i = 0; i < 6; i++) {
    ok[i] = parts[i].run(workdir) == 0;
    failed += !ok[i];
  }
  if (!folder) rm_tree(workdir);
  demo_printf(failed ? "demo: FAILED\n" : "demo: all parts OK\n");
  int rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
  if (g_cli.json) {
    cJSON *doc = failed ? cli_doc_fail(&g_cli, rc, first_code[0] ? first_code : "MS_EINTERNAL",
                                       first_msg[0] ? first_msg : "a part of the demo failed")
                        : cli_doc(&g_cli);
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "parts") : NULL;
    if (doc) {
      if (folder) cli_json_str(doc, "folder", folder);
      else cJSON_AddNullToObject(doc, "folder");
    }
    for (size_t i = 0; arr && i < 6; i++) {
      cJSON *p = cJSON_CreateObject();
      if (!p) break;
      cJSON_AddStringToObject(p, "part", parts[i].name);
      cJSON_AddBoolToObject(p, "ok", ok[i]);
      cJSON_AddItemToArray(arr, p);
    }
    rc = cli_emit(&g_cli, doc, rc);
  } else if (failed) {
    fprintf(stderr, "mserve-demo: %d part%s failed (first: %s)\n", failed, failed == 1 ? "" : "s",
            first_msg[0] ? first_msg : "?");
  }
  return cli_finish(&g_cli, rc);
}
