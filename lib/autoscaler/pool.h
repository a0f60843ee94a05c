/* Internal (autoscaler, layer 0): a pool of fixed-size objects handed out
 * from large chunks, so the endpoints an evaluation walks lie next to each
 * other in creation order; addresses are stable, freed objects are reused.
 * Depends on nothing of the part (pool.c). */
#ifndef MS_AUTOSCALER_POOL_H
#define MS_AUTOSCALER_POOL_H

#include <stddef.h>

typedef struct as_pool {
  size_t obj_size, per_chunk;
  unsigned char **chunks;
  size_t n_chunks, cap_chunks;
  size_t used_in_last; /* objects handed out from the last chunk */
  void *free_list;
} as_pool;

void ms__autoscaler_pool_init(as_pool *p, size_t obj_size, size_t per_chunk);
/* A zeroed, 64-byte aligned object, or NULL with ms_errmsg set. */
void *ms__autoscaler_pool_alloc(as_pool *p);
void ms__autoscaler_pool_free(as_pool *p, void *obj);
void ms__autoscaler_pool_destroy(as_pool *p);

#endif
