/* mserve-registry's argument parsing (see args.h). */
#include "args.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_num.h"
#include "model_print.h"

const char *const registry_commands[] = {"scan",   "list",        "show",        "register",
                                         "unregister", "set-default", "update", "materialize", NULL};

/* The registry's options that take a value, for the family's scanner. */
static const char *const value_opts[] = {"--global-config", "--root",         "--batch-size", "--max-batch-delay",
                                         "--max-queue-size", "--response-timeout", "--min-workers",
                                         "--max-workers",    "--device",       "--clear",     NULL};
static const cli_spec spec = {"mserve-registry", value_opts, NULL, 1};

static int usage_err(char *err, size_t errlen, const char *msg, const char *arg) {
  snprintf(err, errlen, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return ARGS_USAGE;
}

/* "--name VALUE" or "--name=VALUE" at args[*i]: 1 with *val set (NULL when
 * the value is missing), 0 when args[*i] is not --name. */
static int opt(int n, char **args, int *i, const char *name, const char **val) {
  size_t len = strlen(name);
  if (strncmp(args[*i], name, len) != 0) return 0;
  if (args[*i][len] == '=') {
    *val = args[*i] + len + 1;
    return 1;
  }
  if (args[*i][len] != '\0') return 0;
  *val = *i + 1 < n ? args[++*i] : NULL;
  return 1;
}

int registry_args_parse(int argc, char **argv, registry_args *out, char *err, size_t errlen) {
  registry_args a;
  memset(&a, 0, sizeof a);
  int rc = cli_init(&a.ctx, &spec, argc, argv, err, errlen);
  a.json = a.ctx.json;
  a.db = a.ctx.db;
  a.version = a.ctx.version && !a.ctx.help;
  if (rc) {
    *out = a;
    return ARGS_USAGE;
  }
  /* the registry-wide options, anywhere: taken out, the rest kept at the tail */
  int n = a.ctx.argc, kept = 0, ended = 0;
  char **args = a.ctx.argv;
  for (int i = 0; i < n; i++) {
    const char *v = NULL;
    if (!ended && strcmp(args[i], "--") == 0) ended = 1;
    if (!ended && opt(n, args, &i, "--global-config", &v)) {
      if (!v || !*v) {
        *out = a;
        return usage_err(err, errlen, "--global-config needs a FILE", NULL);
      }
      a.global_config = v;
      continue;
    }
    if (!ended && opt(n, args, &i, "--root", &v)) {
      if (!v || !*v) {
        *out = a;
        return usage_err(err, errlen, "--root needs a DIR", NULL);
      }
      a.root = v;
      continue;
    }
    if (!ended && strcmp(args[i], "--verbose") == 0) {
      a.verbose = 1;
      continue;
    }
    args[kept++] = args[i];
  }
  /* right-align what is left, in order */
  memmove(args + (n - kept), args, (size_t)kept * sizeof *args);
  args += n - kept;
  n = kept;
  if (n > 0 && strcmp(args[0], "--") == 0) args++, n--;
  const char *cmd = n > 0 ? args[0] : NULL;
  a.ctx.command = cmd;
  if (a.ctx.help || a.ctx.version) {
    *out = a;
    return ARGS_HELP;
  }
  if (!cmd) {
    *out = a;
    return usage_err(err, errlen, "missing command", NULL);
  }
  for (size_t k = 0; registry_commands[k]; k++)
    if (strcmp(cmd, registry_commands[k]) == 0) a.command = registry_commands[k];
  if (!a.command) {
    *out = a;
    return usage_err(err, errlen, cmd[0] == '-' ? "unknown option" : "unknown command", cmd);
  }
  a.ctx.command = a.command;
  if (!a.db || !*a.db) {
    *out = a;
    return usage_err(err, errlen, "--db FILE is required", NULL);
  }
  a.argc = n - 1;
  a.argv = args + 1;
  *out = a;
  return ARGS_OK;
}

int registry_settings_parse(int argc, char **argv, int allow_clear, const char **pos, int max_pos, int *npos,
                            ms_overrides **ov_out, int *status, char *err, size_t errlen) {
  ms_overrides *ov = NULL;
  int st = ms_overrides_new(&ov);
  if (st) {
    *status = st;
    snprintf(err, errlen, "ms_overrides_new");
    return ARGS_FAILED;
  }
  int n = 0, rc = ARGS_OK, ended = 0;
  int64_t minw = -1, maxw = -1;
  for (int i = 0; i < argc && rc == ARGS_OK; i++) {
    const char *a = argv[i];
    if (!ended && strcmp(a, "--") == 0) {
      ended = 1;
      continue;
    }
    if (ended || strncmp(a, "--", 2) != 0) {
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
      const model_setting *s = model_setting_find(val);
      if ((st = ms_overrides_clear(ov, s ? s->key : val))) {
        *status = st;
        snprintf(err, errlen, "--clear");
        rc = ARGS_FAILED;
      }
      continue;
    }
    const model_setting *o = NULL;
    for (const model_setting *s = model_settings; s->key; s++)
      if (strlen(s->flag) == klen && strncmp(a, s->flag, klen) == 0) o = s;
    if (!o) {
      rc = usage_err(err, errlen, "unknown option", a);
      break;
    }
    if (o->factor == 0) {
      st = ms_overrides_set_str(ov, o->key, val);
    } else {
      int64_t v = 0;
      cli_num_status pr = cli_num_parse_scaled(val, o->factor, &v);
      if (pr == CLI_NUM_SYNTAX) {
        rc = usage_err(err, errlen, "expected a non-negative integer for", o->flag);
        break;
      }
      if (pr != CLI_NUM_OK) {
        rc = usage_err(err, errlen, "value out of range (its microseconds do not fit in 64 bits) for", o->flag);
        break;
      }
      if (strcmp(o->key, "min_workers") == 0) minw = v;
      if (strcmp(o->key, "max_workers") == 0) maxw = v;
      st = ms_overrides_set_int(ov, o->key, v);
    }
    if (st) {
      *status = st;
      snprintf(err, errlen, "%s", o->flag);
      rc = ARGS_FAILED;
    }
  }
  if (rc == ARGS_OK && minw >= 0 && maxw >= 0 && minw > maxw) {
    snprintf(err, errlen, "--min-workers %lld is above --max-workers %lld (TorchServe refuses this too)",
             (long long)minw, (long long)maxw);
    rc = ARGS_USAGE;
  }
  if (rc != ARGS_OK) {
    ms_overrides_free(ov);
    return rc;
  }
  *npos = n;
  *ov_out = ov;
  return ARGS_OK;
}
