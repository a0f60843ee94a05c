/* mserve-registry's argument parsing (see args.h). */
#include "args.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model_print.h"

const char *const registry_commands[] = {"scan", "list", "show", "register", "unregister", "set-default", "update",
                                         NULL};

static int usage_err(char *err, size_t errlen, const char *msg, const char *arg) {
  snprintf(err, errlen, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return ARGS_USAGE;
}

int registry_args_parse(int argc, char **argv, registry_args *out, char *err, size_t errlen) {
  registry_args a = {0, NULL, NULL, NULL, 0, NULL};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *s = argv[i];
    if (strcmp(s, "--json") == 0) {
      a.json = 1;
    } else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      return ARGS_HELP;
    } else if (strcmp(s, "--db") == 0 && i + 1 < argc) {
      a.db = argv[++i];
    } else if (strncmp(s, "--db=", 5) == 0) {
      a.db = s + 5;
    } else if (strcmp(s, "--global-config") == 0 && i + 1 < argc) {
      a.global_config = argv[++i];
    } else if (strncmp(s, "--global-config=", 16) == 0) {
      a.global_config = s + 16;
    } else {
      return usage_err(err, errlen, "unknown option", s);
    }
  }
  if (i >= argc) return usage_err(err, errlen, "missing command", NULL);
  const char *cmd = argv[i++];
  if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) return ARGS_HELP;
  for (size_t k = 0; registry_commands[k]; k++)
    if (strcmp(cmd, registry_commands[k]) == 0) a.command = registry_commands[k];
  if (!a.command) return usage_err(err, errlen, "unknown command", cmd);
  if (!a.db || !*a.db) return usage_err(err, errlen, "--db FILE is required", NULL);
  a.argc = argc - i;
  a.argv = argv + i;
  *out = a;
  return ARGS_OK;
}

typedef struct setting_opt {
  const char *flag, *key;
  int64_t factor; /* CLI unit -> canonical unit (0: string) */
} setting_opt;

static const setting_opt SETTINGS[] = {
    {"--batch-size", "batch_size", 1},
    {"--max-batch-delay", "max_batch_delay_us", 1000},      /* ms, as TorchServe */
    {"--max-queue-size", "max_queue_size", 1},
    {"--response-timeout", "request_timeout_us", 1000000},  /* s, as TorchServe */
    {"--min-workers", "min_workers", 1},
    {"--max-workers", "max_workers", 1},
    {"--device", "device", 0},
};

int registry_settings_parse(int argc, char **argv, int allow_clear, const char **pos, int max_pos, int *npos,
                            ms_overrides **ov_out, int *status, char *err, size_t errlen) {
  ms_overrides *ov = NULL;
  int st = ms_overrides_new(&ov);
  if (st) {
    *status = st;
    snprintf(err, errlen, "ms_overrides_new");
    return ARGS_FAILED;
  }
  int n = 0, rc = ARGS_OK;
  for (int i = 0; i < argc && rc == ARGS_OK; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      if (n >= max_pos) rc = usage_err(err, errlen, "too many arguments", a);
      else pos[n++] = a;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (!val) {
      rc = usage_err(err, errlen, "missing value for", a);
      break;
    }
    if (!eq) i++;
    if (allow_clear && klen == 7 && strncmp(a, "--clear", 7) == 0) {
      if ((st = ms_overrides_clear(ov, val))) {
        *status = st;
        snprintf(err, errlen, "--clear");
        rc = ARGS_FAILED;
      }
      continue;
    }
    const setting_opt *o = NULL;
    for (size_t k = 0; k < sizeof SETTINGS / sizeof SETTINGS[0]; k++)
      if (strlen(SETTINGS[k].flag) == klen && strncmp(a, SETTINGS[k].flag, klen) == 0) o = &SETTINGS[k];
    if (!o) {
      rc = usage_err(err, errlen, "unknown option", a);
      break;
    }
    if (o->factor == 0) {
      st = ms_overrides_set_str(ov, o->key, val);
    } else {
      int64_t v = 0;
      int pr = parse_scaled_arg(val, o->factor, &v);
      if (pr == -1) {
        rc = usage_err(err, errlen, "expected a non-negative integer for", o->flag);
        break;
      }
      if (pr == -2) {
        rc = usage_err(err, errlen, "value out of range (its microseconds do not fit in 64 bits) for", o->flag);
        break;
      }
      st = ms_overrides_set_int(ov, o->key, v);
    }
    if (st) {
      *status = st;
      snprintf(err, errlen, "%s", o->flag);
      rc = ARGS_FAILED;
    }
  }
  if (rc != ARGS_OK) {
    ms_overrides_free(ov);
    return rc;
  }
  *npos = n;
  *ov_out = ov;
  return ARGS_OK;
}
