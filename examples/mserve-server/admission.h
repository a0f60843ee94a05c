/* mserve-server: per-key admission through the tracker (with --limits).
 *
 * The store's tracker holds one session per admitted request, for the
 * request's lifetime (a 10-minute lease, so that a server killed mid-request
 * leaves nothing counted for long). The server owns its store's tracker: at
 * boot a full reconcile with an empty list forgets what a previous run left
 * held, and the limits of the file are written in. Without --limits nothing
 * here runs on the request path. */
#ifndef MSERVE_SERVER_ADMISSION_H
#define MSERVE_SERVER_ADMISSION_H

#include "server.h"

/* Open the tracker and apply --limits. MS_OK or a status (reason in err). */
int admission_setup(srv *s, char *err, size_t errlen);
void admission_close(srv *s);

/* The outcome of admitting one request. */
typedef struct admission {
  int status;        /* MS_OK (admitted, or nothing to admit), MS_ELIMIT, MS_EINVAL (bad key), other */
  ms_denial denial;  /* MS_ELIMIT */
  char msg[512];
} admission;

/* Admit the request r (its key from conn's headers) into the tracker; the
 * session goes into r->session. */
void admission_admit(srv *s, struct MHD_Connection *conn, srv_req *r, admission *out);
/* Release r's session (nothing when it holds none). */
void admission_release(srv *s, srv_req *r);

#endif
