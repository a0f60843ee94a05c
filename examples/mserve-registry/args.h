/* mserve-registry's command line, parsed without doing anything: main()
 * and the fuzz target tests/fuzz/fuzz_cli_registry_args.c share it. */
#ifndef MSERVE_REGISTRY_ARGS_H
#define MSERVE_REGISTRY_ARGS_H

#include <mserve.h>
#include <stddef.h>

#include "cli.h"

enum {
  ARGS_OK = 0,
  ARGS_HELP = 1,   /* --help / -h or --version: print the usage (or the version), exit 0 */
  ARGS_USAGE = 2,  /* a usage error: err says what */
  ARGS_FAILED = 3  /* a library call refused a value: *status and ms_errmsg() say why, err names the flag */
};

typedef struct registry_args {
  cli_ctx ctx;     /* the family's global options and output (examples/common/cli.h) */
  int json, version, verbose;
  const char *db, *global_config, *root;
  const char *command; /* one of registry_commands */
  int argc;            /* the command's own arguments */
  char **argv;
} registry_args;

/* "scan", "list", "show", "register", "unregister", "set-default", "update",
 * "materialize", NULL. */
extern const char *const registry_commands[];

/* The options and the command: argv[0] is the program. The family's global
 * options (--db, --json, --quiet, --help, --version) and the registry's own
 * (--global-config FILE, --root DIR, --verbose) may stand anywhere on the
 * line; argv is reordered in place so that the command's arguments are its
 * tail (out->argv + out->argc == argv + argc). On ARGS_OK and ARGS_HELP *out
 * is filled (pointers into argv; out->version tells --version from --help);
 * on ARGS_USAGE err[errlen] says why and out->ctx is still usable. */
int registry_args_parse(int argc, char **argv, registry_args *out, char *err, size_t errlen);

/* A command's arguments: positionals (at most max_pos, into pos[]) and
 * SETTINGS flags (TorchServe's names and units: --batch-size N,
 * --max-batch-delay MS, --max-queue-size N, --response-timeout S,
 * --min-workers N, --max-workers N, --device D) into a new ms_overrides;
 * --clear KEY (only with allow_clear) takes any spelling of a setting
 * (batch_size, batchSize, --batch-size, max_batch_delay...). Durations are
 * checked both ways as they are turned into microseconds: a value whose
 * microseconds do not fit is a usage error, never a wrapped number; so is
 * --min-workers above --max-workers on one line. On ARGS_OK *ov_out is
 * owned by the caller (ms_overrides_free); on failure nothing is
 * allocated, err says why and, for ARGS_FAILED, *status is the library's
 * status (its message in ms_errmsg()). */
int registry_settings_parse(int argc, char **argv, int allow_clear, const char **pos, int max_pos, int *npos,
                            ms_overrides **ov_out, int *status, char *err, size_t errlen);


#endif
