/* mserve-server: the state every part of the server shares.
 *
 * One event loop thread (loop.c) owns everything here except what a worker
 * thread holds while it runs a batch (workers.c says what crosses threads
 * and under which lock). The parts, each in its own file:
 *   options.c     the command line and config.properties' server keys
 *   http.c        libmicrohttpd daemons, request bodies, responses, suspend/resume
 *   routes_*.c    inference (TorchServe), v2 (KServe), management, metrics
 *   body.c        JSON request bodies in, output rows out (cJSON)
 *   models.c      the model set: registry -> materialize -> executors -> batchers
 *   workers.c     one thread per executor; results back through an eventfd
 *   dispatch.c    requests into batchers, batches out to workers, answers
 *   limits.c      --limits FILE and per-key admission through the tracker
 *   autoscale.c   batcher stats into the autoscaler every second, workers out
 *   metrics.c     counters and histograms for /metrics
 * Public libmserve API only. */
#ifndef MSERVE_SERVER_H
#define MSERVE_SERVER_H

#include <limits.h>
#include <mserve.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "metrics.h"
#include "options.h"

struct MHD_Connection;
struct MHD_Daemon;
typedef struct srv srv;
typedef struct srv_model srv_model;
typedef struct srv_worker srv_worker;

/* Which protocol a prediction came in by: it decides the answer's shape. */
typedef enum srv_proto { PROTO_TS = 0, PROTO_V2 = 1 } srv_proto;

/* One connection's request (MHD's per-request context). */
typedef struct srv_conn {
  srv *s;
  int api;                  /* API_INFERENCE, API_MANAGEMENT, API_METRICS */
  char *body;               /* the upload, NUL-terminated */
  size_t len, cap;
  int too_big;              /* over max_request_size: answered 413 */
  int suspended;
  /* the answer, once known (a prediction's comes after a resume) */
  int resp_status;          /* HTTP status; 0 = none yet */
  char *resp_body;          /* malloc'd */
  size_t resp_len;
  const char *resp_type;    /* Content-Type */
  struct srv_req *req;      /* the prediction in flight, or NULL */
} srv_conn;

/* One prediction: rows in, rows out. Its address is its batcher request id. */
typedef struct srv_req {
  srv_conn *cc;
  struct MHD_Connection *conn;
  srv_model *m;
  srv_proto proto;
  int flat;                 /* the input was one flat row (TorchServe) / flat data (v2): answer alike */
  char *v2_id;              /* the v2 request's "id", echoed */
  float *in, *out;
  int64_t rows;
  int64_t t_start, t_submit, t_formed; /* monotonic us */
  int status;               /* MS_OK or the failure's ms_status */
  char *err;                /* the failure's message (malloc'd) */
  char session[64];         /* the tracker session admitted for it ("" when none) */
  struct srv_req *next;     /* the server's list of live requests */
  struct srv_req *prev;
} srv_req;

/* A model version being served. */
struct srv_model {
  srv *s;
  char *name, *version, *key;  /* key "name/version": the autoscaler endpoint */
  ms_model *snap;              /* the registration as last read */
  char dir[PATH_MAX];          /* the materialized folder */
  char device[64];             /* what its executors open on */
  int64_t in_dim, out_dim;
  int64_t batch_size, min_workers, max_workers;
  ms_batcher *b;
  int bfd;
  int parked;                  /* no idle worker: its fd is out of the epoll set */
  srv_worker **workers;        /* live workers (starting, idle or busy) */
  size_t n_workers, cap_workers;
  int64_t desired;
  int64_t inflight;            /* requests submitted and not answered */
  int retired;                 /* unregistered or replaced: freed once inflight is 0 */
  int open_status;             /* the last worker's open failure (MS_OK: none) */
  char open_err[512];
  char decision[768];          /* the autoscaler's last explanation */
  int64_t decision_at_us;
  int64_t next_worker_id;
  srv_model_metrics mx;
};

/* The three listening APIs. */
enum { API_INFERENCE = 0, API_MANAGEMENT = 1, API_METRICS = 2, API_COUNT = 3 };

struct srv {
  srv_options o;
  ms_store *store;
  ms_registry *reg;
  ms_tracker *tracker;         /* only with --limits */
  ms_autoscaler *as;
  srv_limits limits;
  struct as_rules *rules;      /* --rules FILE, or NULL */
  char extract_dir[PATH_MAX];
  char store_real[PATH_MAX];   /* the model store, canonical */
  srv_model **models;
  size_t n_models, cap_models;
  struct MHD_Daemon *d[API_COUNT];
  int port[API_COUNT];
  int ep;                      /* epoll */
  int tfd;                     /* timerfd: the earliest deadline */
  int sfd;                     /* eventfd the signal handler writes: TERM, INT, HUP */
  int wfd;                     /* eventfd: worker events */
  int stopping;                /* SIGTERM seen */
  int64_t stop_deadline_us;
  int64_t next_autoscale_us;
  uint64_t session_seq;
  srv_req *live;               /* every request not answered yet */
  int64_t open_conns;
  int resumed;                 /* a connection was resumed: run MHD before sleeping */
  srv_metrics mx;
  /* worker events (workers.c) */
  pthread_mutex_t evmu;
  struct srv_event *ev_head, *ev_tail;
};

/* Log a line on stderr: "mserve-server: LEVEL: ...". */
void srv_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
