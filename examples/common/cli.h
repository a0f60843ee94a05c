/* What every libmserve command-line tool shares, so that they behave as one
 * family (mserve-tracker, mserve-registry, mserve-archive, mserve-autoscale,
 * mserve-batch, mserve-demo):
 *
 *  - global options, accepted anywhere on the line and meaning the same in
 *    every tool: --db FILE (the libmserve store), --json, --quiet/-q,
 *    --help/-h, --version; "--" ends the options;
 *  - exit statuses: 0 success, 1 a negative answer (denied, not found,
 *    invalid archive, conflict, scan with failures), 2 a usage error or any
 *    failure to do the work (a store that cannot be opened, a bad input
 *    file, I/O, memory, a stdout that cannot be written);
 *  - with --json exactly one JSON document on stdout, success or failure:
 *    {"ok": true, "tool", "command", ...} or
 *    {"ok": false, "tool", "command", "code": "MS_...", "message": "...",
 *     "exit": 1|2, ...}; a usage error has "code": "MS_EINVAL" and
 *    "usage": true;
 *  - text output on stdout (--quiet drops it), messages on stderr as
 *    "<tool>: <MS_CODE>: <message>", a usage error followed by a hint;
 *  - stdout checked at the end: a write that failed is exit 2.
 *
 * The tools use the public libmserve API only. Not thread safe (one context
 * per process). */
#ifndef MSERVE_EXAMPLES_CLI_H
#define MSERVE_EXAMPLES_CLI_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_NO = 1, CLI_EXIT_FAIL = 2 };

/* What a tool tells the scanner about itself. */
typedef struct cli_spec {
  const char *tool;                /* "mserve-tracker" */
  const char *const *value_opts;   /* NULL-terminated: the tool's own options that take a value ("--scope"),
                                      so that their value is never read as a global option */
  const char *version_value_cmd;   /* a command in which --version takes a value (mserve-archive create:
                                      torch-model-archiver's model version); NULL: none */
  int uses_db;                     /* 0: --db is refused (the tool keeps no store) */
} cli_spec;

typedef struct cli_ctx {
  const cli_spec *spec;
  const char *tool;
  const char *command; /* the subcommand, for the envelope; NULL until known */
  const char *db;      /* --db FILE, or NULL */
  int json, quiet, help, version;
  int argc;   /* the arguments left once the global options are taken out (argv[0] excluded) */
  char **argv;
  FILE *out;  /* text output: stdout, or /dev/null with --quiet (never NULL) */
  int reported; /* a failure or a JSON document was printed */
  cJSON *extra; /* NULL, or an object whose members cli_emit adds to the document (success or failure) */
} cli_ctx;

/* Take the global options out of argv (anywhere on the line: before, after
 * or between a command's arguments; "--db=FILE" too; after "--" nothing is
 * an option), leaving the other arguments in order in c->argv[0..c->argc).
 * argv is reordered in place (its tail holds what is left, so the arguments
 * end at argv + argc). Returns 0, or -1 with the usage error in err (--db
 * without a value, or --db in a tool that keeps no store); c is usable
 * either way (json is known, to report the error). No output. */
int cli_init(cli_ctx *c, const cli_spec *spec, int argc, char **argv, char *err, size_t errlen);

/* The exit status of a failed libmserve call whose answer is the command's:
 * 1 for MS_ELIMIT, MS_ENOTFOUND, MS_EEXIST, MS_ECONFLICT, MS_ECORRUPT,
 * MS_EUNSAFE, MS_EUNSUPPORTED, MS_EFULL and MS_ETIMEDOUT (a negative answer
 * about what was asked), else 2 (MS_EINVAL, MS_EIO, MS_ENOMEM, MS_EBUSY, ...). */
int cli_exit_for(int status);

/* --help: `text` (the tool's usage, commands and example) then the common
 * part (global options, exit statuses with `negative`, what 1 means for
 * this tool) on stdout, or with --json as the "help" member of one
 * document; returns 0 (2 when stdout fails, see cli_finish). */
int cli_help(cli_ctx *c, const char *text, const char *negative);

/* --version: "<tool> (libmserve <version>)" (the tools ship with the
 * library and share its version), or with --json {"ok": true, "tool",
 * "command": null, "version", "library"}; returns 0. */
int cli_version(cli_ctx *c);

/* A new JSON document for this run: {"ok": true, "tool", "command"}; the
 * tool adds its fields and prints it with cli_emit. NULL on out of memory. */
cJSON *cli_doc(cli_ctx *c);
/* The same for a failure: {"ok": false, "tool", "command", "code",
 * "message", "exit"}; the tool may add fields (a denial, a report). */
cJSON *cli_doc_fail(cli_ctx *c, int exit_code, const char *code, const char *message);
/* Print doc (one line) and free it; returns exit_code, or 2 when doc is
 * NULL (out of memory: reported). A failure document also prints its
 * message on stderr. The members of c->extra (taken, c->extra freed) are
 * added first. */
int cli_emit(cli_ctx *c, cJSON *doc, int exit_code);

/* Report a failure: with --json one failure document on stdout; always
 * "<tool>: <code>: <message>" on stderr. Returns exit_code. */
int cli_fail(cli_ctx *c, int exit_code, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* A failed libmserve call that answers the command: code ms_status_name(st),
 * message ms_errmsg() (which names the part, the call and the object),
 * exit cli_exit_for(st). */
int cli_fail_status(cli_ctx *c, int st);
/* A failed call that kept the work from being done (opening the store, the
 * registry, reading an input): the same with exit 2. */
int cli_fail_setup(cli_ctx *c, int st);
/* A usage error: code MS_EINVAL, "usage": true, exit 2, and on stderr a
 * hint to run --help. */
int cli_usage(cli_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The end of every run: flush stdout and check it; a write that failed
 * (a full disk, a closed pipe) is reported on stderr and turns rc into 2.
 * Returns the exit status. */
int cli_finish(cli_ctx *c, int rc);

/* JSON helpers: an int64 digit for digit (cJSON's own numbers are doubles
 * and round past 2^53); a string that is always valid UTF-8 (see cli_text.h).
 * Both return the item added, NULL on out of memory. */
cJSON *cli_json_int(cJSON *o, const char *key, int64_t v);
cJSON *cli_json_str(cJSON *o, const char *key, const char *s);

#endif
