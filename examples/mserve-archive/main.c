/* mserve-archive: inspect, validate and create TorchServe/MMS model archives.
 *
 *   mserve-archive [--json] [--global-config FILE] inspect ARCHIVE
 *   mserve-archive [--json] [--global-config FILE] validate ARCHIVE
 *   mserve-archive [--json] create --name N --version V --handler H [...] --output OUT.mar SRC_DIR
 *
 * Exit codes: 0 ok, 1 the archive is bad (or OUT exists), 2 usage or system error. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mar_write.h"
#include "model_print.h"

static const char *TOOL = "mserve-archive";

static void usage(FILE *out) {
  fprintf(out,
          "usage: mserve-archive [--json] [--global-config FILE] inspect ARCHIVE\n"
          "       mserve-archive [--json] [--global-config FILE] validate ARCHIVE\n"
          "       mserve-archive [--json] create --name N --version V --handler H [--runtime R]\n"
          "                      [--batch-size N] [--max-batch-delay MS] [--response-timeout S]\n"
          "                      [--min-workers N] [--max-workers N] [--model-file F]\n"
          "                      [--serialized-file F] [--config-file model-config.yaml]\n"
          "                      [--force] --output OUT.mar SRC_DIR\n"
          "\n"
          "inspect   print the manifest, every setting with its value and source, and the entries\n"
          "validate  check the manifest and config, and extract into a scratch folder to check\n"
          "          every entry is safe (no absolute paths, '..', links or devices, size limits)\n"
          "create    write OUT.mar (zip deflate, TorchServe layout: MAR-INF/MANIFEST.json) from\n"
          "          the files of SRC_DIR. --batch-size/--max-batch-delay go into the manifest;\n"
          "          --response-timeout/--min-workers/--max-workers into a generated\n"
          "          model-config.yaml (or put them in the one you pass with --config-file).\n"
          "          --model-file/--serialized-file/--config-file: a path inside SRC_DIR, or a\n"
          "          file elsewhere that is added at the archive root. Refuses to replace OUT\n"
          "          unless --force.\n"
          "\n"
          "--json    print one JSON object (with \"ok\") on stdout\n"
          "exit codes: 0 ok, 1 the archive is bad or OUT exists, 2 usage or system error\n");
}

static int g_json; /* --json anywhere on the command line: usage errors as JSON too */

static int usage_error(const char *msg, const char *arg) {
  char text[1024];
  snprintf(text, sizeof text, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return report_usage(TOOL, g_json, text);
}

static int exists_or_report(const char *path, int json) {
  struct stat st;
  if (stat(path, &st) == 0) return 0;
  char msg[1200];
  snprintf(msg, sizeof msg, "archive '%.1024s': no such file or folder", path);
  return report_failure_msg(TOOL, json, MS_ENOTFOUND, msg);
}

/* Entries through libarchive (folders have none: the manifest lives on disk). */
static int list_entries(const char *path, cJSON *arr, FILE *text) {
  struct stat st;
  if (stat(path, &st) != 0 || S_ISDIR(st.st_mode)) return 0;
  struct archive *a = archive_read_new();
  if (!a) return -1;
  archive_read_support_format_zip(a);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  int rc = 0;
  if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
    rc = -1;
  } else {
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
      const char *name = archive_entry_pathname(e);
      long long size = (long long)archive_entry_size(e);
      const char *kind = archive_entry_filetype(e) == AE_IFDIR ? "dir"
                         : archive_entry_filetype(e) == AE_IFREG ? "file"
                                                                 : "other";
      if (arr) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
          cJSON_AddStringToObject(o, "path", name ? name : "");
          cJSON_AddNumberToObject(o, "size", (double)size);
          cJSON_AddStringToObject(o, "type", kind);
          cJSON_AddItemToArray(arr, o);
        }
      }
      if (text) fprintf(text, "    %12lld  %-5s %s\n", size, kind, name ? name : "");
    }
    if (r != ARCHIVE_EOF) rc = -1;
  }
  archive_read_free(a);
  return rc;
}

static int cmd_inspect(const char *path, const char *global_cfg, int json) {
  int code = exists_or_report(path, json);
  if (code) return code;
  ms_model *m = NULL;
  int st = ms_archive_inspect(path, global_cfg, &m);
  if (st) return report_failure(TOOL, json, "inspect", st);
  if (json) {
    cJSON *o = model_to_json(m);
    cJSON *arr = cJSON_CreateArray();
    if (o && arr) {
      cJSON_AddStringToObject(o, "command", "inspect");
      if (list_entries(path, arr, NULL) != 0) cJSON_AddBoolToObject(o, "entries_incomplete", 1);
      cJSON_AddItemToObject(o, "entries", arr);
      arr = NULL;
    }
    cJSON_Delete(arr);
    ms_model_free(m);
    return print_json(o);
  }
  printf("archive %s\n", path);
  model_print_text(stdout, m, "  ");
  printf("  entries\n");
  if (list_entries(path, NULL, stdout) != 0) printf("    (listing stopped early: the archive is damaged)\n");
  ms_model_free(m);
  return 0;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  remove(p);
  return 0;
}

/* Validate = everything a server would do: read it (register in a throwaway
 * in-memory store) and extract it with the registry's safety checks. */
static int cmd_validate(const char *path, const char *global_cfg, int json) {
  int code = exists_or_report(path, json);
  if (code) return code;
  const char *tmpbase = getenv("TMPDIR");
  char scratch[4096];
  snprintf(scratch, sizeof scratch, "%s/mserve-archive-XXXXXX", tmpbase && *tmpbase ? tmpbase : P_tmpdir);
  if (!mkdtemp(scratch)) return report_failure_msg(TOOL, json, MS_EIO, "cannot create a scratch folder");
  char root[4200], out[4600];
  snprintf(root, sizeof root, "%s/x", scratch);
  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_model *m = NULL;
  const char *what = "open an in-memory store";
  int st = ms_store_open(":memory:", 0, &s);
  if (!st) what = "open the registry", st = ms_registry_open(s, global_cfg, &r);
  if (!st) what = "read the archive", st = ms_registry_register(r, path, NULL, &m);
  if (!st) what = "extract the archive", st = ms_registry_materialize(r, m, root, out, sizeof out);
  if (st) {
    code = report_failure(TOOL, json, what, st);
  } else if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "command", "validate");
      cJSON_AddStringToObject(o, "archive", path);
      cJSON_AddBoolToObject(o, "valid", 1);
      cJSON_AddStringToObject(o, "name", ms_model_name(m));
      cJSON_AddStringToObject(o, "version", ms_model_version(m));
      cJSON_AddStringToObject(o, "content_hash", ms_model_content_hash(m));
    }
    code = print_json(o);
  } else {
    printf("%s: valid (%s %s, sha256 %s)\n", path, ms_model_name(m), ms_model_version(m), ms_model_content_hash(m));
  }
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return code;
}

typedef struct int_opt {
  const char *name;
  int64_t *dst;
} int_opt;

static int cmd_create(int argc, char **argv, int json) {
  mar_spec s = {0};
  s.batch_size = s.max_batch_delay_ms = s.response_timeout_s = s.min_workers = s.max_workers = -1;
  const char *output = NULL, *src = NULL;
  int force = 0;
  struct {
    const char *name;
    const char **dst;
  } str_opts[] = {{"--name", &s.name},
                  {"--version", &s.version},
                  {"--handler", &s.handler},
                  {"--runtime", &s.runtime},
                  {"--model-file", &s.model_file},
                  {"--serialized-file", &s.serialized_file},
                  {"--config-file", &s.config_file},
                  {"--output", &output}};
  int_opt int_opts[] = {{"--batch-size", &s.batch_size},
                        {"--max-batch-delay", &s.max_batch_delay_ms},
                        {"--response-timeout", &s.response_timeout_s},
                        {"--min-workers", &s.min_workers},
                        {"--max-workers", &s.max_workers}};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--force") == 0) {
      force = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0) {
      if (src) return usage_error("create takes one SRC_DIR", a);
      src = a;
      continue;
    }
    /* --opt VALUE or --opt=VALUE */
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    const char *val = eq ? eq + 1 : NULL;
    int matched = 0;
    for (size_t k = 0; !matched && k < sizeof str_opts / sizeof str_opts[0]; k++) {
      if (strlen(str_opts[k].name) != klen || strncmp(a, str_opts[k].name, klen) != 0) continue;
      if (!val && (val = (i + 1 < argc ? argv[++i] : NULL)) == NULL) return usage_error("missing value for", a);
      *str_opts[k].dst = val;
      matched = 1;
    }
    for (size_t k = 0; !matched && k < sizeof int_opts / sizeof int_opts[0]; k++) {
      if (strlen(int_opts[k].name) != klen || strncmp(a, int_opts[k].name, klen) != 0) continue;
      if (!val && (val = (i + 1 < argc ? argv[++i] : NULL)) == NULL) return usage_error("missing value for", a);
      long long v = 0;
      if (parse_int_arg(val, &v) != 0) return usage_error("expected a non-negative integer", a);
      *int_opts[k].dst = (int64_t)v;
      matched = 1;
    }
    if (!matched) return usage_error("unknown create option", a);
  }
  if (!s.name || !s.version || !s.handler) return usage_error("create needs --name, --version and --handler", NULL);
  if (!output) return usage_error("create needs --output OUT.mar", NULL);
  if (!src) return usage_error("create needs a SRC_DIR", NULL);
  if (s.batch_size == 0) return usage_error("--batch-size must be at least 1", NULL);

  char err[1024] = "";
  mar_result res = {0};
  int code = mar_create(&s, src, output, force, &res, err, sizeof err);
  if (code != MS_OK) {
    char msg[1200];
    snprintf(msg, sizeof msg, "create '%s': %s", output, err);
    return report_failure_msg(TOOL, json, code, msg);
  }
  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "command", "create");
      cJSON_AddStringToObject(o, "output", output);
      cJSON_AddStringToObject(o, "name", s.name);
      cJSON_AddStringToObject(o, "version", s.version);
      cJSON_AddNumberToObject(o, "entries", (double)res.entries);
      cJSON_AddNumberToObject(o, "bytes_in", (double)res.bytes_in);
      cJSON_AddNumberToObject(o, "bytes_out", (double)res.bytes_out);
    }
    return print_json(o);
  }
  printf("created %s: %s %s, %zu entries, %llu bytes -> %llu bytes\n", output, s.name, s.version, res.entries,
         (unsigned long long)res.bytes_in, (unsigned long long)res.bytes_out);
  return 0;
}

int main(int argc, char **argv) {
  g_json = argv_has_json(argc, argv);
  int json = 0;
  const char *global_cfg = NULL;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--global-config") == 0 && i + 1 < argc) {
      global_cfg = argv[++i];
    } else if (strncmp(argv[i], "--global-config=", 16) == 0) {
      global_cfg = argv[i] + 16;
    } else {
      return usage_error("unknown option", argv[i]);
    }
  }
  if (i >= argc) return usage_error("missing command (inspect, validate or create)", NULL);
  const char *cmd = argv[i++];
  if (strcmp(cmd, "create") == 0) return cmd_create(argc - i, argv + i, json);
  int rest = argc - i;
  if (rest == 1 && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "inspect") == 0 || strcmp(cmd, "validate") == 0) {
    if (rest != 1) return usage_error("expected exactly one ARCHIVE after", cmd);
    return cmd[0] == 'i' ? cmd_inspect(argv[i], global_cfg, json) : cmd_validate(argv[i], global_cfg, json);
  }
  return usage_error("unknown command", cmd);
}
