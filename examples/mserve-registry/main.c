/* mserve-registry: manage the model registry kept in a libmserve store.
 *
 *   mserve-registry --db FILE [--global-config FILE] [--json] <command> ...
 *
 * Exit codes: 0 ok, 1 the thing asked about is bad, denied or not found (a
 * scan with failed archives included), 2 usage or system error. Text output
 * escapes control characters and bytes that are not UTF-8; --json output is
 * always valid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "model_print.h"

static const char *TOOL = "mserve-registry";

static void usage(FILE *out) {
  fprintf(out,
          "usage: mserve-registry --db FILE [--global-config FILE] [--json] <command> ...\n"
          "\n"
          "commands:\n"
          "  scan DIR                      register every archive of a model store folder; unchanged\n"
          "                                ones are skipped, changed ones re-read, vanished ones marked\n"
          "                                missing. Exit 1 when any archive failed (the scan still\n"
          "                                registered the others).\n"
          "  list [NAME]                   every registration (of NAME)\n"
          "  show NAME [VERSION]           one registration (default version when VERSION is absent)\n"
          "                                with each setting's value and source\n"
          "                                (api > archive > global > default)\n"
          "  register ARCHIVE [SETTINGS]   register a .mar, .tar.gz/.tgz or folder\n"
          "  unregister NAME [VERSION]     remove one version, or all versions\n"
          "  set-default NAME VERSION      pick the version used when none is named\n"
          "  update NAME [VERSION] SETTINGS  change runtime overrides (default version when absent)\n"
          "\n"
          "SETTINGS (runtime overrides, source 'api'):\n"
          "  --batch-size N  --max-batch-delay MS  --max-queue-size N  --response-timeout S\n"
          "  --min-workers N  --max-workers N  --device D  --clear KEY (update only; canonical key\n"
          "  such as batch_size: drop the override so the archive/global/default value applies)\n"
          "\n"
          "--db FILE            the SQLite store (created when missing)\n"
          "--global-config FILE JSON {\"defaults\": {...}, \"models\": {\"<name>\": {\"<version>\": {...}}}}\n"
          "--json               print one JSON object (with \"ok\") on stdout\n"
          "exit codes: 0 ok, 1 bad/denied/not found, 2 usage or system error\n");
}

static int g_json; /* --json anywhere on the command line: usage errors as JSON too */

static int usage_error(const char *msg, const char *arg) {
  char text[1024];
  snprintf(text, sizeof text, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return report_usage(TOOL, g_json, text);
}

typedef struct cli {
  int json;
  ms_registry *reg;
} cli;

/* ---- settings options ---------------------------------------------------- */

/* Split args into positionals and overrides (args.c). Returns 0, or an exit code. */
static int parse_settings(cli *c, int argc, char **argv, int allow_clear, const char **pos, int max_pos, int *npos,
                          ms_overrides **ov_out) {
  char err[1024] = "";
  int st = MS_OK;
  int rc = registry_settings_parse(argc, argv, allow_clear, pos, max_pos, npos, ov_out, &st, err, sizeof err);
  if (rc == ARGS_USAGE) return report_usage(TOOL, g_json, err);
  if (rc == ARGS_FAILED) return report_failure(TOOL, c->json, err, st);
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
  }
  return "unknown";
}

static int cmd_scan(cli *c, int argc, char **argv) {
  if (argc != 1) return usage_error("scan takes one folder", NULL);
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(c->reg, argv[0], &rep);
  if (st) return report_failure(TOOL, c->json, "scan", st);
  size_t failed = ms_scan_report_count_outcome(rep, MS_SCAN_FAILED);
  static const ms_scan_outcome all[] = {MS_SCAN_ADDED, MS_SCAN_UPDATED, MS_SCAN_UNCHANGED, MS_SCAN_FAILED,
                                        MS_SCAN_MISSING};
  int code = 0;
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON *entries = cJSON_CreateArray();
    if (o && entries) {
      cJSON_AddStringToObject(o, "command", "scan");
      json_add_str(o, "dir", argv[0]);
      for (size_t k = 0; k < 5; k++)
        cJSON_AddNumberToObject(o, outcome_name(all[k]), (double)ms_scan_report_count_outcome(rep, all[k]));
      for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
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
      cJSON_AddItemToObject(o, "entries", entries);
      entries = NULL;
      if (failed) {
        /* The command worked, the store did not fully: "ok" stays true, the exit code says it. */
        cJSON_AddNumberToObject(o, "code", EXIT_BAD);
      }
    }
    cJSON_Delete(entries);
    code = print_json(o);
  } else {
    printf("scanned %s:", tx(argv[0]));
    for (size_t k = 0; k < 5; k++) printf(" %zu %s", ms_scan_report_count_outcome(rep, all[k]), outcome_name(all[k]));
    printf("\n");
    for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
      const char *path = NULL, *msg = NULL;
      ms_scan_outcome out = MS_SCAN_FAILED;
      int est = 0;
      if (ms_scan_report_get(rep, i, &path, &out, &est, &msg) != MS_OK) continue;
      if (out == MS_SCAN_FAILED)
        printf("  %-9s %s: %s: %s\n", outcome_name(out), tx(path), ms_status_name(est), tx(msg));
      else
        printf("  %-9s %s (%s)\n", outcome_name(out), tx(path), tx(msg));
    }
  }
  ms_scan_report_free(rep);
  if (failed) {
    fprintf(stderr, "%s: scan: %zu archive(s) failed\n", TOOL, failed);
    return code ? code : EXIT_BAD;
  }
  return code;
}

static int cmd_list(cli *c, int argc, char **argv) {
  if (argc > 1) return usage_error("list takes at most one NAME", NULL);
  ms_model_list *l = NULL;
  int st = ms_registry_list(c->reg, argc ? argv[0] : NULL, &l);
  if (st) return report_failure(TOOL, c->json, "list", st);
  size_t n = ms_model_list_count(l);
  int code = 0;
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    if (o && arr) {
      cJSON_AddStringToObject(o, "command", "list");
      for (size_t i = 0; i < n; i++) {
        const ms_model *mi = NULL;
        cJSON *m = ms_model_list_get(l, i, &mi) == MS_OK ? model_to_json(mi) : NULL;
        if (m) cJSON_AddItemToArray(arr, m);
      }
      cJSON_AddItemToObject(o, "models", arr);
      arr = NULL;
    }
    cJSON_Delete(arr);
    code = print_json(o);
  } else {
    printf("%-32s %-12s %-8s %s\n", "NAME", "VERSION", "DEFAULT", "ARCHIVE");
    for (size_t i = 0; i < n; i++) {
      const ms_model *m = NULL;
      if (ms_model_list_get(l, i, &m) != MS_OK) break;
      printf("%-32s %-12s %-8s %s%s\n", tx(ms_model_name(m)), tx(ms_model_version(m)),
             ms_model_is_default(m) ? "yes" : "", tx(ms_model_archive_path(m)), ms_model_is_missing(m) ? " (MISSING)" : "");
    }
    printf("%zu registration(s)\n", n);
  }
  ms_model_list_free(l);
  if (argc && n == 0 && !code) {
    char msg[512];
    snprintf(msg, sizeof msg, "model '%.400s': not registered", argv[0]);
    return report_failure_msg(TOOL, 0, MS_ENOTFOUND, msg);
  }
  return code;
}

static int print_model(cli *c, const char *command, const ms_model *m) {
  if (c->json) {
    cJSON *o = model_to_json(m);
    if (o) cJSON_AddStringToObject(o, "command", command);
    return print_json(o);
  }
  model_print_text(stdout, m, "");
  return 0;
}

static int show_one(cli *c, const char *command, const char *name, const char *version) {
  ms_model *m = NULL;
  int st = ms_registry_get(c->reg, name, version, &m);
  if (st) return report_failure(TOOL, c->json, command, st);
  int code = print_model(c, command, m);
  ms_model_free(m);
  return code;
}

static int cmd_show(cli *c, int argc, char **argv) {
  if (argc < 1 || argc > 2) return usage_error("show takes NAME [VERSION]", NULL);
  return show_one(c, "show", argv[0], argc > 1 ? argv[1] : NULL);
}

static int cmd_register(cli *c, int argc, char **argv) {
  const char *pos[1];
  int npos = 0;
  ms_overrides *ov = NULL;
  int code = parse_settings(c, argc, argv, 0, pos, 1, &npos, &ov);
  if (code) return code;
  if (npos != 1) {
    ms_overrides_free(ov);
    return usage_error("register takes one ARCHIVE", NULL);
  }
  ms_model *m = NULL;
  int st = ms_registry_register(c->reg, pos[0], ov, &m);
  ms_overrides_free(ov);
  if (st) return report_failure(TOOL, c->json, "register", st);
  code = print_model(c, "register", m);
  ms_model_free(m);
  return code;
}

static int cmd_unregister(cli *c, int argc, char **argv) {
  if (argc < 1 || argc > 2) return usage_error("unregister takes NAME [VERSION]", NULL);
  const char *version = argc > 1 ? argv[1] : NULL;
  int st = ms_registry_unregister(c->reg, argv[0], version);
  if (st) return report_failure(TOOL, c->json, "unregister", st);
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "command", "unregister");
      json_add_str(o, "name", argv[0]);
      if (version)
        json_add_str(o, "version", version);
      else
        cJSON_AddNullToObject(o, "version");
    }
    return print_json(o);
  }
  printf("unregistered %s %s\n", tx(argv[0]), version ? tx(version) : "(all versions)");
  return 0;
}

static int cmd_set_default(cli *c, int argc, char **argv) {
  if (argc != 2) return usage_error("set-default takes NAME VERSION", NULL);
  int st = ms_registry_set_default(c->reg, argv[0], argv[1]);
  if (st) return report_failure(TOOL, c->json, "set-default", st);
  return show_one(c, "set-default", argv[0], argv[1]);
}

static int cmd_update(cli *c, int argc, char **argv) {
  const char *pos[2];
  int npos = 0;
  ms_overrides *ov = NULL;
  int code = parse_settings(c, argc, argv, 1, pos, 2, &npos, &ov);
  if (code) return code;
  if (npos < 1) {
    ms_overrides_free(ov);
    return usage_error("update takes NAME [VERSION] and settings", NULL);
  }
  const char *version = npos > 1 ? pos[1] : NULL;
  int st = ms_registry_update(c->reg, pos[0], version, ov);
  ms_overrides_free(ov);
  if (st) return report_failure(TOOL, c->json, "update", st);
  return show_one(c, "update", pos[0], version);
}

int main(int argc, char **argv) {
  g_json = argv_has_json(argc, argv);
  registry_args a;
  char err[1024] = "";
  int rc = registry_args_parse(argc, argv, &a, err, sizeof err);
  if (rc == ARGS_HELP) {
    usage(stdout);
    return 0;
  }
  if (rc != ARGS_OK) return report_usage(TOOL, g_json, err);
  cli c = {a.json, NULL};
  static const struct {
    const char *name;
    int (*fn)(cli *, int, char **);
  } cmds[] = {{"scan", cmd_scan},           {"list", cmd_list},
              {"show", cmd_show},           {"register", cmd_register},
              {"unregister", cmd_unregister}, {"set-default", cmd_set_default},
              {"update", cmd_update}};
  int (*fn)(cli *, int, char **) = NULL;
  for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
    if (strcmp(a.command, cmds[k].name) == 0) fn = cmds[k].fn;
  if (!fn) return usage_error("unknown command", a.command);

  ms_store *store = NULL;
  /* list and show only read: opened read-only, so a store one may not write
   * can be inspected; one still to be created or migrated is opened as the
   * other commands do. */
  int reads = fn == cmd_list || fn == cmd_show;
  int st = reads ? ms_store_open(a.db, MS_STORE_READONLY, &store) : MS_ENOTFOUND;
  if (st == MS_ENOTFOUND || st == MS_EUNSUPPORTED) st = ms_store_open(a.db, 0, &store);
  if (st) return report_failure(TOOL, c.json, "open store", st);
  st = ms_registry_open(store, a.global_config, &c.reg);
  if (st) {
    ms_store_close(store);
    return report_failure(TOOL, c.json, "open registry", st);
  }
  int code = fn(&c, a.argc, a.argv);
  ms_registry_close(c.reg);
  ms_store_close(store);
  return code;
}
