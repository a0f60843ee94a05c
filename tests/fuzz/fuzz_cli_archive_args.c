/* libFuzzer target: mserve-archive's command line (examples/mserve-archive/
 * args.c). The input is the argument list, NUL-separated. Whatever it holds,
 * parsing never crashes; a refusal always says why; an accepted command has
 * what it needs, and every duration it takes converts into microseconds
 * without overflow, on either side. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "mserve.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int duration_fits(int64_t v, int64_t factor) {
  int64_t us;
  return v == -1 || (v >= 0 && ms__units_mul(v, factor, &us) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[66];
  int argc = 0;
  argv[argc++] = (char *)(uintptr_t) "mserve-archive";
  for (size_t off = 0; off <= size && argc < 65; off += strlen(buf + off) + 1) argv[argc++] = buf + off;
  argv[argc] = NULL;

  archive_args a;
  char err[1024] = "";
  int rc = archive_args_parse(argc, argv, &a, err, sizeof err);
  if (rc == ARGS_USAGE && !err[0]) abort();
  if (rc != ARGS_OK && rc != ARGS_USAGE && rc != ARGS_HELP) abort();
  if (rc == ARGS_OK) {
    if (!a.command) abort();
    if (strcmp(a.command, "create") == 0) {
      const mar_spec *s = &a.spec;
      /* SRC_DIR is optional (torch-model-archiver names every file by a flag) */
      if (!s->name || !s->version || !s->handler || !a.output) abort();
      if (s->min_workers >= 0 && s->max_workers >= 0 && s->min_workers > s->max_workers) abort();
      if (s->batch_size == 0 || s->batch_size < -1 || s->min_workers < -1 || s->max_workers < -1) abort();
      if (!duration_fits(s->max_batch_delay_ms, 1000) || !duration_fits(s->response_timeout_s, 1000000)) abort();
    } else if (strcmp(a.command, "inspect") == 0 || strcmp(a.command, "validate") == 0) {
      if (!a.archive) abort();
    } else {
      abort();
    }
  }
  free(buf);
  return 0;
}
