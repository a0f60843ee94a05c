/* The command-line family's shared behaviour (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <mserve.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_text.h"

static int is_value_opt(const cli_spec *s, const char *a) {
  for (size_t i = 0; s->value_opts && s->value_opts[i]; i++)
    if (strcmp(a, s->value_opts[i]) == 0) return 1;
  return 0;
}

int cli_init(cli_ctx *c, const cli_spec *spec, int argc, char **argv, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  c->spec = spec;
  c->tool = spec->tool;
  c->out = stdout;
  if (errlen) err[0] = '\0';
  int rc = 0;
  /* Pass 1: --json first of all, so that even an error in an earlier
   * option is reported as JSON. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--json") == 0) c->json = 1;
  }
  /* Pass 2: take the globals out; keep the rest in order. kept[] holds
   * pointers, then they are written back at argv's tail. */
  char **kept = malloc(sizeof *kept * (size_t)(argc > 0 ? argc : 1));
  if (!kept) {
    snprintf(err, errlen, "out of memory");
    c->argc = 0;
    c->argv = argv + argc;
    return -1;
  }
  int n = 0, ended = 0;
  const char *command = NULL; /* the first positional argument */
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (ended || a[0] != '-' || a[1] == '\0') {
      if (!command) command = a;
      kept[n++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      ended = 1;
      kept[n++] = a; /* the tool sees it too: its own parser stops there */
      continue;
    }
    if (strcmp(a, "--json") == 0) continue;
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      c->quiet = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      c->help = 1;
      continue;
    }
    if (strcmp(a, "--version") == 0) {
      if (spec->version_value_cmd && command && strcmp(command, spec->version_value_cmd) == 0) {
        /* the command's own --version VALUE */
        kept[n++] = a;
        if (i + 1 < argc) kept[n++] = argv[++i];
        continue;
      }
      c->version = 1;
      continue;
    }
    if (strcmp(a, "--db") == 0 || strncmp(a, "--db=", 5) == 0) {
      const char *v = a[4] == '=' ? a + 5 : (i + 1 < argc ? argv[++i] : NULL);
      if (!rc && (!v || !*v)) {
        snprintf(err, errlen, "--db needs a FILE");
        rc = -1;
      } else if (!rc && !spec->uses_db) {
        snprintf(err, errlen, "--db: %s keeps no store", spec->tool);
        rc = -1;
      }
      c->db = v;
      continue;
    }
    kept[n++] = a;
    if (is_value_opt(spec, a) && i + 1 < argc) kept[n++] = argv[++i];
  }
  /* write the kept arguments back at the tail of argv, in order */
  for (int k = 0; k < n; k++) argv[argc - n + k] = kept[k];
  free(kept);
  c->argc = n;
  c->argv = argv + argc - n;
  if (c->quiet) {
    /* one per process, kept open (a parser run many times, as by a fuzzer,
     * opens it once) */
    static FILE *null;
    if (!null) null = fopen("/dev/null", "w");
    if (null) c->out = null;
  } else if (c->json) {
    c->out = stderr; /* with --json, stdout holds the one document */
  }
  return rc;
}

int cli_exit_for(int status) {
  switch (status) {
    case MS_OK: return CLI_EXIT_OK;
    case MS_ELIMIT:
    case MS_ENOTFOUND:
    case MS_EEXIST:
    case MS_ECONFLICT:
    case MS_ECORRUPT:
    case MS_EUNSAFE:
    case MS_EUNSUPPORTED:
    case MS_EFULL:
    case MS_ETIMEDOUT: return CLI_EXIT_NO;
    default: return CLI_EXIT_FAIL;
  }
}

int cli_help(cli_ctx *c, const char *text, const char *negative) {
  /* with --json the text is the document's "help" member: still one document */
  char *buf = NULL;
  size_t len = 0;
  FILE *out = c->json ? open_memstream(&buf, &len) : stdout;
  if (!out) out = stdout;
  fputs(text, out);
  fprintf(out,
          "\n"
          "global options (anywhere on the line, the same in every libmserve tool):\n"
          "  --db FILE      the libmserve store (an SQLite file)%s\n"
          "  --json         print exactly one JSON document on stdout, success or failure:\n"
          "                 {\"ok\": true, \"tool\", \"command\", ...} or {\"ok\": false, \"code\": \"MS_...\",\n"
          "                 \"message\": \"...\", \"exit\": 1|2, ...}; text output then goes to stderr\n"
          "  --quiet, -q    no text output on stdout (errors still go to stderr)\n"
          "  --help, -h     this text\n"
          "  --version      the tool's and the library's versions\n"
          "  --             the end of the options\n"
          "\n"
          "exit status: 0 success; 1 %s; 2 usage error or any failure to do the work\n"
          "(a store or input that cannot be read, I/O, memory, stdout that cannot be written)\n",
          c->spec->uses_db ? "" : "; this tool keeps no store and refuses it", negative);
  if (out == stdout) return CLI_EXIT_OK;
  fclose(out);
  cJSON *d = cli_doc(c);
  if (d) json_add_str(d, "help", buf ? buf : "");
  free(buf);
  return cli_emit(c, d, CLI_EXIT_OK);
}

int cli_version(cli_ctx *c) {
  if (c->json) {
    cJSON *d = cli_doc(c);
    if (d) {
      cJSON_AddStringToObject(d, "version", ms_version());
      cJSON_AddStringToObject(d, "library", ms_version());
    }
    return cli_emit(c, d, CLI_EXIT_OK);
  }
  fprintf(stdout, "%s (libmserve %s)\n", c->tool, ms_version());
  return CLI_EXIT_OK;
}

cJSON *cli_doc(cli_ctx *c) {
  cJSON *d = cJSON_CreateObject();
  if (!d) return NULL;
  if (!cJSON_AddBoolToObject(d, "ok", 1) || !cJSON_AddStringToObject(d, "tool", c->tool) ||
      !(c->command ? json_add_str(d, "command", c->command) : cJSON_AddNullToObject(d, "command"))) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

cJSON *cli_doc_fail(cli_ctx *c, int exit_code, const char *code, const char *message) {
  cJSON *d = cJSON_CreateObject();
  if (!d) return NULL;
  if (!cJSON_AddBoolToObject(d, "ok", 0) || !cJSON_AddStringToObject(d, "tool", c->tool) ||
      !(c->command ? json_add_str(d, "command", c->command) : cJSON_AddNullToObject(d, "command")) ||
      !cJSON_AddStringToObject(d, "code", code) || !json_add_str(d, "message", message) ||
      !cJSON_AddNumberToObject(d, "exit", exit_code)) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

static void say(cli_ctx *c, const char *code, const char *message) {
  if (code) fprintf(stderr, "%s: %s: %s\n", c->tool, code, tx(message));
  else fprintf(stderr, "%s: %s\n", c->tool, tx(message));
}

int cli_emit(cli_ctx *c, cJSON *doc, int exit_code) {
  if (!doc) {
    say(c, "MS_ENOMEM", "out of memory for the JSON output");
    return CLI_EXIT_FAIL;
  }
  if (c->extra) {
    for (cJSON *it = c->extra->child; it;) {
      cJSON *next = it->next;
      cJSON_AddItemToObject(doc, it->string, cJSON_DetachItemViaPointer(c->extra, it));
      it = next;
    }
    cJSON_Delete(c->extra);
    c->extra = NULL;
  }
  if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "ok"))) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
    say(c, cJSON_IsString(code) ? code->valuestring : NULL, cJSON_IsString(msg) ? msg->valuestring : "failed");
  }
  char *text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  if (!text) {
    say(c, "MS_ENOMEM", "out of memory for the JSON output");
    return CLI_EXIT_FAIL;
  }
  if (c->json && !c->reported) {
    fputs(text, stdout);
    fputc('\n', stdout);
  }
  c->reported = 1;
  cJSON_free(text);
  return exit_code;
}

static int fail_text(cli_ctx *c, int exit_code, const char *code, const char *message, int usage) {
  if (c->json && !c->reported) {
    cJSON *d = cli_doc_fail(c, exit_code, code, message);
    if (d && usage) cJSON_AddBoolToObject(d, "usage", 1);
    int rc = cli_emit(c, d, exit_code);
    if (usage) fprintf(stderr, "try '%s --help'\n", c->tool);
    return rc == CLI_EXIT_OK ? exit_code : rc;
  }
  say(c, usage ? NULL : code, message);
  if (usage) fprintf(stderr, "try '%s --help'\n", c->tool);
  c->reported = 1;
  return exit_code;
}

int cli_fail(cli_ctx *c, int exit_code, const char *code, const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fail_text(c, exit_code, code, msg, 0);
}

int cli_fail_status(cli_ctx *c, int st) {
  char msg[4096];
  snprintf(msg, sizeof msg, "%s", ms_errmsg());
  return fail_text(c, cli_exit_for(st), ms_status_name(st), msg, 0);
}

int cli_fail_setup(cli_ctx *c, int st) {
  char msg[4096];
  snprintf(msg, sizeof msg, "%s", ms_errmsg());
  return fail_text(c, CLI_EXIT_FAIL, ms_status_name(st), msg, 0);
}

int cli_usage(cli_ctx *c, const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fail_text(c, CLI_EXIT_FAIL, "MS_EINVAL", msg, 1);
}

int cli_finish(cli_ctx *c, int rc) {
  cJSON_Delete(c->extra);
  c->extra = NULL;
  if (c->out && c->out != stdout && c->out != stderr) fflush(c->out);
  c->out = stdout;
  errno = 0;
  int bad = fflush(stdout) != 0 || ferror(stdout);
  if (bad) {
    int e = errno;
    fprintf(stderr, "%s: MS_EIO: writing to stdout failed: %s\n", c->tool, e ? strerror(e) : "write error");
    return CLI_EXIT_FAIL;
  }
  return rc;
}

cJSON *cli_json_int(cJSON *o, const char *key, int64_t v) {
  char digits[24];
  snprintf(digits, sizeof digits, "%" PRId64, v);
  return cJSON_AddRawToObject(o, key, digits);
}

cJSON *cli_json_str(cJSON *o, const char *key, const char *s) { return json_add_str(o, key, s); }
