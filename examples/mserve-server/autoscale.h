/* mserve-server: worker counts driven by the autoscaler.
 *
 * Each model version is one autoscaler endpoint, "NAME/VERSION". Every
 * second the loop observes, from source "server":
 *   queue_length    requests waiting in the batcher (endpoint-wide: the
 *                   engine divides it by the workers, so rules see the
 *                   queue per worker)
 *   oldest_wait_ms  how long the oldest of them has waited (per worker)
 *   busy            each worker's busy share of the last second, 0..1
 * then evaluates, and moves each model to its desired count, clamped to
 * [min_workers, max_workers]. The rules: those a --rules file gives the
 * endpoint ("NAME/VERSION", or "NAME" for every version; mserve-autoscale's
 * format), else, when max_workers > min_workers, two made from the model's
 * settings: +1 when queue_length per worker > batch_size (cooldown 5 s),
 * -1 when mean busy < 0.2 (cooldown 30 s), both bounded by the worker
 * limits. Desired counts persist in the store, so a restart comes back to
 * them. */
#ifndef MSERVE_SERVER_AUTOSCALE_H
#define MSERVE_SERVER_AUTOSCALE_H

#include "server.h"

/* Open the autoscaler over the store and read --rules. MS_OK or a status
 * with the reason in err. */
int scale_setup(srv *s, char *err, size_t errlen);
void scale_close(srv *s);
/* A model was added: its endpoint and rules; returns its starting count. */
int64_t scale_model_added(srv *s, srv_model *m);
/* Its worker limits changed: rules rebuilt, desired count clamped and saved. */
void scale_model_changed(srv *s, srv_model *m);
/* It stops being served; forget = 1 also deletes its endpoint (unregistered). */
void scale_model_removed(srv *s, srv_model *m, int forget);
/* Observe and evaluate (every second). */
void scale_tick(srv *s, int64_t now_mono_us);

#endif
