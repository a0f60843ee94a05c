/* mserve-archive: inspect, validate and create TorchServe/MMS model archives.
 *
 *   mserve-archive [--json] [--global-config FILE] inspect ARCHIVE
 *   mserve-archive [--json] [--global-config FILE] validate ARCHIVE
 *   mserve-archive [--json] create --name N --version V --handler H [...] --output OUT.mar SRC_DIR
 *
 * Exit codes: 0 ok, 1 the archive is bad (or OUT exists), 2 usage or system error.
 * Text output escapes control characters and bytes that are not UTF-8 (archive
 * entry names and paths may hold any); --json output is always valid UTF-8. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
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
          "          unless --force. The manifest and config are first read back with the\n"
          "          library's own rules: what its readers would refuse is never written.\n"
          "\n"
          "--json    print one JSON object (with \"ok\") on stdout\n"
          "exit codes: 0 ok, 1 the archive is bad or OUT exists, 2 usage or system error\n");
}

static int g_json; /* --json anywhere on the command line: usage errors as JSON too */

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
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0; /* folders; never open a FIFO */
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
          char digits[24];
          snprintf(digits, sizeof digits, "%lld", size);
          json_add_str(o, "path", name);
          cJSON_AddRawToObject(o, "size", digits);
          cJSON_AddStringToObject(o, "type", kind);
          cJSON_AddItemToArray(arr, o);
        }
      }
      if (text) fprintf(text, "    %12lld  %-5s %s\n", size, kind, tx(name));
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
  printf("archive %s\n", tx(path));
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
      json_add_str(o, "archive", path);
      cJSON_AddBoolToObject(o, "valid", 1);
      json_add_str(o, "name", ms_model_name(m));
      json_add_str(o, "version", ms_model_version(m));
      json_add_str(o, "content_hash", ms_model_content_hash(m));
    }
    code = print_json(o);
  } else {
    printf("%s: valid (%s %s, sha256 %s)\n", tx(path), tx(ms_model_name(m)), tx(ms_model_version(m)),
           tx(ms_model_content_hash(m)));
  }
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return code;
}

static int cmd_create(const archive_args *a, int json) {
  const mar_spec *sp = &a->spec;
  char err[2048] = "";
  mar_result res = {0};
  int code = mar_create(sp, a->src, a->output, a->force, &res, err, sizeof err);
  if (code != MS_OK) {
    char msg[2400];
    snprintf(msg, sizeof msg, "create '%s': %s", a->output, err);
    return report_failure_msg(TOOL, json, code, msg);
  }
  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "command", "create");
      json_add_str(o, "output", a->output);
      json_add_str(o, "name", sp->name);
      json_add_str(o, "version", sp->version);
      cJSON_AddNumberToObject(o, "entries", (double)res.entries);
      char digits[24];
      snprintf(digits, sizeof digits, "%llu", (unsigned long long)res.bytes_in);
      cJSON_AddRawToObject(o, "bytes_in", digits);
      snprintf(digits, sizeof digits, "%llu", (unsigned long long)res.bytes_out);
      cJSON_AddRawToObject(o, "bytes_out", digits);
    }
    return print_json(o);
  }
  printf("created %s: %s %s, %zu entries, %llu bytes -> %llu bytes\n", tx(a->output), tx(sp->name), tx(sp->version),
         res.entries, (unsigned long long)res.bytes_in, (unsigned long long)res.bytes_out);
  return 0;
}

int main(int argc, char **argv) {
  g_json = argv_has_json(argc, argv);
  archive_args a;
  char err[1024] = "";
  int rc = archive_args_parse(argc, argv, &a, err, sizeof err);
  if (rc == ARGS_HELP) {
    usage(stdout);
    return 0;
  }
  if (rc != ARGS_OK) return report_usage(TOOL, g_json, err);
  if (strcmp(a.command, "create") == 0) return cmd_create(&a, a.json);
  if (strcmp(a.command, "inspect") == 0) return cmd_inspect(a.archive, a.global_config, a.json);
  return cmd_validate(a.archive, a.global_config, a.json);
}
