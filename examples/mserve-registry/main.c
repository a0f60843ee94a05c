/* mserve-registry: manage the model registry kept in a libmserve store.
 *
 *   mserve-registry --db FILE [--global-config FILE] [--json] <command> ...
 *
 * Exit statuses as every libmserve tool (examples/common/cli.h): 0 ok, 1 a
 * negative answer (not found, an invalid archive, a conflict, a scan with
 * failed archives), 2 usage error or failure. Text output escapes control
 * characters and bytes that are not UTF-8; --json output is always valid
 * UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli_text.h"
#include "model_print.h"

static const char usage_text[] =
    "usage: mserve-registry --db FILE [--global-config FILE] [--json] COMMAND ...\n"
    "\n"
    "The model registry of a libmserve store: TorchServe/MMS archives (.mar, .tar.gz,\n"
    "folders) with their settings resolved api > archive > global > default.\n"
    "\n"
    "commands:\n"
    "  scan [DIR]                    register every archive of a model store folder (default: the\n"
    "                                model_store= of a TorchServe --global-config); unchanged\n"
    "                                ones are skipped, changed ones re-read, vanished ones marked\n"
    "                                missing; files it does not read (.zip, models one level\n"
    "                                down) are listed as skipped, two archives of one name and\n"
    "                                version as a conflict (the newest createdOn is registered).\n"
    "                                Exit 1 when any archive failed (the scan still registered\n"
    "                                the others); a conflict alone is not a failure.\n"
    "  list [NAME]                   every registration (of NAME)\n"
    "  show NAME [VERSION]           one registration (default version when VERSION is absent)\n"
    "                                with every setting's value and source, the archive's other\n"
    "                                model-config.yaml keys included\n"
    "  register ARCHIVE [SETTINGS]   register a .mar, .tar.gz/.tgz or folder\n"
    "  unregister NAME [VERSION]     remove one version, or all versions; the next scans leave\n"
    "                                its archive out until the archive changes\n"
    "  set-default NAME VERSION      pick the version used when none is named\n"
    "  update NAME [VERSION] SETTINGS  change runtime overrides (default version when absent)\n"
    "  materialize NAME [VERSION] --root DIR\n"
    "                                extract the archive once into DIR/<content hash>/ and print\n"
    "                                that folder's path (reused when already there)\n"
    "\n"
    "SETTINGS (runtime overrides, source 'api'; TorchServe's names and units):\n"
    "  --batch-size N  --max-batch-delay MS  --max-queue-size N  --response-timeout S\n"
    "  --min-workers N  --max-workers N  --device D\n"
    "  --clear KEY     (update only) drop the override so the archive/global/default value\n"
    "                  applies; KEY in any spelling: batch_size, batchSize, --batch-size,\n"
    "                  max_batch_delay_us, max_batch_delay, maxBatchDelay ...\n"
    "  min_workers above max_workers is refused, as TorchServe does.\n"
    "\n"
    "options:\n"
    "  --global-config FILE  the server-wide settings: TorchServe's config.properties or a\n"
    "                        snapshot (*.cfg: Java properties, models= / model_snapshot=\n"
    "                        JSON, defaultVersion honoured), or JSON {\"defaults\": {...},\n"
    "                        \"models\": {\"<name>\": {\"<version>\": {...}}}}\n"
    "  --verbose             list the global config's keys the registry does not use\n"
    "                        (stderr; \"unused_config_keys\" in the JSON document)\n"
    "  --root DIR            where materialize extracts (created when missing)\n"
    "\n"
    "Text output shows every setting under its canonical key (max_batch_delay_us) with\n"
    "its value, its source and, for a duration, the value in its flag's unit (20 ms).\n"
    "\n"
    "example:\n"
    "  mserve-registry --db models.db scan model-store\n"
    "  mserve-registry --db models.db update echo 1.0 --batch-size 8 --max-batch-delay 20\n"
    "  mserve-registry --db models.db show echo --json\n"
    "  mserve-registry --db models.db materialize echo --root extracted\n";

static const char negative[] = "a negative answer: a model not found, an invalid archive, a conflict\n"
                               "(unregistering the default version), a scan with failed archives";

typedef struct reg_cli {
  cli_ctx *x;
  registry_args *a;
  ms_registry *reg;
} reg_cli;

/* Split args into positionals and overrides (args.c). Returns 0, or an exit code. */
static int parse_settings(reg_cli *c, int argc, char **argv, int allow_clear, const char **pos, int max_pos,
                          int *npos, ms_overrides **ov_out) {
  char err[1024] = "";
  int st = MS_OK;
  int rc = registry_settings_parse(argc, argv, allow_clear, pos, max_pos, npos, ov_out, &st, err, sizeof err);
  if (rc == ARGS_USAGE) return cli_usage(c->x, "%s", err);
  if (rc == ARGS_FAILED) return cli_fail(c->x, CLI_EXIT_FAIL, ms_status_name(st), "%s: %s", err, ms_errmsg());
  return 0;
}

/* ---- commands ------------------------------------------------------------ */

static const char *outcome_name(ms_scan_outcome o) {
  switch (o) {
    case MS_SCAN_ADDED: return "added";
    case MS_SCAN_UPDATED: return "updated";
    case MS_SCAN_UNCHANGED: return "unchanged";
    case MS_SCAN_FAILED: return "failed";
    case MS_SCAN_MISSING: return "missing";
    case MS_SCAN_SKIPPED: return "skipped";
    case MS_SCAN_CONFLICT: return "conflict";
  }
  return "unknown";
}

static int cmd_scan(reg_cli *c, int argc, char **argv) {
  /* no folder: the model_store of TorchServe's config, as the server does */
  const char *store_dir = NULL;
  if (argc == 0 && c->a->global_config && ms_registry_get_global(c->reg, "model_store", &store_dir) == MS_OK &&
      store_dir && *store_dir) {
    static char *one[1];
    one[0] = (char *)store_dir;
    argv = one;
    argc = 1;
  }
  if (argc != 1) return cli_usage(c->x, "scan takes one folder (or a --global-config with model_store=)");
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(c->reg, argv[0], &rep);
  if (st) return cli_fail_status(c->x, st);
  static const ms_scan_outcome all[] = {MS_SCAN_ADDED,  MS_SCAN_UPDATED, MS_SCAN_UNCHANGED, MS_SCAN_FAILED,
                                        MS_SCAN_MISSING, MS_SCAN_SKIPPED, MS_SCAN_CONFLICT};
  const size_t n_all = sizeof all / sizeof all[0];
  size_t failed = ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), total = ms_scan_report_count(rep);
  /* the first failure gives the code of a scan that did not fully succeed */
  int first_st = MS_OK;
  const char *first_path = NULL, *first_msg = NULL;
  for (size_t i = 0; i < total && failed && !first_path; i++) {
    const char *path = NULL, *msg = NULL;
    ms_scan_outcome out = MS_SCAN_ADDED;
    int est = 0;
    if (ms_scan_report_get(rep, i, &path, &out, &est, &msg) == MS_OK && out == MS_SCAN_FAILED)
      first_st = est, first_path = path, first_msg = msg;
  }
  char summary[1400];
  if (failed)
    snprintf(summary, sizeof summary, "scan '%.400s': %zu of %zu archives failed (the others were registered); "
             "first: '%.400s': %.400s", argv[0], failed, total, first_path ? first_path : "?", first_msg ? first_msg : "");
  int code = failed ? CLI_EXIT_NO : CLI_EXIT_OK;
  if (c->x->json) {
    cJSON *o = failed ? cli_doc_fail(c->x, code, ms_status_name(first_st ? first_st : MS_ECORRUPT), summary)
                      : cli_doc(c->x);
    cJSON *entries = o ? cJSON_AddArrayToObject(o, "entries") : NULL;
    if (o && entries) {
      json_add_str(o, "dir", argv[0]);
      for (size_t k = 0; k < n_all; k++)
        cJSON_AddNumberToObject(o, outcome_name(all[k]), (double)ms_scan_report_count_outcome(rep, all[k]));
      for (size_t i = 0; i < total; i++) {
        const char *path = NULL, *msg = NULL;
        ms_scan_outcome out = MS_SCAN_FAILED;
        int est = 0;
        if (ms_scan_report_get(rep, i, &path, &out, &est, &msg) != MS_OK) continue;
        cJSON *e = cJSON_CreateObject();
        if (!e) continue;
        json_add_str(e, "path", path);
        cJSON_AddStringToObject(e, "outcome", outcome_name(out));
        cJSON_AddStringToObject(e, "status", ms_status_name(est));
        json_add_str(e, "message", msg);
        cJSON_AddItemToArray(entries, e);
      }
    }
    ms_scan_report_free(rep);
    return cli_emit(c->x, o, code);
  }
  FILE *out = c->x->out;
  fprintf(out, "scanned %s:", tx(argv[0]));
  for (size_t k = 0; k < n_all; k++)
    fprintf(out, " %zu %s", ms_scan_report_count_outcome(rep, all[k]), outcome_name(all[k]));
  fprintf(out, "\n");
  for (size_t i = 0; i < total; i++) {
    const char *path = NULL, *msg = NULL;
    ms_scan_outcome o = MS_SCAN_FAILED;
    int est = 0;
    if (ms_scan_report_get(rep, i, &path, &o, &est, &msg) != MS_OK) continue;
    if (o == MS_SCAN_FAILED || o == MS_SCAN_CONFLICT)
      fprintf(out, "  %-9s %s: %s: %s\n", outcome_name(o), tx(path), ms_status_name(est), tx(msg));
    else fprintf(out, "  %-9s %s (%s)\n", outcome_name(o), tx(path), tx(msg));
  }
  ms_scan_report_free(rep);
  if (failed) return cli_fail(c->x, code, ms_status_name(first_st ? first_st : MS_ECORRUPT), "%s", summary);
  return code;
}

static int cmd_list(reg_cli *c, int argc, char **argv) {
  if (argc > 1) return cli_usage(c->x, "list takes at most one NAME");
  ms_model_list *l = NULL;
  int st = ms_registry_list(c->reg, argc ? argv[0] : NULL, &l);
  if (st) return cli_fail_status(c->x, st);
  size_t n = ms_model_list_count(l);
  if (argc && n == 0) {
    ms_model_list_free(l);
    return cli_fail(c->x, CLI_EXIT_NO, "MS_ENOTFOUND", "registry: list: model '%.400s': not registered", argv[0]);
  }
  if (c->x->json) {
    cJSON *o = cli_doc(c->x);
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "models") : NULL;
    for (size_t i = 0; arr && i < n; i++) {
      const ms_model *mi = NULL;
      cJSON *m = ms_model_list_get(l, i, &mi) == MS_OK ? model_to_json(mi) : NULL;
      if (m) cJSON_AddItemToArray(arr, m);
    }
    ms_model_list_free(l);
    return cli_emit(c->x, o, CLI_EXIT_OK);
  }
  FILE *out = c->x->out;
  fprintf(out, "%-32s %-12s %-8s %s\n", "NAME", "VERSION", "DEFAULT", "ARCHIVE");
  for (size_t i = 0; i < n; i++) {
    const ms_model *m = NULL;
    if (ms_model_list_get(l, i, &m) != MS_OK) break;
    fprintf(out, "%-32s %-12s %-8s %s%s\n", tx(ms_model_name(m)), tx(ms_model_version(m)),
            ms_model_is_default(m) ? "yes" : "", tx(ms_model_archive_path(m)), ms_model_is_missing(m) ? " (MISSING)" : "");
  }
  fprintf(out, "%zu registration(s)\n", n);
  ms_model_list_free(l);
  return CLI_EXIT_OK;
}

static int print_model(reg_cli *c, const ms_model *m) {
  if (c->x->json) {
    cJSON *o = cli_doc(c->x);
    cJSON *mj = o ? model_to_json(m) : NULL;
    if (!mj) {
      cJSON_Delete(o);
      return cli_emit(c->x, NULL, CLI_EXIT_FAIL);
    }
    /* the model's fields at the top level, after the envelope's */
    for (cJSON *it = mj->child; it;) {
      cJSON *next = it->next;
      cJSON_AddItemToObject(o, it->string, cJSON_DetachItemViaPointer(mj, it));
      it = next;
    }
    cJSON_Delete(mj);
    return cli_emit(c->x, o, CLI_EXIT_OK);
  }
  model_print_text(c->x->out, m, "");
  return CLI_EXIT_OK;
}

static int show_one(reg_cli *c, const char *name, const char *version) {
  ms_model *m = NULL;
  int st = ms_registry_get(c->reg, name, version, &m);
  if (st) return cli_fail_status(c->x, st);
  int code = print_model(c, m);
  ms_model_free(m);
  return code;
}

static int cmd_show(reg_cli *c, int argc, char **argv) {
  if (argc < 1 || argc > 2) return cli_usage(c->x, "show takes NAME [VERSION]");
  return show_one(c, argv[0], argc > 1 ? argv[1] : NULL);
}

static int cmd_register(reg_cli *c, int argc, char **argv) {
  const char *pos[1];
  int npos = 0;
  ms_overrides *ov = NULL;
  int code = parse_settings(c, argc, argv, 0, pos, 1, &npos, &ov);
  if (code) return code;
  if (npos != 1) {
    ms_overrides_free(ov);
    return cli_usage(c->x, "register takes one ARCHIVE");
  }
  ms_model *m = NULL;
  int st = ms_registry_register(c->reg, pos[0], ov, &m);
  ms_overrides_free(ov);
  if (st) return cli_fail_status(c->x, st);
  code = print_model(c, m);
  ms_model_free(m);
  return code;
}

static int cmd_unregister(reg_cli *c, int argc, char **argv) {
  if (argc < 1 || argc > 2) return cli_usage(c->x, "unregister takes NAME [VERSION]");
  const char *version = argc > 1 ? argv[1] : NULL;
  int st = ms_registry_unregister(c->reg, argv[0], version);
  if (st) return cli_fail_status(c->x, st);
  if (c->x->json) {
    cJSON *o = cli_doc(c->x);
    if (o) {
      json_add_str(o, "name", argv[0]);
      if (version) json_add_str(o, "version", version);
      else cJSON_AddNullToObject(o, "version");
    }
    return cli_emit(c->x, o, CLI_EXIT_OK);
  }
  fprintf(c->x->out, "unregistered %s %s\n", tx(argv[0]), version ? tx(version) : "(all versions)");
  return CLI_EXIT_OK;
}

static int cmd_set_default(reg_cli *c, int argc, char **argv) {
  if (argc != 2) return cli_usage(c->x, "set-default takes NAME VERSION");
  int st = ms_registry_set_default(c->reg, argv[0], argv[1]);
  if (st) return cli_fail_status(c->x, st);
  return show_one(c, argv[0], argv[1]);
}

static int cmd_update(reg_cli *c, int argc, char **argv) {
  const char *pos[2];
  int npos = 0;
  ms_overrides *ov = NULL;
  int code = parse_settings(c, argc, argv, 1, pos, 2, &npos, &ov);
  if (code) return code;
  if (npos < 1) {
    ms_overrides_free(ov);
    return cli_usage(c->x, "update takes NAME [VERSION] and settings");
  }
  const char *version = npos > 1 ? pos[1] : NULL;
  /* min_workers above max_workers: the library refuses it (MS_EINVAL, both
   * values and their sources named), as TorchServe does */
  int st = ms_registry_update(c->reg, pos[0], version, ov);
  ms_overrides_free(ov);
  if (st) return cli_fail_status(c->x, st);
  return show_one(c, pos[0], version);
}

static int cmd_materialize(reg_cli *c, int argc, char **argv) {
  if (argc < 1 || argc > 2) return cli_usage(c->x, "materialize takes NAME [VERSION] --root DIR");
  if (!c->a->root) return cli_usage(c->x, "materialize needs --root DIR (where archives are extracted)");
  ms_model *m = NULL;
  int st = ms_registry_get(c->reg, argv[0], argc > 1 ? argv[1] : NULL, &m);
  if (st) return cli_fail_status(c->x, st);
  static char path[16384];
  st = ms_registry_materialize(c->reg, m, c->a->root, path, sizeof path);
  if (st) {
    ms_model_free(m);
    return cli_fail_status(c->x, st);
  }
  int code = CLI_EXIT_OK;
  if (c->x->json) {
    cJSON *o = cli_doc(c->x);
    if (o) {
      json_add_str(o, "name", ms_model_name(m));
      json_add_str(o, "version", ms_model_version(m));
      json_add_str(o, "content_hash", ms_model_content_hash(m));
      json_add_str(o, "root", c->a->root);
      json_add_str(o, "path", path);
    }
    code = cli_emit(c->x, o, CLI_EXIT_OK);
  } else {
    fprintf(c->x->out, "%s\n", tx(path)); /* the path alone, for $(...) */
  }
  ms_model_free(m);
  return code;
}

/* --verbose: the keys of the global config the registry does not apply,
 * never dropped in silence: on stderr, and in the JSON document. */
static void report_unused_keys(reg_cli *c) {
  ms_key_list *l = NULL;
  if (!c->a->global_config || ms_registry_unused_keys(c->reg, &l) != MS_OK) return;
  size_t n = ms_key_list_count(l);
  cJSON *arr = c->x->json ? cJSON_CreateArray() : NULL;
  for (size_t i = 0; i < n; i++) {
    const char *key = NULL, *value = NULL;
    int64_t line = 0;
    if (ms_key_list_get(l, i, &key, &value, &line) != MS_OK) continue;
    if (line > 0)
      fprintf(stderr, "mserve-registry: %s:%lld: '%s' is not used by the registry (value %s)\n", tx(c->a->global_config),
              (long long)line, tx(key), tx(value));
    else
      fprintf(stderr, "mserve-registry: %s: '%s' is not used by the registry (value %s)\n", tx(c->a->global_config),
              tx(key), tx(value));
    cJSON *o = arr ? cJSON_CreateObject() : NULL;
    if (o) {
      json_add_str(o, "key", key);
      json_add_str(o, "value", value);
      cJSON_AddNumberToObject(o, "line", (double)line);
      cJSON_AddItemToArray(arr, o);
    }
  }
  if (!n) fprintf(stderr, "mserve-registry: %s: every key is used\n", tx(c->a->global_config));
  ms_key_list_free(l);
  if (arr) {
    if (!c->x->extra) c->x->extra = cJSON_CreateObject();
    if (c->x->extra) cJSON_AddItemToObject(c->x->extra, "unused_config_keys", arr);
    else cJSON_Delete(arr);
  }
}

/* The library's warnings (a registration whose files resolve min_workers
 * above max_workers, ...) on stderr, never in silence. */
static void on_log(int level, const char *message, void *user) {
  (void)level, (void)user;
  fprintf(stderr, "mserve-registry: warning: %s\n", tx(message));
}

int main(int argc, char **argv) {
  ms_set_log(on_log, MS_LOG_WARN, NULL);
  registry_args a;
  char err[1024] = "";
  int rc = registry_args_parse(argc, argv, &a, err, sizeof err);
  cli_ctx *x = &a.ctx;
  if (rc == ARGS_HELP) return cli_finish(x, a.version ? cli_version(x) : cli_help(x, usage_text, negative));
  if (rc != ARGS_OK) {
    if (argc <= 1) {
      fputs(usage_text, stderr);
      fprintf(stderr, "try 'mserve-registry --help'\n");
      return CLI_EXIT_FAIL;
    }
    return cli_finish(x, cli_usage(x, "%s", err));
  }
  reg_cli c = {x, &a, NULL};
  static const struct {
    const char *name;
    int (*fn)(reg_cli *, int, char **);
    int reads; /* only reads the store: opened read-only when it can be */
  } cmds[] = {{"scan", cmd_scan, 0},           {"list", cmd_list, 1},
              {"show", cmd_show, 1},           {"register", cmd_register, 0},
              {"unregister", cmd_unregister, 0}, {"set-default", cmd_set_default, 0},
              {"update", cmd_update, 0},       {"materialize", cmd_materialize, 1}};
  size_t k = 0;
  while (k < sizeof cmds / sizeof cmds[0] && strcmp(a.command, cmds[k].name) != 0) k++;
  if (k == sizeof cmds / sizeof cmds[0]) return cli_finish(x, cli_usage(x, "unknown command: %s", a.command));

  ms_store *store = NULL;
  /* Read commands open the store read-only, so a store one may not write
   * can be inspected; one still to be created or migrated is opened as the
   * other commands do. */
  int st = cmds[k].reads ? ms_store_open(a.db, MS_STORE_READONLY, &store) : MS_ENOTFOUND;
  if (st == MS_ENOTFOUND || st == MS_EUNSUPPORTED) st = ms_store_open(a.db, 0, &store);
  if (st) return cli_finish(x, cli_fail_setup(x, st));
  st = ms_registry_open(store, a.global_config, &c.reg);
  if (st) {
    ms_store_close(store);
    return cli_finish(x, cli_fail_setup(x, st));
  }
  if (a.verbose) report_unused_keys(&c);
  int code = cmds[k].fn(&c, a.argc, a.argv);
  ms_registry_close(c.reg);
  ms_store_close(store);
  return cli_finish(x, code);
}
