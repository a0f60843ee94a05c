/* mserve-archive's argument parsing (see args.h). */
#include "args.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_num.h"

/* mserve-archive's options that take a value, for the family's scanner. */
static const char *const value_opts[] = {
    "--global-config", "--name",          "--model-name", "--handler",       "--runtime",
    "--model-file",    "--serialized-file", "--config-file", "--requirements-file", "--extra-files",
    "--archive-format", "--export-path",  "--output",     "--batch-size",    "--max-batch-delay",
    "--response-timeout", "--min-workers", "--max-workers", NULL};
static const cli_spec spec = {"mserve-archive", value_opts, "create", 0};

static int usage_err(char *err, size_t errlen, const char *msg, const char *arg) {
  snprintf(err, errlen, "%s%s%.900s", msg, arg ? ": " : "", arg ? arg : "");
  return ARGS_USAGE;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

typedef struct int_opt {
  const char *name;
  int64_t *dst;
  int64_t factor; /* the flag's unit in microseconds (1 for counts) */
} int_opt;

static int parse_create(int argc, char **argv, archive_args *a, char *err, size_t errlen) {
  mar_spec *s = &a->spec;
  const char *format = NULL, *export_path = NULL;
  struct {
    const char *name;
    const char **dst;
  } str_opts[] = {{"--name", &s->name},
                  {"--model-name", &s->name},
                  {"--version", &s->version},
                  {"--handler", &s->handler},
                  {"--runtime", &s->runtime},
                  {"--model-file", &s->model_file},
                  {"--serialized-file", &s->serialized_file},
                  {"--config-file", &s->config_file},
                  {"--requirements-file", &s->requirements_file},
                  {"--extra-files", &s->extra_files},
                  {"--archive-format", &format},
                  {"--export-path", &export_path},
                  {"--output", &a->output}};
  int_opt int_opts[] = {{"--batch-size", &s->batch_size, 1},
                        {"--max-batch-delay", &s->max_batch_delay_ms, 1000},
                        {"--response-timeout", &s->response_timeout_s, 1000000},
                        {"--min-workers", &s->min_workers, 1},
                        {"--max-workers", &s->max_workers, 1}};
  int ended = 0;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (!ended && strcmp(arg, "--") == 0) {
      ended = 1;
      continue;
    }
    if (!ended && (strcmp(arg, "--force") == 0 || strcmp(arg, "-f") == 0)) {
      a->force = 1;
      continue;
    }
    if (ended || arg[0] != '-' || !arg[1]) {
      if (a->src) return usage_err(err, errlen, "create takes at most one SRC_DIR", arg);
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
        return usage_err(err, errlen, "missing value for", str_opts[k].name);
      *str_opts[k].dst = val;
      matched = 1;
    }
    for (size_t k = 0; !matched && k < sizeof int_opts / sizeof int_opts[0]; k++) {
      if (strlen(int_opts[k].name) != klen || strncmp(arg, int_opts[k].name, klen) != 0) continue;
      if (!val && (val = (i + 1 < argc ? argv[++i] : NULL)) == NULL)
        return usage_err(err, errlen, "missing value for", arg);
      int64_t v = 0, us = 0;
      cli_num_status pr = cli_num_parse_scaled(val, 1, &v);
      if (pr == CLI_NUM_OK) pr = cli_num_parse_scaled(val, int_opts[k].factor, &us);
      if (pr == CLI_NUM_SYNTAX) return usage_err(err, errlen, "expected a non-negative integer for", int_opts[k].name);
      if (pr != CLI_NUM_OK)
        return usage_err(err, errlen, "value out of range (its microseconds do not fit in 64 bits) for",
                         int_opts[k].name);
      *int_opts[k].dst = v;
      matched = 1;
    }
    if (!matched) return usage_err(err, errlen, "unknown create option", arg);
  }
  if (!s->name) return usage_err(err, errlen, "create needs --model-name NAME", NULL);
  if (!s->version) return usage_err(err, errlen, "create needs --version V (the model's version)", NULL);
  if (!s->handler) return usage_err(err, errlen, "create needs --handler H (a .py file, or a handler name)", NULL);
  if (s->batch_size == 0) return usage_err(err, errlen, "--batch-size must be at least 1", NULL);
  if (s->min_workers >= 0 && s->max_workers >= 0 && s->min_workers > s->max_workers)
    return usage_err(err, errlen, "--min-workers is above --max-workers (TorchServe refuses this too)", NULL);
  /* the format: --archive-format, else what --output's name says */
  int by_name = a->output && (ends_with(a->output, ".tar.gz") || ends_with(a->output, ".tgz"));
  if (!format) a->format = by_name ? MAR_TGZ : MAR_DEFAULT;
  else if (strcmp(format, "default") == 0) a->format = MAR_DEFAULT;
  else if (strcmp(format, "zip-store") == 0) a->format = MAR_ZIP_STORE;
  else if (strcmp(format, "tgz") == 0) a->format = MAR_TGZ;
  else if (strcmp(format, "no-archive") == 0) a->format = MAR_NO_ARCHIVE;
  else return usage_err(err, errlen, "--archive-format: expected default, zip-store, tgz or no-archive, not", format);
  if (format && a->output && by_name != (a->format == MAR_TGZ))
    return usage_err(err, errlen, "--output's name and --archive-format disagree (a tar.gz is named .tar.gz or .tgz)",
                     a->output);
  if (a->output && export_path) return usage_err(err, errlen, "give --output FILE or --export-path DIR, not both", NULL);
  if (!a->output) {
    static const char *const ext[] = {".mar", ".mar", ".tar.gz", ""};
    const char *dir = export_path ? export_path : ".";
    if ((size_t)snprintf(a->output_buf, sizeof a->output_buf, "%s/%s%s", dir, s->name, ext[a->format]) >=
        sizeof a->output_buf)
      return usage_err(err, errlen, "--export-path is too long", NULL);
    a->output = a->output_buf;
  }
  return ARGS_OK;
}

int archive_args_parse(int argc, char **argv, archive_args *out, char *err, size_t errlen) {
  archive_args *a = out;
  memset(a, 0, sizeof *a);
  a->spec.batch_size = a->spec.max_batch_delay_ms = a->spec.response_timeout_s = a->spec.min_workers =
      a->spec.max_workers = -1;
  int rc = cli_init(&a->ctx, &spec, argc, argv, err, errlen);
  a->json = a->ctx.json;
  a->version = a->ctx.version && !a->ctx.help;
  if (rc) return ARGS_USAGE;
  /* --global-config anywhere; the rest in order */
  int n = a->ctx.argc, kept = 0, ended = 0;
  char **args = a->ctx.argv;
  for (int i = 0; i < n; i++) {
    if (!ended && strcmp(args[i], "--") == 0) ended = 1;
    if (!ended && strcmp(args[i], "--global-config") == 0) {
      if (i + 1 >= n || !*args[i + 1]) return usage_err(err, errlen, "--global-config needs a FILE", NULL);
      a->global_config = args[++i];
      continue;
    }
    if (!ended && strncmp(args[i], "--global-config=", 16) == 0) {
      a->global_config = args[i] + 16;
      continue;
    }
    args[kept++] = args[i];
  }
  n = kept;
  const char *cmd = n > 0 ? args[0] : NULL;
  if (cmd && strcmp(cmd, "--") == 0) {
    args++, n--;
    cmd = n > 0 ? args[0] : NULL;
  }
  if (cmd && (!strcmp(cmd, "create") || !strcmp(cmd, "inspect") || !strcmp(cmd, "validate")))
    a->command = a->ctx.command = cmd[0] == 'c' ? "create" : cmd[0] == 'i' ? "inspect" : "validate";
  else a->ctx.command = cmd;
  if (a->ctx.help || a->ctx.version) return ARGS_HELP;
  if (!cmd) return usage_err(err, errlen, "missing command (inspect, validate or create)", NULL);
  if (!a->command) return usage_err(err, errlen, cmd[0] == '-' ? "unknown option" : "unknown command", cmd);
  if (strcmp(a->command, "create") == 0) return parse_create(n - 1, args + 1, a, err, errlen);
  int rest = n - 1;
  const char *arch = NULL;
  for (int i = 1; i < n; i++) {
    if (strcmp(args[i], "--") == 0 && !arch) {
      rest--;
      continue;
    }
    if (args[i][0] == '-' && args[i][1] && !arch) return usage_err(err, errlen, "unknown option", args[i]);
    arch = args[i];
  }
  if (rest != 1 || !arch) return usage_err(err, errlen, "expected exactly one ARCHIVE after", a->command);
  a->archive = arch;
  return ARGS_OK;
}
