/* Fixed-size object pools (see pool.h for why). Objects are
 * carved in order from chunks of `per_chunk` objects; a freed object goes on a
 * free list threaded through its first bytes and is handed out again first.
 * Objects are cache-line aligned, so an object's first line holds its first 64
 * bytes. Chunks are released only when the pool is destroyed. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/pool.h"
#include "common/error.h"

enum { AS_LINE = 64 };

void ms__autoscaler_pool_init(as_pool *p, size_t obj_size, size_t per_chunk) {
  memset(p, 0, sizeof *p);
  if (obj_size < sizeof(void *)) obj_size = sizeof(void *);
  p->obj_size = (obj_size + AS_LINE - 1) / AS_LINE * AS_LINE;
  p->per_chunk = per_chunk ? per_chunk : 1;
}

void *ms__autoscaler_pool_alloc(as_pool *p) {
  void *obj = p->free_list;
  if (obj) {
    memcpy(&p->free_list, obj, sizeof p->free_list);
  } else {
    if (!p->n_chunks || p->used_in_last == p->per_chunk) {
      if (p->n_chunks == p->cap_chunks) {
        size_t cap = p->cap_chunks ? p->cap_chunks * 2 : 8;
        unsigned char **c = realloc(p->chunks, cap * sizeof *c);
        if (!c) {
          ms__fail(MS_ENOMEM, "out of memory");
          return NULL;
        }
        p->chunks = c;
        p->cap_chunks = cap;
      }
      unsigned char *chunk = aligned_alloc(AS_LINE, p->obj_size * p->per_chunk);
      if (!chunk) {
        ms__fail(MS_ENOMEM, "out of memory");
        return NULL;
      }
      p->chunks[p->n_chunks++] = chunk;
      p->used_in_last = 0;
    }
    obj = p->chunks[p->n_chunks - 1] + p->obj_size * p->used_in_last++;
  }
  memset(obj, 0, p->obj_size);
  return obj;
}

void ms__autoscaler_pool_free(as_pool *p, void *obj) {
  if (!obj) return;
  memcpy(obj, &p->free_list, sizeof p->free_list);
  p->free_list = obj;
}

void ms__autoscaler_pool_destroy(as_pool *p) {
  for (size_t i = 0; i < p->n_chunks; i++) free(p->chunks[i]);
  free(p->chunks);
  memset(p, 0, sizeof *p);
}
