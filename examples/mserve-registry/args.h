/* mserve-registry's command line, parsed without doing anything: main()
 * and the fuzz target tests/fuzz/fuzz_cli_registry_args.c share it. */
#ifndef MSERVE_REGISTRY_ARGS_H
#define MSERVE_REGISTRY_ARGS_H

#include <mserve.h>
#include <stddef.h>

enum {
  ARGS_OK = 0,
  ARGS_HELP = 1,   /* --help / -h: print the usage, exit 0 */
  ARGS_USAGE = 2,  /* a usage error: err says what */
  ARGS_FAILED = 3  /* a library call refused a value: *status and ms_errmsg() say why, err names the flag */
};

typedef struct registry_args {
  int json;
  const char *db, *global_config;
  const char *command; /* one of registry_commands */
  int argc;            /* the command's own arguments */
  char **argv;
} registry_args;

/* "scan", "list", "show", "register", "unregister", "set-default", "update", NULL. */
extern const char *const registry_commands[];

/* The global options and the command: argv[0] is the program. On ARGS_OK
 * *out is filled (pointers into argv); on ARGS_USAGE err[errlen] says why. */
int registry_args_parse(int argc, char **argv, registry_args *out, char *err, size_t errlen);

/* A command's arguments: positionals (at most max_pos, into pos[]) and
 * SETTINGS flags into a new ms_overrides (--clear only with allow_clear).
 * Durations are checked both ways as they are turned into microseconds
 * (--max-batch-delay MS, --response-timeout S): a value whose microseconds
 * do not fit is a usage error, never a wrapped number. On ARGS_OK *ov_out
 * is owned by the caller (ms_overrides_free); on failure nothing is
 * allocated, err says why and, for ARGS_FAILED, *status is the library's
 * status (its message in ms_errmsg()). */
int registry_settings_parse(int argc, char **argv, int allow_clear, const char **pos, int max_pos, int *npos,
                            ms_overrides **ov_out, int *status, char *err, size_t errlen);

#endif
