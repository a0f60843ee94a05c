/* mserve-server: TorchServe's inference API, and what every prediction
 * shares (parsing, admission, queueing, the answer). */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "body.h"
#include "dispatch.h"
#include "http.h"
#include "models.h"
#include "routes.h"

int route_split(const char *url, char *buf, size_t buflen, char **seg, int max) {
  size_t l = strlen(url);
  if (l + 1 > buflen) return -1;
  memcpy(buf, url, l + 1);
  int n = 0;
  for (char *p = buf; *p;) {
    while (*p == '/') *p++ = '\0';
    if (!*p) break;
    if (n == max) return -1;
    seg[n++] = p;
    while (*p && *p != '/') p++;
  }
  return n;
}

void route_predict(srv *s, srv_conn *cc, struct MHD_Connection *conn, srv_model *m, srv_proto proto) {
  char err[512];
  if (s->stopping) {
    const char *msg = "mserve-server: the server is shutting down";
    if (proto == PROTO_V2) http_error_v2(cc, 503, msg);
    else http_error_ts(cc, 503, NULL, msg);
    mx_count(m->mx.requests, 503);
    return;
  }
  body_rows b;
  int bad = proto == PROTO_V2 ? body_parse_v2(cc->body, cc->len, m->in_dim, m->batch_size, &b, err, sizeof err)
                              : body_parse_ts(cc->body, cc->len, m->in_dim, m->batch_size, &b, err, sizeof err);
  if (bad) {
    char msg[700];
    snprintf(msg, sizeof msg, "mserve-server: model '%.60s' version '%.60s': %s", m->name, m->version, err);
    if (proto == PROTO_V2) http_error_v2(cc, 400, msg);
    else http_error_ts(cc, 400, NULL, msg);
    mx_count(m->mx.requests, 400);
    return;
  }
  srv_req *r = dsp_req_new(s, cc, conn, m, proto, b.rows, b.n, b.flat, b.id);
  if (!r) {
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory");
    mx_count(m->mx.requests, 507);
    return;
  }
  admission a;
  admission_admit(s, conn, r, &a);
  if (a.status == MS_ELIMIT) s->mx.denied++;
  if (a.status) {
    dsp_finish(s, r, a.status, a.msg);
    if (a.status == MS_ELIMIT) {
      /* the denial: which scope, its limit and its count */
      body_buf bb = {0};
      if (proto == PROTO_V2) {
        bb_puts(&bb, "{\"error\": ");
        bb_json_str(&bb, a.msg);
      } else {
        bb_puts(&bb, "{\"code\": 429, \"type\": \"ConcurrencyLimitException\", \"message\": ");
        bb_json_str(&bb, a.msg);
      }
      bb_puts(&bb, ", \"scope\": ");
      bb_json_str(&bb, a.denial.scope);
      bb_printf(&bb, ", \"limit\": %lld, \"used\": %lld}\n", (long long)a.denial.limit, (long long)a.denial.used);
      if (!bb.oom) http_answer(cc, 429, "application/json", bb.p, bb.len);
      else free(bb.p);
    }
    return;
  }
  dsp_submit(s, r);
}

int route_answer(srv *s, srv_req *r) {
  if (r->proto == PROTO_V2) return route_answer_v2(s, r);
  srv_conn *cc = r->cc;
  int http = dsp_http_status(r->status);
  if (r->status != MS_OK) {
    http_error_ts(cc, http, NULL, r->err ? r->err : ms_status_name(r->status));
    return http;
  }
  body_buf b = {0};
  bb_rows(&b, r->out, r->rows, r->m->out_dim, r->flat);
  bb_put(&b, "\n", 1);
  if (b.oom) {
    free(b.p);
    http_error_ts(cc, 507, NULL, "mserve-server: out of memory writing the answer");
    return 507;
  }
  http_answer(cc, 200, "application/json", b.p, b.len);
  return 200;
}

static void not_found(srv *s, srv_conn *cc, const char *what) {
  char msg[300];
  snprintf(msg, sizeof msg, "mserve-server: %s", what);
  http_error_ts(cc, 404, "ResourceNotFoundException", msg);
  mx_count(s->mx.requests, 404);
}

/* The model a /predictions or v2 URL names, or an answered 404. */
static srv_model *find_or_404(srv *s, srv_conn *cc, const char *name, const char *version, int v2) {
  srv_model *m = models_find(s, name, version);
  if (m) return m;
  char msg[300];
  if (!models_known_name(s, name))
    snprintf(msg, sizeof msg, "mserve-server: model '%.100s' is not served", name);
  else
    snprintf(msg, sizeof msg, "mserve-server: model '%.100s' has no version '%.100s'", name,
             version ? version : "(default)");
  if (v2) http_error_v2(cc, 404, msg);
  else http_error_ts(cc, 404, NULL, msg);
  mx_count(s->mx.requests, 404);
  return NULL;
}

void route_inference(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, const char *url) {
  char buf[1024];
  char *seg[8];
  int n = route_split(url, buf, sizeof buf, seg, 8);
  if (n < 0) {
    not_found(s, cc, "no such path");
    return;
  }
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
  if (n == 1 && strcmp(seg[0], "ping") == 0 && get) {
    const char *b = s->stopping ? "{\"status\": \"Unhealthy\"}\n" : "{\"status\": \"Healthy\"}\n";
    size_t l = strlen(b);
    char *c = malloc(l + 1);
    if (c) memcpy(c, b, l + 1);
    http_answer(cc, s->stopping ? 503 : 200, "application/json", c, c ? l : 0);
    return;
  }
  if (n >= 1 && strcmp(seg[0], "v2") == 0) {
    route_v2(s, cc, conn, method, seg, n);
    return;
  }
  if ((n == 2 || n == 3) && strcmp(seg[0], "predictions") == 0) {
    if (!post) {
      http_error_ts(cc, 405, NULL, "mserve-server: predictions take POST");
      mx_count(s->mx.requests, 405);
      return;
    }
    srv_model *m = find_or_404(s, cc, seg[1], n == 3 ? seg[2] : NULL, 0);
    if (m) route_predict(s, cc, conn, m, PROTO_TS);
    return;
  }
  not_found(s, cc, "no such path (the inference API serves /ping, /predictions/{model}[/{version}] and /v2/...)");
}

srv_model *route_find_model(srv *s, srv_conn *cc, const char *name, const char *version, int v2) {
  return find_or_404(s, cc, name, version, v2);
}
