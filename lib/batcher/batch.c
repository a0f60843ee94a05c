/* Batcher: ms_batch, one allocation per batch, independent of its batcher. */
#include <stdlib.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"

ms_batch *ms__batcher_batch_new(int status, size_t count, int64_t formed_us) {
  if (count > (SIZE_MAX - sizeof(ms_batch)) / sizeof(ms__bentry)) {
    ms__fail(MS_ENOMEM, "batcher: a batch of %zu requests does not fit in memory", count);
    return NULL;
  }
  ms_batch *x = malloc(sizeof *x + count * sizeof(ms__bentry));
  if (!x) {
    ms__fail(MS_ENOMEM, "batcher: out of memory for a batch of %zu requests", count);
    return NULL;
  }
  x->status = status;
  x->count = count;
  x->items = 0;
  x->formed_us = formed_us;
  return x;
}

int ms_batch_status(const ms_batch *x) { return x ? x->status : MS_EINVAL; }

size_t ms_batch_count(const ms_batch *x) { return x ? x->count : 0; }

int64_t ms_batch_items(const ms_batch *x) { return x ? x->items : 0; }

int64_t ms_batch_formed_us(const ms_batch *x) { return x ? x->formed_us : 0; }

int ms_batch_get(const ms_batch *x, size_t i, uint64_t *request_id, int64_t *items, int64_t *submitted_us) {
  if (!x) return ms__fail(MS_EINVAL, "batcher: ms_batch_get: NULL batch");
  if (i >= x->count)
    return ms__fail(MS_EINVAL, "batcher: ms_batch_get: index %zu is out of range (the batch holds %zu requests)", i,
                    x->count);
  if (request_id) *request_id = x->e[i].id;
  if (items) *items = x->e[i].items;
  if (submitted_us) *submitted_us = x->e[i].submitted_us;
  return MS_OK;
}

void ms_batch_free(ms_batch *x) { free(x); }
