/* mserve-server: libmicrohttpd daemons (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "body.h"
#include "routes.h"

static const char *const api_name[API_COUNT] = {"inference", "management", "metrics"};

/* What each daemon's callbacks get: the server and which API it is. */
typedef struct api_cls {
  srv *s;
  int api;
} api_cls;
static api_cls cls[API_COUNT];

const char *http_ts_type(int status) {
  switch (status) {
    case 400: return "BadRequestException";
    case 404: return "ModelNotFoundException";
    case 405: return "MethodNotAllowedException";
    case 409: return "ConflictStatusException";
    case 413: return "RequestEntityTooLargeException";
    case 429: return "ConcurrencyLimitException";
    case 503: return "ServiceUnavailableException";
    case 504: return "RequestTimeoutException";
    case 507: return "InsufficientMemoryException";
    default: return "InternalServerException";
  }
}

void http_answer(srv_conn *cc, int status, const char *type, char *body, size_t len) {
  free(cc->resp_body);
  cc->resp_status = status;
  cc->resp_type = type;
  cc->resp_body = body;
  cc->resp_len = len;
}

/* An error's JSON body; out of memory, the status alone with an empty body
 * (the client still learns what happened). */
static void answer_error(srv_conn *cc, int status, body_buf *b) {
  if (b->oom) {
    free(b->p);
    b->p = NULL;
    b->len = 0;
  }
  http_answer(cc, status, "application/json", b->p, b->len);
}

void http_error_ts(srv_conn *cc, int status, const char *type, const char *msg) {
  body_buf b = {0};
  bb_printf(&b, "{\"code\": %d, \"type\": ", status);
  bb_json_str(&b, type ? type : http_ts_type(status));
  bb_puts(&b, ", \"message\": ");
  bb_json_str(&b, msg);
  bb_puts(&b, "}\n");
  answer_error(cc, status, &b);
}

void http_error_v2(srv_conn *cc, int status, const char *msg) {
  body_buf b = {0};
  bb_puts(&b, "{\"error\": ");
  bb_json_str(&b, msg);
  bb_puts(&b, "}\n");
  answer_error(cc, status, &b);
}

static enum MHD_Result queue_answer(struct MHD_Connection *conn, srv_conn *cc) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(cc->resp_len, cc->resp_body ? cc->resp_body : (void *)"", MHD_RESPMEM_MUST_FREE);
  if (!resp) return MHD_NO;
  cc->resp_body = NULL; /* MHD frees it */
  if (cc->resp_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, cc->resp_type);
  /* stopping: the client learns the connection ends with this answer */
  if (cc->s->stopping) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result r = MHD_queue_response(conn, (unsigned)cc->resp_status, resp);
  MHD_destroy_response(resp);
  return r;
}

/* 413, queued at once: MHD sends it and closes the connection without
 * reading the rest of the body. */
static enum MHD_Result too_big(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *url) {
  char msg[160];
  cc->too_big = 1;
  snprintf(msg, sizeof msg, "mserve-server: the request body is larger than max_request_size (%lld bytes)",
           (long long)s->o.max_request_size);
  if (cc->api == API_INFERENCE && strncmp(url, "/v2", 3) == 0) http_error_v2(cc, 413, msg);
  else http_error_ts(cc, 413, NULL, msg);
  if (cc->api == API_INFERENCE) mx_count(s->mx.requests, 413);
  return queue_answer(conn, cc);
}

static enum MHD_Result on_request(void *vcls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  api_cls *a = vcls;
  srv *s = a->s;
  srv_conn *cc = *con_cls;
  if (!cc) {
    cc = calloc(1, sizeof *cc);
    if (!cc) return MHD_NO;
    cc->s = s;
    cc->api = a->api;
    *con_cls = cc;
    /* a declared length over the limit is answered before any of it
     * arrives (MHD then closes the connection rather than read it) */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > s->o.max_request_size) return too_big(s, cc, conn, url);
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (cc->too_big) return MHD_YES;
    if ((int64_t)(cc->len + n) > s->o.max_request_size) {
      free(cc->body);
      cc->body = NULL;
      cc->len = cc->cap = 0;
      return too_big(s, cc, conn, url);
    }
    if (cc->len + n + 1 > cc->cap) {
      size_t cap = cc->cap ? cc->cap : 4096;
      while (cap < cc->len + n + 1) cap *= 2;
      char *nb = realloc(cc->body, cap);
      if (!nb) return MHD_NO;
      cc->body = nb;
      cc->cap = cap;
    }
    memcpy(cc->body + cc->len, upload, n);
    cc->len += n;
    cc->body[cc->len] = '\0';
    return MHD_YES;
  }
  if (cc->resp_status) return queue_answer(conn, cc); /* resumed: the answer is in */
  if (cc->suspended) return MHD_YES;
  if (cc->too_big) return MHD_YES; /* answered already */
  if (!cc->body) {
    cc->body = malloc(1);
    if (!cc->body) return MHD_NO;
    cc->body[0] = '\0';
  }
  switch (cc->api) {
    case API_INFERENCE: route_inference(s, cc, conn, method, url); break;
    case API_MANAGEMENT: route_management(s, cc, conn, method, url); break;
    default: route_metrics(s, cc, conn, method, url); break;
  }
  if (cc->resp_status) return queue_answer(conn, cc);
  if (cc->req) {
    cc->suspended = 1;
    MHD_suspend_connection(conn);
    return MHD_YES;
  }
  http_error_ts(cc, 500, NULL, "mserve-server: the request got no answer");
  return queue_answer(conn, cc);
}

static void on_completed(void *vcls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t) {
  (void)vcls;
  (void)conn;
  (void)t;
  srv_conn *cc = *con_cls;
  if (!cc) return;
  if (cc->req) cc->req->cc = NULL; /* cannot happen while suspended; kept safe */
  free(cc->body);
  free(cc->resp_body);
  free(cc);
  *con_cls = NULL;
}

static void on_connection(void *vcls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)socket_context;
  api_cls *a = vcls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    a->s->open_conns++;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
      int one = 1;
      setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
  } else {
    a->s->open_conns--;
  }
}

int http_start(srv *s, char *err, size_t errlen) {
  for (int k = 0; k < API_COUNT; k++) {
    cls[k].s = s;
    cls[k].api = k;
    /* one daemon per address family: MHD_USE_IPv6 makes it bind an AF_INET6
     * socket, so the sockaddr handed over must be a sockaddr_in6 */
    struct sockaddr_in sa;
    struct sockaddr_in6 sa6;
    memset(&sa, 0, sizeof sa);
    memset(&sa6, 0, sizeof sa6);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->o.addr[k].port);
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)s->o.addr[k].port);
    int v6 = s->o.addr[k].v6;
    if (v6) inet_pton(AF_INET6, s->o.addr[k].host, &sa6.sin6_addr);
    else inet_pton(AF_INET, s->o.addr[k].host, &sa.sin_addr);
    struct sockaddr *sap = v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->d[k] = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &cls[k], MHD_OPTION_SOCK_ADDR, sap,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, &cls[k], MHD_OPTION_NOTIFY_CONNECTION,
                               on_connection, &cls[k], MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (!s->d[k]) {
      snprintf(err, errlen, "mserve-server: cannot listen on %s%s%s:%d (%s address): in use or not allowed",
               v6 ? "[" : "", s->o.addr[k].host, v6 ? "]" : "", s->o.addr[k].port, api_name[k]);
      return MS_EIO;
    }
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(s->d[k], MHD_DAEMON_INFO_BIND_PORT);
    s->port[k] = pi ? pi->port : s->o.addr[k].port;
    const union MHD_DaemonInfo *ei = MHD_get_daemon_info(s->d[k], MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(1 + k)};
    if (!ei || epoll_ctl(s->ep, EPOLL_CTL_ADD, ei->epoll_fd, &ev)) {
      snprintf(err, errlen, "mserve-server: %s daemon: no epoll fd", api_name[k]);
      return MS_EIO;
    }
  }
  return MS_OK;
}

void http_run(srv *s, int api) {
  for (int k = 0; k < API_COUNT; k++)
    if (s->d[k] && (api < 0 || api == k)) MHD_run(s->d[k]);
}

/* When daemon k wants MHD_run next (INT64_MAX: not for time's sake). */
static int64_t daemon_deadline(srv *s, int k, int64_t now_us) {
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (!s->d[k] || MHD_get_timeout(s->d[k], &ms) != MHD_YES) return INT64_MAX;
  /* 0: something to do now. Otherwise a connection timeout (seconds away):
   * rounded up to 10 ms so that the deadline stays put from one wake-up to
   * the next and the timerfd is not re-armed for each */
  return ms == 0 ? now_us : ((now_us + (int64_t)ms * 1000) / 10000 + 1) * 10000;
}

void http_run_due(srv *s, int64_t now_us) {
  for (int k = 0; k < API_COUNT; k++)
    if (daemon_deadline(s, k, now_us) <= now_us) MHD_run(s->d[k]);
}

int64_t http_deadline(srv *s, int64_t now_us) {
  int64_t d = INT64_MAX;
  for (int k = 0; k < API_COUNT; k++) {
    int64_t at = daemon_deadline(s, k, now_us);
    if (at < d) d = at;
  }
  return d;
}

void http_quiesce(srv *s) {
  for (int k = 0; k < API_COUNT; k++)
    if (s->d[k]) {
      MHD_socket fd = MHD_quiesce_daemon(s->d[k]);
      if (fd != MHD_INVALID_SOCKET) close(fd);
    }
}

void http_stop(srv *s) {
  for (int k = 0; k < API_COUNT; k++)
    if (s->d[k]) {
      MHD_stop_daemon(s->d[k]);
      s->d[k] = NULL;
    }
}

void http_resume(struct MHD_Connection *conn) { MHD_resume_connection(conn); }
