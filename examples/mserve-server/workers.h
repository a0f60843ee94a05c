/* mserve-server: worker threads, one executor each.
 *
 * A worker opens its executor on its own thread (a CUDA open can take
 * seconds; the loop never waits for it), then runs the batches the loop
 * hands it one at a time. What crosses threads: the job slot (w->mu), and
 * events back to the loop (s->evmu, then a write to s->wfd, an eventfd the
 * loop watches). A batch's requests belong to the worker from hand-over to
 * its DONE event: the loop touches none of them meanwhile. */
#ifndef MSERVE_SERVER_WORKERS_H
#define MSERVE_SERVER_WORKERS_H

#include "server.h"

typedef enum srv_worker_state { W_STARTING = 0, W_IDLE, W_BUSY } srv_worker_state;

struct srv_worker {
  srv *s;
  srv_model *m;
  int64_t id;
  pthread_t th;
  /* set before the thread starts, read-only after */
  char dir[PATH_MAX];
  char device[64];
  int blas_threads;
  int64_t max_batch;
  /* the job slot */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ms_batch *job;
  int64_t job_cap;          /* the model's batch_size when the job was given */
  int quit;
  /* loop thread only */
  srv_worker_state state;
  int retiring;
  int64_t given_us;         /* monotonic: when the running batch was given */
  int64_t busy_us;          /* total busy time of finished batches */
  int64_t busy_mark;        /* busy time at the last autoscale sample */
  char where[512];          /* ms_executor_device once open */
};

/* The kinds of worker events. */
typedef enum srv_event_kind { EV_READY = 0, EV_FAILED, EV_DONE, EV_EXITED } srv_event_kind;

typedef struct srv_event {
  srv_event_kind kind;
  srv_worker *w;
  ms_batch *batch;          /* EV_DONE */
  int status;               /* EV_FAILED, EV_DONE: the executor's status */
  char msg[512];            /* its message; EV_READY: the device */
  struct srv_event *next;
} srv_event;

/* Start a worker for m (state W_STARTING); NULL on failure (logged). */
srv_worker *worker_start(srv *s, srv_model *m);
/* Hand batch x to an idle worker. */
void worker_give(srv_worker *w, ms_batch *x, int64_t now_us);
/* Ask the worker to exit once its batch (if any) is done: EV_EXITED follows. */
void worker_stop(srv_worker *w);
/* Join an exited worker's thread and free it. */
void worker_free(srv_worker *w);
/* Take every pending event (oldest first); the caller frees each. */
srv_event *worker_events_take(srv *s);

#endif
