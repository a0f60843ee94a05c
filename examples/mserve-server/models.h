/* mserve-server: the model set, registry -> materialize -> executors ->
 * batchers, on the loop thread.
 *
 * Every registration the registry holds is served as one srv_model: its
 * archive materialized under the extract folder, its input and output
 * widths read by a probe executor opened on the CPU (which also proves the
 * weights open: a model that does not is logged and skipped, like a bad
 * archive), one batcher configured from the resolved settings, and
 * `desired` workers (each an executor on the model's device). */
#ifndef MSERVE_SERVER_MODELS_H
#define MSERVE_SERVER_MODELS_H

#include "server.h"

/* Scan the model store and serve every registration (bad ones logged and
 * skipped). Returns MS_OK, or the status of a failure of the whole scan. */
int models_boot(srv *s, char *err, size_t errlen);
/* SIGHUP: rescan, serve new registrations, retire vanished or changed ones. */
void models_rescan(srv *s);
/* Whether the archive at archive_path could be served (valid, extracts,
 * its weights open), before anything is registered: MS_OK, or the status
 * with the reason in err. */
int models_check(srv *s, const char *archive_path, char *err, size_t errlen);
/* Serve the registration `snap` (copied). MS_OK, or a status with the
 * reason in err. */
int models_add(srv *s, const ms_model *snap, srv_model **out, char *err, size_t errlen);
/* The served version `version` of `name` (NULL: the default version). */
srv_model *models_find(srv *s, const char *name, const char *version);
/* Whether any version of `name` is served. */
int models_known_name(srv *s, const char *name);
/* Stop serving m: its batcher refuses new requests, queued ones are
 * answered 503, its workers exit; it is freed once nothing is in flight. */
void models_retire(srv *s, srv_model *m);
/* Free retired models that are done. */
void models_reap(srv *s);
/* Re-read m's registration (after a management call): settings, default
 * flag, batcher configuration, worker bounds. MS_OK or the status. */
int models_reload(srv *s, srv_model *m);
/* Re-read the default flags of every served version of `name`. */
void models_reload_defaults(srv *s, const char *name);
/* Move m to n workers (clamped to its min/max), `why` for the log. */
void models_scale(srv *s, srv_model *m, int64_t n, const char *why);
/* Workers of m that are starting, idle or busy and not retiring. */
int64_t models_live_workers(const srv_model *m);
/* A worker of m exited or failed to open: free it. */
void models_worker_gone(srv *s, srv_model *m, srv_worker *w);
/* Free everything (at exit, once every request is answered). */
void models_free_all(srv *s);

#endif
