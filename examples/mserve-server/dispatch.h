/* mserve-server: predictions from arrival to answer, on the loop thread.
 *
 * A request goes into its model's batcher (its address is the request id);
 * batches come out when a worker of the model is idle (ms_batcher_poll at
 * the batcher's fd or deadline), and go to that worker. While a model has
 * no idle worker it is "parked": its fd leaves the epoll set (so a due run
 * batch does not spin the loop) and it is polled only when its oldest
 * request's timeout has passed, which hands back the timed-out batch first,
 * so 504s stay prompt however busy the workers are. */
#ifndef MSERVE_SERVER_DISPATCH_H
#define MSERVE_SERVER_DISPATCH_H

#include "server.h"

/* A new request for model m with its rows (taken). NULL on out of memory
 * (rows freed). */
srv_req *dsp_req_new(srv *s, srv_conn *cc, struct MHD_Connection *conn, srv_model *m, srv_proto proto, float *rows,
                     int64_t n, int flat, char *v2_id);
/* Queue it; on a refusal it is answered at once (503 queue full, ...). */
void dsp_submit(srv *s, srv_req *r);
/* Answer r with status (MS_OK: its outputs) and free it. */
void dsp_finish(srv *s, srv_req *r, int status, const char *msg);
/* Take what is due from m's batcher at now_us; keeps its parked state right. */
void dsp_pump(srv *s, srv_model *m, int64_t now_us);
/* The earliest time m must be polled again (INT64_MAX: none). */
int64_t dsp_deadline(srv *s, srv_model *m, int64_t now_us);
/* Handle the workers' events. */
void dsp_events(srv *s);
/* Boot: handle worker events until no worker is still opening its executor
 * (each is then ready or failed), at most timeout_us; 0, or -1 on timeout. */
int dsp_wait_started(srv *s, int64_t timeout_us);
/* Answer every queued request of m with `status` (a failed model). */
void dsp_fail_queued(srv *s, srv_model *m, int status, const char *msg);

/* The HTTP status for an ms_status, as the inference APIs answer it. */
int dsp_http_status(int ms_status);

#endif
