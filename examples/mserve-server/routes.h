/* mserve-server: the routes of the three APIs. Each fills the connection's
 * answer (http_answer) or, for a prediction, leaves cc->req set: the
 * connection is then suspended until dispatch answers it. Loop thread. */
#ifndef MSERVE_SERVER_ROUTES_H
#define MSERVE_SERVER_ROUTES_H

#include "server.h"

/* Split a URL path into at most max segments (in place, in buf). Returns
 * the count, or -1 when there are more or the path is too long. */
int route_split(const char *url, char *buf, size_t buflen, char **seg, int max);

/* Inference API: /ping, /predictions/..., and /v2/... (routes_v2.c). */
void route_inference(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url);
void route_v2(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, char **seg, int n);
/* Management API: /models... */
void route_management(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url);
/* Metrics API: /metrics. */
void route_metrics(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url);

/* Start a prediction of model m with the body of cc (parsed per proto):
 * answers 400/429/503 at once, else queues it. */
void route_predict(srv *s, srv_conn *cc, struct MHD_Connection *conn, srv_model *m, srv_proto proto);
/* The served model `name` version `version` (NULL: default), or NULL with
 * a 404 answered (TorchServe's shape, or v2's when v2). */
srv_model *route_find_model(srv *s, srv_conn *cc, const char *name, const char *version, int v2);
/* Build the answer of a finished prediction into its connection; returns
 * the HTTP status. */
int route_answer(srv *s, srv_req *r);
/* The v2 answer (routes_v2.c). */
int route_answer_v2(srv *s, srv_req *r);

#endif
