/* bench-batcher's baseline: TorchServe's batching in C. A bounded deque
 * under one mutex with two condition variables (java.util.concurrent's
 * LinkedBlockingDeque); producers put() each request, blocking while it is
 * full; a worker takes the first request (blocking), then polls up to
 * batch_size - 1 more, each poll waiting at most what is left of
 * max_batch_delay measured from that first dequeue (TorchServe's
 * BatchAggregator / Model.pollBatch). The deque holds (id, submit time)
 * pairs in a ring, with no allocation per request. */
#ifndef MSERVE_BENCH_BATCHER_BASELINE_H
#define MSERVE_BENCH_BATCHER_BASELINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bl_queue bl_queue;

/* NULL when out of memory. */
bl_queue *bl_queue_new(size_t capacity);
void bl_queue_free(bl_queue *q);
/* Enqueue, blocking while the deque is full. */
void bl_put(bl_queue *q, uint64_t id, int64_t submit_us);
/* No more puts: a worker's get returns what is left, then 0. */
void bl_close(bl_queue *q);
/* One batch into ids / submits (room for batch_size); its size, 0 once
 * closed and empty. */
size_t bl_get_batch(bl_queue *q, size_t batch_size, int64_t max_delay_us, uint64_t *ids, int64_t *submits);

#endif
