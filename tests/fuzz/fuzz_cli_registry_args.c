/* libFuzzer target: mserve-registry's command line (examples/mserve-registry/
 * args.c). The input is the argument list, NUL-separated. Whatever it holds,
 * parsing never crashes; a refusal always says why; an accepted command is a
 * known one with a --db; and every setting it takes is in its key's range in
 * microseconds (no flag value ever wraps around). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "mserve.h"
#include "registry/overrides.h"
#include "registry/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[66];
  int argc = 0;
  argv[argc++] = (char *)(uintptr_t) "mserve-registry";
  for (size_t off = 0; off <= size && argc < 65; off += strlen(buf + off) + 1) argv[argc++] = buf + off;
  argv[argc] = NULL;

  registry_args a;
  char err[1024] = "";
  int rc = registry_args_parse(argc, argv, &a, err, sizeof err);
  if (rc == ARGS_USAGE && !err[0]) abort();
  if (rc != ARGS_OK && rc != ARGS_USAGE && rc != ARGS_HELP) abort();
  if (rc == ARGS_OK) {
    int known = 0;
    for (size_t k = 0; registry_commands[k]; k++) known |= a.command == registry_commands[k];
    if (!known || !a.db || !a.db[0] || a.argc < 0 || a.argv + a.argc != argv + argc) abort();
    const char *pos[2] = {NULL, NULL};
    int npos = -1, st = MS_OK;
    ms_overrides *ov = NULL;
    char e2[1024] = "";
    int allow_clear = strcmp(a.command, "update") == 0;
    int r2 = registry_settings_parse(a.argc, a.argv, allow_clear, pos, 2, &npos, &ov, &st, e2, sizeof e2);
    if (r2 == ARGS_OK) {
      if (!ov || npos < 0 || npos > 2) abort();
      for (int k = 0; k < MS__K_COUNT; k++) {
        if (!(ov->set.set & (1u << k))) continue;
        if (ms__registry_key_is_str(k) ? !ov->set.device || !ov->set.device[0] : ms__registry_key_check_int(k, ov->set.ival[k], "fuzz") != MS_OK)
          abort();
      }
      ms_overrides_free(ov);
    } else {
      if (ov || npos != -1 || !e2[0]) abort();
      if (r2 == ARGS_FAILED && (st == MS_OK || !ms_errmsg()[0])) abort();
      if (r2 != ARGS_FAILED && r2 != ARGS_USAGE) abort();
    }
  }
  free(buf);
  return 0;
}
