/* mserve-archive: inspect, validate and create TorchServe/MMS model archives.
 *
 *   mserve-archive [--json] [--global-config FILE] inspect ARCHIVE
 *   mserve-archive [--json] [--global-config FILE] validate ARCHIVE
 *   mserve-archive [--json] create --model-name N --version V --handler H [...]
 *
 * Exit statuses as every libmserve tool (examples/common/cli.h): 0 ok, 1 a
 * negative answer (the archive is invalid or missing, OUT exists), 2 usage
 * error or failure. Text output escapes control characters and bytes that
 * are not UTF-8 (archive entry names and paths may hold any); --json output
 * is always valid UTF-8. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli_text.h"
#include "model_print.h"

static const char usage_text[] =
    "usage: mserve-archive [--global-config FILE] inspect ARCHIVE\n"
    "       mserve-archive [--global-config FILE] validate ARCHIVE\n"
    "       mserve-archive create --model-name N --version V --handler H [options] [SRC_DIR]\n"
    "\n"
    "TorchServe/MMS model archives: .mar (zip), .tar.gz/.tgz and plain folders.\n"
    "\n"
    "inspect   print the manifest, every setting with its value and source, and the entries\n"
    "validate  check what TorchServe would fail on at load: the manifest and config, that\n"
    "          the files the manifest names (serializedFile, modelFile, a .py handler,\n"
    "          configFile, requirementsFile) are in the archive, and extract it into a\n"
    "          scratch folder to check every entry is safe (no absolute paths, '..', links\n"
    "          or devices, size limits)\n"
    "create    write an archive as torch-model-archiver does, with its flags:\n"
    "  --model-name N          the model's name (--name is the same)\n"
    "  --version V             the model's version (in create, --version takes a value)\n"
    "  --handler H             a handler file (h.py, h.py:function: it goes in) or a\n"
    "                          handler name (image_classifier, ...: written as given)\n"
    "  --serialized-file F     the weights (model.pt, model.safetensors)\n"
    "  --model-file F          the model's definition (model.py)\n"
    "  --extra-files A,B,DIR   more files (at the archive root) and folders (their contents)\n"
    "  --requirements-file F   the model's Python requirements\n"
    "  --config-file F         its model-config.yaml (a file of SRC_DIR keeps its place)\n"
    "  --runtime R             the manifest's runtime (default python)\n"
    "  --archive-format FMT    default (.mar, zip deflate), zip-store (.mar, stored),\n"
    "                          tgz (.tar.gz) or no-archive (a folder)\n"
    "  --export-path DIR       where <model-name>.mar/.tar.gz/folder goes (default .;\n"
    "                          created when missing)\n"
    "  -f, --force             replace an existing archive\n"
    "  and libmserve's own:\n"
    "  --output FILE           the archive to write instead (.tar.gz/.tgz: a tar.gz)\n"
    "  SRC_DIR                 a folder whose files all go in, in their places\n"
    "  --batch-size N  --max-batch-delay MS     into the manifest (the MMS batch keys)\n"
    "  --response-timeout S  --min-workers N  --max-workers N\n"
    "                          into a generated model-config.yaml (or put them in the\n"
    "                          --config-file you give)\n"
    "          A file named by a flag goes in once, however often it is named. The\n"
    "          manifest and config are first read back with the library's own rules:\n"
    "          what its readers would refuse is never written; a failure never leaves a\n"
    "          partial archive.\n"
    "\n"
    "--global-config FILE  the server-wide settings inspect and validate resolve against\n"
    "\n"
    "example:\n"
    "  mserve-archive create --model-name echo --version 1.0 --handler handler.py \\\n"
    "                        --serialized-file model.pt --export-path model-store\n"
    "  mserve-archive validate model-store/echo.mar\n"
    "  mserve-archive inspect model-store/echo.mar --json\n";

static const char negative[] = "a negative answer: the archive is invalid (a status names why) or\n"
                               "not found, or create's output exists";

static int exists_or_report(cli_ctx *x, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return 0;
  return cli_fail(x, CLI_EXIT_NO, "MS_ENOTFOUND", "archive '%.1024s': no such file or folder", path);
}

/* Entries through libarchive (folders have none: the manifest lives on disk). */
static int list_entries(const char *path, cJSON *arr, FILE *text) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return 0;
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
      const char *kind = archive_entry_filetype(e) == AE_IFDIR   ? "dir"
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

/* The model's fields at the top level of doc, after the envelope's. */
static void merge(cJSON *doc, cJSON *fields) {
  for (cJSON *it = fields ? fields->child : NULL; it;) {
    cJSON *next = it->next;
    cJSON_AddItemToObject(doc, it->string, cJSON_DetachItemViaPointer(fields, it));
    it = next;
  }
  cJSON_Delete(fields);
}

static int cmd_inspect(cli_ctx *x, const char *path, const char *global_cfg) {
  int code = exists_or_report(x, path);
  if (code) return code;
  int st = MS_OK;
  if (global_cfg) { /* a global config that cannot be read keeps the work from being done (2) */
    ms_store *s = NULL;
    ms_registry *r = NULL;
    st = ms_store_open(":memory:", 0, &s);
    if (!st) st = ms_registry_open(s, global_cfg, &r);
    ms_registry_close(r);
    ms_store_close(s);
    if (st) return cli_fail_setup(x, st);
  }
  ms_model *m = NULL;
  st = ms_archive_inspect(path, global_cfg, &m);
  if (st) return cli_fail_status(x, st);
  /* what TorchServe would fail on at load (a file the manifest names that
   * is not there) is shown as a warning: inspect still shows the archive */
  char missing_msg[2048] = "";
  int cst = ms_archive_validate(path, global_cfg, NULL);
  if (cst != MS_OK) snprintf(missing_msg, sizeof missing_msg, "%s", ms_errmsg());
  if (x->json) {
    cJSON *o = cli_doc(x);
    cJSON *arr = cJSON_CreateArray();
    if (o && arr) {
      merge(o, model_to_json(m));
      if (list_entries(path, arr, NULL) != 0) cJSON_AddBoolToObject(o, "entries_incomplete", 1);
      cJSON_AddItemToObject(o, "entries", arr);
      arr = NULL;
      cJSON_AddBoolToObject(o, "loadable", cst == MS_OK);
      if (cst != MS_OK) json_add_str(o, "warning", missing_msg);
    }
    cJSON_Delete(arr);
    ms_model_free(m);
    return cli_emit(x, o, CLI_EXIT_OK);
  }
  FILE *out = x->out;
  fprintf(out, "archive %s\n", tx(path));
  model_print_text(out, m, "  ");
  fprintf(out, "  entries\n");
  if (list_entries(path, NULL, out) != 0) fprintf(out, "    (listing stopped early: the archive is damaged)\n");
  if (cst != MS_OK) fprintf(out, "  warning: %s\n", tx(missing_msg));
  ms_model_free(m);
  return CLI_EXIT_OK;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  remove(p);
  return 0;
}

/* Validate = everything a server would do: read it and check the files its
 * manifest names (ms_archive_validate), register it in a throwaway in-memory
 * store and extract it with the registry's safety checks. */
static int cmd_validate(cli_ctx *x, const char *path, const char *global_cfg) {
  int code = exists_or_report(x, path);
  if (code) return code;
  const char *tmpbase = getenv("TMPDIR");
  char scratch[4096];
  snprintf(scratch, sizeof scratch, "%s/mserve-archive-XXXXXX", tmpbase && *tmpbase ? tmpbase : P_tmpdir);
  if (!mkdtemp(scratch)) return cli_fail(x, CLI_EXIT_FAIL, "MS_EIO", "validate: cannot create a scratch folder");
  char root[4200], out[4600];
  snprintf(root, sizeof root, "%s/x", scratch);
  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_model *m = NULL;
  int st = ms_store_open(":memory:", 0, &s);
  int setup = 1; /* failures before the archive is read keep the work from being done */
  if (!st) st = ms_registry_open(s, global_cfg, &r);
  if (!st) setup = 0, st = ms_archive_validate(path, global_cfg, NULL);
  if (!st) st = ms_registry_register(r, path, NULL, &m);
  if (!st) st = ms_registry_materialize(r, m, root, out, sizeof out);
  {
    if (st) {
      code = setup ? cli_fail_setup(x, st) : cli_fail_status(x, st);
    } else if (x->json) {
      cJSON *o = cli_doc(x);
      if (o) {
        json_add_str(o, "archive", path);
        cJSON_AddBoolToObject(o, "valid", 1);
        json_add_str(o, "name", ms_model_name(m));
        json_add_str(o, "version", ms_model_version(m));
        json_add_str(o, "content_hash", ms_model_content_hash(m));
      }
      code = cli_emit(x, o, CLI_EXIT_OK);
    } else {
      fprintf(x->out, "%s: valid (%s %s, sha256 %s)\n", tx(path), tx(ms_model_name(m)), tx(ms_model_version(m)),
              tx(ms_model_content_hash(m)));
    }
  }
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return code;
}

static const char *format_name(mar_format f) {
  static const char *const names[] = {"default", "zip-store", "tgz", "no-archive"};
  return (unsigned)f <= MAR_NO_ARCHIVE ? names[f] : "?";
}

static int cmd_create(cli_ctx *x, const archive_args *a) {
  const mar_spec *sp = &a->spec;
  char err[2048] = "";
  mar_result res = {0};
  int st = mar_create(sp, a->format, a->src, a->output, a->force, &res, err, sizeof err);
  if (st != MS_OK) return cli_fail(x, cli_exit_for(st), ms_status_name(st), "create '%s': %s", a->output, err);
  if (x->json) {
    cJSON *o = cli_doc(x);
    if (o) {
      json_add_str(o, "output", a->output);
      cJSON_AddStringToObject(o, "archive_format", format_name(a->format));
      json_add_str(o, "name", sp->name);
      json_add_str(o, "version", sp->version);
      cJSON_AddNumberToObject(o, "entries", (double)res.entries);
      cli_json_int(o, "bytes_in", (int64_t)res.bytes_in);
      cli_json_int(o, "bytes_out", (int64_t)res.bytes_out);
    }
    return cli_emit(x, o, CLI_EXIT_OK);
  }
  fprintf(x->out, "created %s (%s): %s %s, %zu entries, %llu bytes -> %llu bytes\n", tx(a->output),
          format_name(a->format), tx(sp->name), tx(sp->version), res.entries, (unsigned long long)res.bytes_in,
          (unsigned long long)res.bytes_out);
  return CLI_EXIT_OK;
}

/* The library's warnings on stderr, never in silence. */
static void on_log(int level, const char *message, void *user) {
  (void)level, (void)user;
  fprintf(stderr, "mserve-archive: warning: %s\n", tx(message));
}

int main(int argc, char **argv) {
  ms_set_log(on_log, MS_LOG_WARN, NULL);
  static archive_args a;
  char err[1024] = "";
  int rc = archive_args_parse(argc, argv, &a, err, sizeof err);
  cli_ctx *x = &a.ctx;
  if (rc == ARGS_HELP) return cli_finish(x, a.version ? cli_version(x) : cli_help(x, usage_text, negative));
  if (rc != ARGS_OK) {
    if (argc <= 1) {
      fputs(usage_text, stderr);
      fprintf(stderr, "try 'mserve-archive --help'\n");
      return CLI_EXIT_FAIL;
    }
    return cli_finish(x, cli_usage(x, "%s", err));
  }
  if (strcmp(a.command, "create") == 0) return cli_finish(x, cmd_create(x, &a));
  if (strcmp(a.command, "inspect") == 0) return cli_finish(x, cmd_inspect(x, a.archive, a.global_config));
  return cli_finish(x, cmd_validate(x, a.archive, a.global_config));
}
