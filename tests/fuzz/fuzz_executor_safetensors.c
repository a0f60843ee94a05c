/* libFuzzer target: the executor's safetensors reader on arbitrary bytes.
 * A file it accepts must describe tensors that lie inside the buffer, in
 * order, findable by name, with metadata that reads back; anything else
 * aborts (a finding). Seeds: tests/fuzz/corpus/safetensors/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "executor/safetensors.h"
#include "mserve/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink; /* keeps the reads */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__st_file *f = NULL;
  if (ms__executor_st_parse(data, size, "fuzz.safetensors", &f) != MS_OK) return 0;
  const unsigned char *end = data + size;
  size_t n = ms__executor_st_count(f), covered = 0;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    const ms__st_tensor *t = ms__executor_st_at(f, i);
    if (!t || t->end < t->begin || t->data < data || (size_t)(end - t->data) < t->end - t->begin) abort();
    if (ms__executor_st_find(f, t->name) != t) abort();
    if (i && strcmp(ms__executor_st_at(f, i - 1)->name, t->name) >= 0) abort(); /* sorted, unique */
    if (t->end > t->begin) sum += t->data[0] + t->data[t->end - t->begin - 1];
    for (size_t k = 0; k < t->ndim; k++) sum += (unsigned)t->shape[k];
    covered += (size_t)(t->end - t->begin);
  }
  if (covered != ms__executor_st_data_size(f)) abort(); /* exactly the data section */
  for (size_t i = 0; i < ms__executor_st_metadata_count(f); i++) {
    const char *k = NULL, *v = NULL;
    if (ms__executor_st_metadata_at(f, i, &k, &v) || ms__executor_st_metadata_get(f, k) != v) abort();
  }
  sink = sum;
  ms__executor_st_free(f);
  return 0;
}
