/* bench-batcher's baseline: TorchServe's batch aggregation on a mutex +
 * condition-variable bounded deque (see batcher_baseline.h). */
#include "batcher_baseline.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "mserve/common.h"

struct bl_queue {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  uint64_t *ids;
  int64_t *submits;
  size_t cap, head, count;
  int closed;
};

bl_queue *bl_queue_new(size_t capacity) {
  bl_queue *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  q->ids = malloc(capacity * sizeof *q->ids);
  q->submits = malloc(capacity * sizeof *q->submits);
  if (!q->ids || !q->submits) {
    bl_queue_free(q);
    return NULL;
  }
  q->cap = capacity;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->not_empty, &ca);
  pthread_cond_init(&q->not_full, &ca);
  pthread_condattr_destroy(&ca);
  return q;
}

void bl_queue_free(bl_queue *q) {
  if (!q) return;
  if (q->ids && q->submits) {
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
  }
  free(q->ids);
  free(q->submits);
  free(q);
}

void bl_put(bl_queue *q, uint64_t id, int64_t submit_us) {
  pthread_mutex_lock(&q->mu);
  while (q->count == q->cap) pthread_cond_wait(&q->not_full, &q->mu);
  size_t tail = (q->head + q->count) % q->cap;
  q->ids[tail] = id;
  q->submits[tail] = submit_us;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

void bl_close(bl_queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

/* take (deadline INT64_MAX) or poll (until deadline): 1 with one request. */
static int pop(bl_queue *q, int64_t deadline_us, uint64_t *id, int64_t *submit) {
  pthread_mutex_lock(&q->mu);
  while (!q->count && !q->closed) {
    if (deadline_us == INT64_MAX) {
      pthread_cond_wait(&q->not_empty, &q->mu);
    } else {
      if (ms_clock_monotonic_us() >= deadline_us) break;
      struct timespec ts = {(time_t)(deadline_us / 1000000), (long)(deadline_us % 1000000) * 1000};
      pthread_cond_timedwait(&q->not_empty, &q->mu, &ts);
    }
  }
  int got = q->count > 0;
  if (got) {
    *id = q->ids[q->head];
    *submit = q->submits[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->mu);
  return got;
}

size_t bl_get_batch(bl_queue *q, size_t batch_size, int64_t max_delay_us, uint64_t *ids, int64_t *submits) {
  if (!pop(q, INT64_MAX, &ids[0], &submits[0])) return 0;
  int64_t end = ms_clock_monotonic_us() + max_delay_us; /* from the first dequeue */
  size_t n = 1;
  while (n < batch_size && pop(q, end, &ids[n], &submits[n])) n++;
  return n;
}
