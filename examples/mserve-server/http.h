/* mserve-server: the HTTP side, libmicrohttpd in external epoll mode.
 *
 * Three daemons (inference, management, metrics), no threads of their own:
 * each one's epoll fd sits in the server's epoll set and MHD_run is called
 * when it is readable or its timeout passes. Bodies are collected here (a
 * body over max_request_size is answered 413 without being kept); complete
 * requests go to the routes. A prediction suspends its connection until
 * its batch is answered (http_resume). Accepted sockets get TCP_NODELAY:
 * without it a response written as head + body waits for the client's
 * delayed ACK (~40 ms) on keep-alive connections. */
#ifndef MSERVE_SERVER_HTTP_H
#define MSERVE_SERVER_HTTP_H

#include "server.h"

/* Start the daemons and add them to s->ep (epoll data: 1 + api). MS_OK or
 * a status with the reason in err. */
int http_start(srv *s, char *err, size_t errlen);
/* Run the daemon of `api` (or every daemon with api < 0). */
void http_run(srv *s, int api);
/* Run the daemons whose timeout has passed (or that have work now). */
void http_run_due(srv *s, int64_t now_us);
/* The earliest MHD timeout, as a monotonic deadline in us (INT64_MAX: none). */
int64_t http_deadline(srv *s, int64_t now_us);
/* Stop accepting connections (SIGTERM); open ones are still served. */
void http_quiesce(srv *s);
void http_stop(srv *s);
void http_resume(struct MHD_Connection *conn);

/* Set the answer of cc: body is taken (malloc'd; NULL with len 0 for none). */
void http_answer(srv_conn *cc, int status, const char *type, char *body, size_t len);
/* A TorchServe error: {"code": status, "type": type, "message": msg}. */
void http_error_ts(srv_conn *cc, int status, const char *type, const char *msg);
/* A v2 error: {"error": msg}. */
void http_error_v2(srv_conn *cc, int status, const char *msg);
/* The TorchServe exception type of an HTTP status ("ModelNotFoundException"). */
const char *http_ts_type(int status);

#endif
