/* mserve-server: KServe's Open Inference Protocol v2 on the inference API. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "dispatch.h"
#include "http.h"
#include "models.h"
#include "routes.h"
#include "workers.h"

static void answer_json(srv_conn *cc, int status, body_buf *b) {
  if (b->oom) {
    free(b->p);
    http_error_v2(cc, 507, "mserve-server: out of memory");
    return;
  }
  http_answer(cc, status, "application/json", b->p, b->len);
}

/* Ready: a worker has its executor open (or the model is scaled to zero). */
static int model_ready(const srv_model *m) {
  if (m->desired == 0) return 1;
  for (size_t i = 0; i < m->n_workers; i++)
    if (!m->workers[i]->retiring && m->workers[i]->state != W_STARTING) return 1;
  return 0;
}

static void metadata(srv_conn *cc, const srv_model *m) {
  body_buf b = {0};
  bb_puts(&b, "{\"name\": ");
  bb_json_str(&b, m->name);
  bb_puts(&b, ", \"versions\": [");
  bb_json_str(&b, m->version);
  bb_puts(&b, "], \"platform\": ");
  bb_json_str(&b, ms_model_handler(m->snap));
  bb_printf(&b, ", \"inputs\": [{\"name\": \"input-0\", \"datatype\": \"FP32\", \"shape\": [-1, %lld]}], "
                "\"outputs\": [{\"name\": \"output-0\", \"datatype\": \"FP32\", \"shape\": [-1, %lld]}]}\n",
            (long long)m->in_dim, (long long)m->out_dim);
  answer_json(cc, 200, &b);
}

int route_answer_v2(srv *s, srv_req *r) {
  (void)s;
  srv_conn *cc = r->cc;
  int http = dsp_http_status(r->status);
  if (r->status != MS_OK) {
    http_error_v2(cc, http, r->err ? r->err : ms_status_name(r->status));
    return http;
  }
  body_buf b = {0};
  bb_puts(&b, "{\"model_name\": ");
  bb_json_str(&b, r->m->name);
  bb_puts(&b, ", \"model_version\": ");
  bb_json_str(&b, r->m->version);
  if (r->v2_id) {
    bb_puts(&b, ", \"id\": ");
    bb_json_str(&b, r->v2_id);
  }
  bb_printf(&b, ", \"outputs\": [{\"name\": \"output-0\", \"datatype\": \"FP32\", \"shape\": [%lld, %lld], \"data\": ",
            (long long)r->rows, (long long)r->m->out_dim);
  bb_rows(&b, r->out, r->rows, r->m->out_dim, r->flat);
  bb_puts(&b, "}]}\n");
  if (b.oom) {
    free(b.p);
    http_error_v2(cc, 507, "mserve-server: out of memory writing the answer");
    return 507;
  }
  http_answer(cc, 200, "application/json", b.p, b.len);
  return 200;
}

void route_v2(srv *s, srv_conn *cc, struct MHD_Connection *conn, const char *method, char **seg, int n) {
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
  body_buf b = {0};
  if (n == 1 && get) {
    bb_puts(&b, "{\"name\": \"mserve-server\", \"version\": ");
    bb_json_str(&b, ms_version());
    bb_puts(&b, ", \"extensions\": []}\n");
    answer_json(cc, 200, &b);
    return;
  }
  if (n == 3 && get && strcmp(seg[1], "health") == 0 && strcmp(seg[2], "live") == 0) {
    bb_puts(&b, "{\"live\": true}\n");
    answer_json(cc, 200, &b);
    return;
  }
  if (n == 3 && get && strcmp(seg[1], "health") == 0 && strcmp(seg[2], "ready") == 0) {
    int ready = !s->stopping;
    for (size_t i = 0; ready && i < s->n_models; i++)
      if (!s->models[i]->retired && !model_ready(s->models[i])) ready = 0;
    bb_printf(&b, "{\"ready\": %s}\n", ready ? "true" : "false");
    answer_json(cc, ready ? 200 : 503, &b);
    return;
  }
  /* /v2/models/{m}[/versions/{v}][/ready|/infer] */
  if (n >= 3 && strcmp(seg[1], "models") == 0) {
    const char *name = seg[2], *version = NULL;
    int k = 3;
    if (n >= 5 && strcmp(seg[3], "versions") == 0) {
      version = seg[4];
      k = 5;
    }
    const char *op = k < n ? seg[k] : NULL;
    if (k + (op ? 1 : 0) == n && (!op || strcmp(op, "ready") == 0 || strcmp(op, "infer") == 0)) {
      srv_model *m = route_find_model(s, cc, name, version, 1);
      if (!m) return;
      if (!op && get) {
        metadata(cc, m);
        return;
      }
      if (op && strcmp(op, "ready") == 0 && get) {
        int ready = !s->stopping && model_ready(m);
        bb_puts(&b, "{\"name\": ");
        bb_json_str(&b, m->name);
        bb_printf(&b, ", \"ready\": %s}\n", ready ? "true" : "false");
        answer_json(cc, ready ? 200 : 400, &b);
        return;
      }
      if (op && strcmp(op, "infer") == 0 && post) {
        route_predict(s, cc, conn, m, PROTO_V2);
        return;
      }
      http_error_v2(cc, 405, "mserve-server: method not allowed here");
      mx_count(m->mx.requests, 405);
      return;
    }
  }
  http_error_v2(cc, 404, "mserve-server: no such v2 path");
  mx_count(s->mx.requests, 404);
}
