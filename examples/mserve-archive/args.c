/* mserve-archive's argument parsing (see args.h). */
#include "args.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model_print.h"

static int usage_err(char *err, size_t errlen, const char *msg, const char *arg) {
  snprintf(err, errlen, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return ARGS_USAGE;
}

static int is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

typedef struct int_opt {
  const char *name;
  int64_t *dst;
  int64_t factor; /* the flag's unit in microseconds (1 for counts) */
} int_opt;

static int parse_create(int argc, char **argv, archive_args *a, char *err, size_t errlen) {
  mar_spec *s = &a->spec;
  struct {
    const char *name;
    const char **dst;
  } str_opts[] = {{"--name", &s->name},
                  {"--version", &s->version},
                  {"--handler", &s->handler},
                  {"--runtime", &s->runtime},
                  {"--model-file", &s->model_file},
                  {"--serialized-file", &s->serialized_file},
                  {"--config-file", &s->config_file},
                  {"--output", &a->output}};
  int_opt int_opts[] = {{"--batch-size", &s->batch_size, 1},
                        {"--max-batch-delay", &s->max_batch_delay_ms, 1000},
                        {"--response-timeout", &s->response_timeout_s, 1000000},
                        {"--min-workers", &s->min_workers, 1},
                        {"--max-workers", &s->max_workers, 1}};
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--force") == 0) {
      a->force = 1;
      continue;
    }
    if (is_help(arg)) return ARGS_HELP;
    if (strncmp(arg, "--", 2) != 0) {
      if (a->src) return usage_err(err, errlen, "create takes one SRC_DIR", arg);
      a->src = arg;
      continue;
    }
    /* --opt VALUE or --opt=VALUE */
    const char *eq = strchr(arg, '=');
    size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *val = eq ? eq + 1 : NULL;
    int matched = 0;
    for (size_t k = 0; !matched && k < sizeof str_opts / sizeof str_opts[0]; k++) {
      if (strlen(str_opts[k].name) != klen || strncmp(arg, str_opts[k].name, klen) != 0) continue;
      if (!val && (val = (i + 1 < argc ? argv[++i] : NULL)) == NULL)
        return usage_err(err, errlen, "missing value for", arg);
      *str_opts[k].dst = val;
      matched = 1;
    }
    for (size_t k = 0; !matched && k < sizeof int_opts / sizeof int_opts[0]; k++) {
      if (strlen(int_opts[k].name) != klen || strncmp(arg, int_opts[k].name, klen) != 0) continue;
      if (!val && (val = (i + 1 < argc ? argv[++i] : NULL)) == NULL)
        return usage_err(err, errlen, "missing value for", arg);
      int64_t v = 0, us = 0;
      int pr = parse_scaled_arg(val, 1, &v);
      if (pr == 0) pr = parse_scaled_arg(val, int_opts[k].factor, &us);
      if (pr == -1) return usage_err(err, errlen, "expected a non-negative integer for", int_opts[k].name);
      if (pr == -2)
        return usage_err(err, errlen, "value out of range (its microseconds do not fit in 64 bits) for",
                         int_opts[k].name);
      *int_opts[k].dst = v;
      matched = 1;
    }
    if (!matched) return usage_err(err, errlen, "unknown create option", arg);
  }
  if (!s->name || !s->version || !s->handler)
    return usage_err(err, errlen, "create needs --name, --version and --handler", NULL);
  if (!a->output) return usage_err(err, errlen, "create needs --output OUT.mar", NULL);
  if (!a->src) return usage_err(err, errlen, "create needs a SRC_DIR", NULL);
  if (s->batch_size == 0) return usage_err(err, errlen, "--batch-size must be at least 1", NULL);
  return ARGS_OK;
}

int archive_args_parse(int argc, char **argv, archive_args *out, char *err, size_t errlen) {
  archive_args a;
  memset(&a, 0, sizeof a);
  a.spec.batch_size = a.spec.max_batch_delay_ms = a.spec.response_timeout_s = a.spec.min_workers =
      a.spec.max_workers = -1;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      a.json = 1;
    } else if (is_help(argv[i])) {
      return ARGS_HELP;
    } else if (strcmp(argv[i], "--global-config") == 0 && i + 1 < argc) {
      a.global_config = argv[++i];
    } else if (strncmp(argv[i], "--global-config=", 16) == 0) {
      a.global_config = argv[i] + 16;
    } else {
      return usage_err(err, errlen, "unknown option", argv[i]);
    }
  }
  if (i >= argc) return usage_err(err, errlen, "missing command (inspect, validate or create)", NULL);
  const char *cmd = argv[i++];
  int rest = argc - i;
  if (strcmp(cmd, "create") == 0) {
    a.command = "create";
    int rc = parse_create(rest, argv + i, &a, err, errlen);
    if (rc != ARGS_OK) return rc;
    *out = a;
    return ARGS_OK;
  }
  if (rest == 1 && is_help(argv[i])) return ARGS_HELP;
  if (strcmp(cmd, "inspect") == 0 || strcmp(cmd, "validate") == 0) {
    if (rest != 1) return usage_err(err, errlen, "expected exactly one ARCHIVE after", cmd);
    a.command = cmd[0] == 'i' ? "inspect" : "validate";
    a.archive = argv[i];
    *out = a;
    return ARGS_OK;
  }
  return usage_err(err, errlen, "unknown command", cmd);
}
